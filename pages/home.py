"""Home (SPEC §3.1): headline numbers, what changed since a month earlier, data freshness, start here."""
from __future__ import annotations

import streamlit as st

from portal import glossary, navigation, ui
from portal.journeys import home
from portal.journeys.common import filters_phrase

user, filters = ui.page_setup("SEND Insight Portal", __file__)
result = ui.run("home_headlines", filters)
if result is None:
    st.stop()

now_date, before_date = home.as_date(result.df["now_date"].iloc[0]), home.as_date(result.df["before_date"].iloc[0])
values = home.headline_values(result.df)

st.header("Headline numbers", anchor=False)
chosen = filters_phrase(filters, leave_out=())
st.caption(f"On {now_date:%-d %B %Y}, the latest data. Changes are since {before_date:%-d %B %Y}. "
           f"Filters: {chosen or 'none (the whole area)'}; the period filter does not apply to snapshots.")
for row_start in range(0, len(values), 3):
    for column, value in zip(st.columns(3, border=True), values[row_start:row_start + 3]):
        column.metric(value.headline.tile, home.format_value(value.headline.kind, value.now),
                      delta=home.format_change(value.headline.kind, value.change),
                      delta_color=home.change_colour(value.headline),
                      help=glossary.lookup(value.headline.glossary[0]).definition)

ui.indicator_block(
    "What changed since a month earlier", result,
    summary=home.changes_summary(values, before_date, chosen),
    table=home.headline_table(result.display_df(), now_date, before_date), download_name="home_headlines",
)

st.header("How up to date is this?", anchor=False)
st.markdown(f"The figures describe **{now_date:%-d %B %Y}** (the snapshot date). Each source feed was last "
            "received on the date below; every page shows the same for its own numbers.")
ui.show_table(home.freshness_rows(result.feed_refresh))

st.header("Start here", anchor=False)
st.markdown(
    "1. **Pick a question** from the menu on the left: each page answers one (waiting lists, the EHCP "
    "journey, sleep services and so on).\n"
    "2. **Narrow it down** with the filters in the sidebar (locality, age band, SEND status and more). "
    "They stay set as you move between pages, and the page address keeps them, so you can copy the link "
    "to share exactly what you see.\n"
    "3. **Read the summary** under each heading; every chart has the same numbers in a table below it, "
    "with CSV and Excel downloads.\n"
    "4. **Open 'What does this mean?'** beside any figure for its definition, source and caveats, and "
    "'How to use this page' for a short walkthrough.\n"
    "5. **Need something not on screen?** Use *Ask for data*."
)
for spec in navigation.pages_for(user.role):
    if not spec.default:
        st.page_link(spec.absolute_path, label=spec.title, icon=spec.icon)

with st.expander("Words used on this page"):
    terms = [term for value in values for term in value.headline.glossary] + ["Suppressed", "Snapshot date"]
    st.markdown(glossary.markdown(terms))
