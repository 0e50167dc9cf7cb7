"""Transitions 14-25 (SPEC §3.9): GP and A&E contact across the 18th birthday, and follow-up after 18."""
from __future__ import annotations

import streamlit as st

from portal import ui
from portal.journeys import transitions as journey

user, filters = ui.page_setup("Transitions (14 to 25)", __file__)
st.caption("This page follows young people over the whole history. Only the locality, sex and SEND status filters "
           "apply to the first chart; the second also uses ethnicity, deprivation and primary need.")

left, right = st.columns(2)
measure = ui.choose("Measure", journey.MEASURES, key="transitions_measure", within=left)
split = ui.choose("Compare", journey.SPLITS, key="transitions_split", within=right)
by_age = ui.run("transition_contacts_by_age", filters, split=split)
if by_age is None:
    st.stop()
ui.indicator_block(
    f"{journey.MEASURES[measure]}, by age", by_age, journey.age_chart(by_age.df, measure),
    summary=journey.age_summary(by_age.df),
    table=journey.table(by_age.display_df(), ["age", "group_value", "person_years", "gp_contacts",
                                              "gp_per_person_year", "ae_attendances", "ae_per_person_year"]),
    download_name="transition_contacts_by_age",
)

by = ui.choose("Break down follow-up by", journey.FOLLOWUP_BREAKDOWNS, key="transitions_followup_by")
followup = ui.run("transition_followup", filters, by=by)
if followup is not None:
    label = journey.FOLLOWUP_BREAKDOWNS[by]
    ui.indicator_block(
        "Leaving children's services with no adult follow-up", followup, journey.followup_chart(followup.df, by),
        summary=journey.followup_summary(followup.df, by),
        table=journey.table(followup.display_df(), ["group_value", "young_people", "left_childrens_services",
                                                    "left_without_follow_up", "pct_left_without_follow_up"], label),
        download_name="transition_followup",
    )
