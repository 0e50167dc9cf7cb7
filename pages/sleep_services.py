"""Sleep services (SPEC §3.4): melatonin prescribing over time, other conditions, and a map of need."""
from __future__ import annotations

import streamlit as st

from portal import maps, ui
from portal.journeys.common import drawable
from portal.journeys import sleep_services as journey

user, filters = ui.page_setup("Sleep services", __file__)

need, overall, overlap = ui.run_together(filters, ("melatonin_need_by_locality", {}),
                                         ("melatonin_prescribing_by_year", {"by": "all"}),
                                         ("melatonin_comorbidity_overlap", {}))

# --- the map of need (the decision this page supports comes first) --------------------------------
if need is not None:
    try:
        boundaries = journey.load_locality_boundaries(need.version.path)
    except maps.BoundaryFileError as exc:
        st.warning(f"The map cannot be drawn: {exc} The table below still shows the figures.")
        boundaries = None
    chart = journey.need_map(need.df, boundaries) if boundaries else None
    if boundaries is None:
        st.info("No boundary file was published with this data, so the figures are shown as a table only.")
    ui.indicator_block(
        "Where the need is: children on melatonin per 1,000, by locality", need, chart,
        summary=journey.need_sentence(need.df),
        table=journey.table(need.display_df(), ["locality", "patients", "items", "population", "patients_per_1000"]),
        download_name="melatonin_need_by_locality",
    )

# --- prescribing over time ---------------------------------------------------------------------
by = ui.choose("Show prescribing over time for", journey.BREAKDOWNS, key="sleep_breakdown")
by_year = overall if by == "all" else ui.run("melatonin_prescribing_by_year", filters, by=by)
if overall is not None and by_year is not None:
    summary = journey.trend_sentence(overall.df)
    if by != "all":
        summary += " " + journey.group_trend_sentence(by_year.df, by)
    ui.indicator_block(
        "Melatonin prescribing, year by year"
        + ("" if by == "all" else f", by {journey.BREAKDOWNS[by].lower()}"), by_year,
        drawable(journey.trend_chart(by_year.df, by)), summary=summary,
        table=journey.table(by_year.display_df(), [
            "year_label", *([] if by == "all" else ["group_value"]), "patients", "items", "population",
            "patients_per_1000",
        ]).rename(columns={"Group": journey.BREAKDOWNS[by]}),
        download_name="melatonin_prescribing_by_year",
    )

# --- other conditions ----------------------------------------------------------------------------
if overlap is not None:
    ui.indicator_block(
        "Other conditions of children on melatonin", overlap, drawable(journey.overlap_chart(overlap.df)),
        summary=journey.comorbidity_sentence(overlap.df),
        table=journey.table(overlap.display_df(), ["condition", "with_condition", "patients", "all_patients",
                                                   "pct_of_patients"]),
        download_name="melatonin_comorbidity_overlap",
    )
