"""Inequalities (SPEC §3.8): rates by group with 95% confidence intervals against the area rate."""
from __future__ import annotations

import streamlit as st

from portal import ui
from portal.journeys import inequalities as journey

user, filters = ui.page_setup("Inequalities", __file__)

left, right = st.columns(2)
measure = left.selectbox("Measure", list(journey.MEASURES), format_func=lambda k: journey.MEASURES[k].title,
                         key="inequalities_measure")
choices = journey.BREAKDOWNS_FOR[measure]
by = right.selectbox("Compare groups by", choices, format_func=journey.BREAKDOWNS.get, key="inequalities_by")
if by not in choices:
    by = choices[0]

result = ui.run(journey.MEASURES[measure].query, filters, by=by)
if result is None:
    st.stop()
table, area_rate = journey.representation_table(result.df, measure)
m = journey.MEASURES[measure]
ui.indicator_block(
    journey.title(measure, by), result,
    journey.chart(table, area_rate, measure, by), summary=journey.summary(table, area_rate, measure, by),
    table=journey.display_table(table, measure, by), download_name=f"inequalities_{measure}_by_{by}",
)
st.caption("A group is over- or under-represented only when its whole 95% confidence interval lies above or "
           "below the area rate; otherwise the difference could be chance.")
