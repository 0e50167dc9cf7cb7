"""Education (SPEC §3.5): Attainment 8 by SEND status and the gap, absence, suspensions and exclusions."""
from __future__ import annotations

import streamlit as st

from portal import ui
from portal.journeys import education as journey

user, filters = ui.page_setup("Education", __file__)

# --- attainment over the years, with the page summary -------------------------------------------------
attainment = ui.run("education_attainment_by_year", filters)
if attainment is None:
    st.stop()
ui.indicator_block(
    "GCSE results (Attainment 8) by SEND status", attainment, journey.attainment_chart(attainment.df),
    summary=journey.attainment_summary(attainment.df),
    table=journey.table(attainment.display_df(), ["academic_year", "send_status", "pupils", "mean_attainment8"]),
    download_name="education_attainment_by_year",
)
ui.indicator_block(
    "The attainment gap, year by year", attainment, None,
    summary="The gap is the average for pupils with no SEN minus the average for each SEND group.",
    table=journey.gap_table(attainment.df, ["academic_year"], {"academic_year": "Academic year"}),
    download_name="education_attainment_gap_by_year",
)

# --- where is the gap widest ---------------------------------------------------------------------------
by = ui.choose("Break down the attainment gap by", journey.BREAKDOWNS, key="education_gap_breakdown",
               help="Applies to academic years that overlap the chosen period.")
by_group = ui.run("education_attainment_by_group", filters, by=by)
if by_group is not None:
    label = journey.BREAKDOWNS[by]
    ui.indicator_block(
        journey.breakdown_title("Attainment gap", by, journey.BREAKDOWNS), by_group, journey.gap_chart(by_group.df, label),
        summary=journey.gap_sentence(by_group.df, label),
        table=journey.gap_table(by_group.df, ["group_value"], {"group_value": label}),
        download_name="education_attainment_gap_by_group",
    )

# --- absence, suspensions and exclusions -------------------------------------------------------------
absence = ui.run("education_absence_by_year", filters)
if absence is not None:
    measure = ui.choose("Absence measure to chart", journey.ABSENCE_MEASURES, key="education_absence_measure")
    ui.indicator_block(
        "Absence, suspensions and exclusions by SEND status", absence, journey.absence_chart(absence.df, measure),
        summary=journey.absence_summary(absence.df),
        table=journey.table(absence.display_df(), [
            "academic_year", "send_status", "pupils", "absence_rate", "pct_persistently_absent", "pct_suspended",
            "suspensions_per_100", "permanent_exclusions"]),
        download_name="education_absence_by_year",
    )
    absence_by = ui.choose("Break down absence by", journey.ABSENCE_BREAKDOWNS, key="education_absence_breakdown",
                           help="Applies to academic years that overlap the chosen period.")
    absence_group = ui.run("education_absence_by_group", filters, by=absence_by)
    if absence_group is not None:
        label = journey.ABSENCE_BREAKDOWNS[absence_by]
        ui.indicator_block(
            journey.breakdown_title(journey.ABSENCE_MEASURES[measure], absence_by, journey.ABSENCE_BREAKDOWNS),
            absence_group,
            journey.absence_group_chart(absence_group.df, measure, label),
            summary=journey.absence_group_sentence(absence_group.df, measure, label),
            table=journey.table(absence_group.display_df(), [
                "group_value", "send_status", "pupils", "absence_rate", "pct_persistently_absent", "pct_suspended",
                "suspensions_per_100", "permanent_exclusions"]).rename(columns={"Group": label}),
            download_name="education_absence_by_group",
        )
