"""Health services use (SPEC §3.6): A&E and GP contact for children with and without SEND, and the impact
view (interrupted time series) for "did the change on this date make a difference?"."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from portal import ui
from portal.journeys import health_services as journey

user, filters = ui.page_setup("Health services use", __file__)

left, right = st.columns(2)
measure = ui.choose("Measure", journey.MEASURES, key="health_measure", within=left)
split = ui.choose("Compare", journey.SPLITS, key="health_split", within=right)

# --- month by month, with the page summary ---------------------------------------------------------------
trend = ui.run("health_activity_by_month", filters, split=split)
if trend is None:
    st.stop()
ui.indicator_block(
    f"{journey.MEASURES[measure]}, month by month", trend, journey.trend_chart(trend.df, measure),
    summary=journey.trend_summary(trend.df, measure),
    table=journey.table(trend.display_df(), ["month", "group_value", "n_people", "ae_attendances", "ae_per_1000",
                                             "gp_contacts", "gp_per_1000"]),
    download_name="health_activity_by_month",
)

# --- by group ------------------------------------------------------------------------------------------------
by = ui.choose("Break down by", journey.BREAKDOWNS, key="health_breakdown")
by_group = ui.run("health_activity_by_group", filters, by=by)
if by_group is not None:
    label = journey.BREAKDOWNS[by]
    ui.indicator_block(
        f"{journey.MEASURES[measure]} by {label.lower()}", by_group, journey.group_chart(by_group.df, measure, label),
        summary=journey.group_sentence(by_group.df, measure, label),
        table=journey.table(by_group.display_df(), ["group_value", "send_group", "person_months", "ae_attendances",
                                                    "ae_per_1000", "gp_contacts", "gp_per_1000"])
        .rename(columns={"Group": label}),
        download_name="health_activity_by_group",
    )

# --- impact view ---------------------------------------------------------------------------------------------
st.header("Impact view: did a change make a difference?", anchor=False)
st.markdown("Pick the date a service or policy changed. The model looks at every month before and after it "
            "(the whole history, whatever period is chosen above) and estimates the jump and the change in trend.")
history = ui.run("health_activity_series", filters, split=split)
if history is None:
    st.stop()
months = sorted(pd.to_datetime(history.df["month"]).dt.date.unique())
if len(months) < 6:
    st.info("There are not enough months of data for the impact view.")
    st.stop()
groups = [g for g in journey.GROUP_ORDER if g in set(history.df["group_value"])]
c1, c2, c3 = st.columns(3)
group = c1.selectbox("Group", groups, format_func=journey.group_label, key="impact_group")
intervention = c2.date_input("Date of the change", value=journey.default_intervention(months),
                             min_value=months[0], max_value=months[-1], format="DD/MM/YYYY", key="impact_date")
seasonality = ui.choose("Time of year", journey.SEASONALITY_LABELS, key="impact_seasonality", within=c3)
# Two plain menus rather than a range slider: the slider's track carries ARIA attributes axe rejects,
# and menus are easier to use from the keyboard.
c4, c5 = st.columns(2)
first_month = c4.selectbox("First month to use", months, index=0,
                           format_func=lambda d: d.strftime("%b %Y"), key="impact_first_month")
last_month = c5.selectbox("Last month to use", months, index=len(months) - 1,
                          format_func=lambda d: d.strftime("%b %Y"), key="impact_last_month")
if last_month < first_month:
    st.info("The last month is before the first month, so they have been swapped.")
    first_month, last_month = last_month, first_month
series = journey.impact_series(history.df, group, measure, start=first_month, end=last_month)
impact = journey.run_impact(series, intervention if isinstance(intervention, dt.date) else months[len(months) // 2],
                            seasonality)
if impact.result is None:
    st.info(impact.message)
else:
    result = impact.result
    ui.indicator_block(
        f"Before and after {result.intervention:%B %Y}: {journey.MEASURES[measure]}", history,
        journey.impact_chart(result, measure, group), summary=journey.impact_summary(result, measure, group),
        table=journey.effect_table(result), download_name="impact_effect",
    )
    st.markdown("**Things to bear in mind**\n\n" + "\n".join(f"- {c}" for c in result.caveats))
    ui.indicator_block(
        "Impact view: the months behind the model", history, None,
        summary="Each month's recorded figure, the model's fitted value and what it expects had nothing changed.",
        table=journey.lines_table(result), download_name="impact_months",
    )
