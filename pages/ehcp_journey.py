"""EHCP journey (SPEC §3.3): requests, decisions, plans issued on time, reviews, ceased plans, disputes."""
from __future__ import annotations

import streamlit as st

from portal import ui
from portal.journeys.common import drawable
from portal.journeys import ehcp_journey as journey

user, filters = ui.page_setup("EHCP journey", __file__)

by_year = ui.run("ehcp_journey_by_year", filters)
reviews_by = st.session_state.get("ehcp_reviews_breakdown", "locality")
reviews = ui.run("ehcp_annual_reviews", filters, by=reviews_by)
ceased = ui.run("ehcp_ceased_plans_by_reason", filters)
if by_year is None or reviews is None or ceased is None:
    st.stop()

# --- timeliness over the years, with the page summary ----------------------------------------------
year_columns = ["year_label", "requests", "decisions", "decided_to_assess", "decided_within_6_weeks",
                "pct_decided_within_6_weeks", "plans_issued", "issued_within_20_weeks", "pct_issued_within_20_weeks",
                "plans_issued_no_exception", "issued_within_20_weeks_no_exception",
                "pct_issued_within_20_weeks_no_exception"]
ui.indicator_block(
    "Decisions within 6 weeks and plans within 20 weeks", by_year, drawable(journey.timeliness_chart(by_year.df)),
    summary=journey.journey_summary(by_year.df, reviews.df, ceased.df),
    table=journey.table(by_year.display_df(), year_columns), download_name="ehcp_journey_by_year",
)
ui.indicator_block(
    "Requests, assessments and plans issued, year by year", by_year, drawable(journey.volumes_chart(by_year.df)),
    summary=journey.volumes_sentence(by_year.df),
    table=journey.table(by_year.display_df(), ["year_label", "requests", "decided_to_assess", "plans_issued"]),
    download_name="ehcp_volumes_by_year",
)

# --- who waits longest for a plan ----------------------------------------------------------------
by = ui.choose("Break down requests and plans by", journey.BREAKDOWNS, key="ehcp_breakdown")
breakdown = ui.run("ehcp_journey_by_breakdown", filters, by=by)
if breakdown is not None:
    ui.indicator_block(
        f"Plans issued within 20 weeks, by {journey.BREAKDOWNS[by].lower()}", breakdown,
        drawable(journey.breakdown_chart(breakdown.df, by)), summary=journey.breakdown_sentence(breakdown.df, by),
        table=journey.table(breakdown.display_df(), [
            "group_value", "requests", "decisions", "decided_within_6_weeks", "pct_decided_within_6_weeks",
            "plans_issued", "issued_within_20_weeks", "pct_issued_within_20_weeks", "median_weeks_to_issue",
        ]).rename(columns={"Group": journey.BREAKDOWNS[by]}),
        download_name="ehcp_journey_by_breakdown",
    )

# --- annual reviews --------------------------------------------------------------------------------
ui.choose("Break down annual reviews by", journey.BREAKDOWNS, key="ehcp_reviews_breakdown")
ui.indicator_block(
    f"Annual reviews due, held and overdue, by {journey.BREAKDOWNS[reviews_by].lower()}", reviews,
    drawable(journey.reviews_chart(reviews.df, reviews_by)), summary=journey.reviews_sentence(reviews.df),
    table=journey.table(reviews.display_df(), [
        "group_value", "plans_in_place", "reviews_held", "reviews_due_next_3_months", "reviews_overdue", "pct_overdue",
    ]).rename(columns={"Group": journey.BREAKDOWNS[reviews_by]}),
    download_name="ehcp_annual_reviews",
)

# --- ceased plans and disputes -------------------------------------------------------------------------
ui.indicator_block(
    "Plans ceased, by reason", ceased, drawable(journey.ceased_chart(ceased.df)), summary=journey.ceased_sentence(ceased.df),
    table=journey.table(ceased.display_df(), ["cease_reason", "plans_ceased"]), download_name="ehcp_ceased_plans",
)
disputes = ui.run("ehcp_disputes_by_year", filters)
if disputes is not None:
    ui.indicator_block(
        "Mediations and tribunal appeals, year by year", disputes, drawable(journey.disputes_chart(disputes.df)),
        summary=journey.disputes_sentence(disputes.df),
        table=journey.table(disputes.display_df(), ["year_label", "mediations", "tribunals"]),
        download_name="ehcp_disputes_by_year",
    )
