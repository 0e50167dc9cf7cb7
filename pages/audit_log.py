"""Audit log (SPEC §3.14, §5; admin only): search and export the append-only record of who did what."""
from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from portal import ui
from portal.journeys import audit_log as journey
from portal.journeys.operational import Meaning, block
from portal.roles import ADMIN

user, filters = ui.page_setup("Audit log", __file__)
if user.role != ADMIN:  # navigation already hides it; never rely on that alone
    st.error("The audit log is only for platform administrators.")
    st.stop()

st.markdown("Every sign-in, every view and download of identifiable data, every export, upload and data "
            "request change is recorded here. Entries can be searched and downloaded, never changed or "
            "deleted. The sidebar filters do not apply to this page.")

ALL_EVENTS = "All events"
with st.form("audit_search", enter_to_submit=False):
    text = st.text_input("Search for text (user, event, cohort, file name, ...)", key="audit_text")
    left, right = st.columns(2)
    event = left.selectbox("Event", [ALL_EVENTS, *journey.event_names()], key="audit_event",
                           format_func=lambda e: e if e == ALL_EVENTS else journey.label(e))
    username = right.text_input("User name", key="audit_user")
    left, right = st.columns(2)
    since = left.date_input("From", value=date.today() - timedelta(days=30), format="DD/MM/YYYY", key="audit_since")
    until = right.date_input("To", value=date.today(), format="DD/MM/YYYY", key="audit_until")
    st.form_submit_button("Search", type="primary", icon=":material/search:")

if since and until and since > until:
    st.error("'From' must be on or before 'To'.")
    st.stop()
criteria = journey.AuditSearch(text=text, events=() if event == ALL_EVENTS else (event,), username=username or None, since=since, until=until)
found = journey.search(criteria)
capped = len(found) >= journey.MAX_ROWS
block(
    "Audit entries", journey.display_table(found),
    Meaning(
        what="One row per recorded event: when (UTC), what, who, and details such as the cohort definition "
             "and number of rows of an identifiable list, the file and format of a download, or the data "
             "request concerned.",
        source="The portal's append-only audit log (operational database). The database refuses any change "
               "or deletion of an entry.",
        refreshed="live, every time you search",
        caveats=f"At most {journey.MAX_ROWS:,} entries are listed per search, newest first. "
                "Downloads of this log are themselves recorded.",
    ),
    chart=journey.daily_chart(journey.daily_counts(found)),
    summary=journey.summary(found, capped),
    download_name="audit_log", user=user, empty_message="No audit entries match this search.",
)
