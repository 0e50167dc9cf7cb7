"""How do we compare? (SPEC §3.10): the area against England, its region and its statistical neighbours
on published national statistics."""
from __future__ import annotations

import streamlit as st

from portal import store, ui
from portal.journeys import compare as journey
from portal.public.area import AreaConfigError, load_area

user, filters = ui.page_setup("How do we compare?", __file__)

try:
    version = store.reader().version()
except (store.NoMartsError, store.MartsUnavailableError):
    version = None
if not journey.public_marts_loaded(version):
    st.warning(journey.HOW_TO_LOAD, icon=":material/upload_file:")
    st.stop()
try:
    area = load_area()
except AreaConfigError as exc:
    st.error(f"The area to compare is not set up correctly: {exc}")
    st.stop()

st.info(journey.area_intro(area), icon=":material/public:")

available = ui.run("compare_indicators_available", filters, area_codes=area.codes)
if available is None:
    st.stop()
if available.df.empty:
    st.warning(journey.no_figures_message(area))
    st.stop()
catalogue = journey.indicators(available.df)

# --- headline scorecard ------------------------------------------------------------------------------
headline = [i for i in journey.headline_ids() if i in catalogue]
if headline:
    result = ui.run("compare_benchmarks", filters, indicator_ids=headline, la_codes=area.la_codes,
                    icb_code=area.icb_code)
    if result is not None:
        card = journey.scorecard(result.df, catalogue, headline, area.codes, area.names)
        ui.indicator_block(
            "Headline indicators at a glance", result, journey.scorecard_chart(card),
            summary=journey.scorecard_summary(card, area.name),
            table=card[journey.SCORECARD_COLUMNS], download_name="compare_headline_indicators",
        )
        with st.expander("What do the headline indicators mean? (definitions, sources, refresh dates)"):
            for indicator_id in headline:
                st.markdown(journey.definition_markdown(catalogue[indicator_id]))
                st.divider()

# --- one indicator in detail -----------------------------------------------------------------------
st.header("Look at one indicator", anchor=False)
# The chosen indicator and area live in the URL too, so a view can be shared.
shared = st.query_params.get("indicator")
if shared in catalogue and "compare_indicator" not in st.session_state:
    st.session_state["compare_topic"] = catalogue[shared].topic
    st.session_state["compare_indicator"] = shared
topics = journey.topics(available.df)
topic = st.selectbox("Topic", topics, key="compare_topic",
                     help="Published indicators are grouped by topic. SEND topics come first.")
choices = journey.indicator_choices(available.df, topic)
indicator_id = st.selectbox("Indicator", choices, format_func=lambda i: catalogue[i].name, key="compare_indicator")
indicator = catalogue[indicator_id]

detail = ui.run("compare_benchmarks", filters, indicator_ids=[indicator_id], la_codes=area.la_codes,
                icb_code=area.icb_code)
if detail is None:
    st.stop()
focus_choices = journey.focus_options(detail.df, indicator_id, area.codes, area.names)
if not focus_choices:
    st.info(f"There is no published figure for {area.name} on this indicator.")
    st.stop()
names = dict(focus_choices)
if st.query_params.get("area") in names and "compare_focus" not in st.session_state:
    st.session_state["compare_focus"] = st.query_params.get("area")
focus = st.radio("Area", list(names), format_func=names.get, horizontal=True, key="compare_focus",
                 help="The local authority or ICB to compare. Statistical neighbours are local authorities, "
                      "so an ICB is compared with England and its NHS region.")

for key, value in (("indicator", indicator_id), ("area", focus)):
    if st.query_params.get(key) != value:
        st.query_params[key] = value

latest = journey.latest_table(detail.df, indicator, focus)
ui.indicator_block(
    f"{indicator.name}: {names[focus]} and comparators, latest figures", detail,
    journey.latest_chart(latest, indicator), summary=journey.indicator_summary(detail.df, indicator, focus),
    table=latest, download_name="compare_latest",
)
trend = journey.trend_table(detail.df, indicator, focus)
ui.indicator_block(
    f"{indicator.name}: {names[focus]} over time", detail, journey.trend_chart(trend, indicator),
    summary=journey.trend_summary(trend, indicator, names[focus]), table=trend, download_name="compare_trend",
)
with st.expander(f"What does this mean? ({indicator.name})"):
    st.markdown(journey.definition_markdown(indicator))
