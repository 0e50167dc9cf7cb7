"""Data status (SPEC §3.14; analysts and admins): feeds, failures with reports, uploads of new feed files."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from portal import ingest, store, ui, uploads
from portal.journeys import data_status as journey
from portal.journeys.operational import Meaning, block, show_outcome
from portal.roles import ADMIN, ANALYST
from portal.uploads import UploadError

user, filters = ui.page_setup("Data status", __file__)
if user.role not in (ANALYST, ADMIN):  # navigation already hides it; never rely on that alone
    st.error("Data status is only for analysts and administrators.")
    st.stop()

st.markdown("What data the portal holds, how fresh it is, which files were rejected and why, and a place to "
            "load a new feed file. The sidebar filters do not apply to this page.")
try:
    live = store.current_version()
    st.info(f"Live data version: **{live.name}**, built {live.built_at[:16].replace('T', ' ')} UTC.",
            icon=":material/database:")
except (store.NoMartsError, store.MartsUnavailableError):
    st.warning("No data has been published yet.")

titles = journey.feed_titles()

# --- feeds ---------------------------------------------------------------------------------------------------
result = ui.run("feed_status", filters)
if result is not None:
    table = journey.feed_table(result.df, titles, uploads.original_names())
    ui.indicator_block("Feeds", result, journey.match_chart(table), journey.summary(table), table=table,
                       download_name="feed_status")

# --- rejected files ----------------------------------------------------------------------------------------------
rejected = journey.rejected_files(ingest.read_log(), titles)
block("Rejected files", pd.DataFrame([{k: v for k, v in r.items() if k != "report"} for r in rejected],
                                     columns=["When", "Feed", "File", "Rows", "Faults"]),
      Meaning(what="Files that failed their data contract. Each was set aside (quarantined) with a report naming "
                   "the row, column, value and reason of each fault; nothing in it reached the pages.",
              source="The ingest log and the quarantine reports.", refreshed="live",
              caveats="Identifier values (such as NHS numbers) are withheld from reports."),
      summary=(f"{len(rejected)} file{'s' if len(rejected) != 1 else ''} rejected (newest first)." if rejected
               else ""),
      download_name="rejected_files", user=user, empty_message="No file has been rejected.")
for item in rejected[:10]:
    with st.expander(f"Validation report: {item['File']} ({item['When']})"):
        st.code(item["report"], language=None, wrap_lines=True)

# --- upload --------------------------------------------------------------------------------------------------
st.header("Load a new feed file", anchor=False)
st.markdown("Choose the feed, choose the file, and press **Check and load**. The file is checked against the "
            "feed's data contract. If it passes, the data is rebuilt and the pages show it straight away; if "
            "not, nothing changes and the report says what to correct.")
DETECT = "Work it out from the file name"
with st.form("feed_upload_form", enter_to_submit=False):
    # Radio buttons, not a menu: every choice visible, and no stale menu state after the page redraws.
    feed_choice = st.radio("Which feed is this file?", [DETECT, *titles], key="upload_feed",
                           format_func=lambda f: f if f == DETECT else titles.get(f, f))
    upload = st.file_uploader("Feed file (CSV, Excel or Parquet, up to 200 MB)", type=["csv", "xlsx", "parquet"],
                              key="upload_file")
    go = st.form_submit_button("Check and load", type="primary", icon=":material/upload:")
if go:
    if upload is None:
        st.error("Choose a file to upload first.")
    else:
        bar = st.progress(0.0, text="Starting")
        try:
            outcome = uploads.upload_feed_file(user, upload.getvalue(), upload.name,
                                               None if feed_choice == DETECT else feed_choice,
                                               progress=lambda fraction, text: bar.progress(fraction, text=text))
            st.session_state["last_upload"] = outcome
            st.rerun()  # redraw from the top, so the live version and the feed table show the outcome
        except (UploadError, PermissionError) as exc:
            st.session_state["last_upload"] = None
            bar.empty()
            st.error(str(exc))
last = st.session_state.get("last_upload")
if last is not None:
    if last.accepted:
        show_outcome("success", last.message)
    elif last.status == uploads.UNCHANGED:
        st.info(last.message)
    else:
        st.error(last.message, icon=":material/error:")
    if last.report:
        st.markdown(f"**Validation report for {last.original_name}**")
        st.code(last.report, language=None, wrap_lines=True)

recent = uploads.recent_uploads()
block("Recent uploads", journey.uploads_table(recent, titles),
      Meaning(what="Files uploaded on this page, newest first, with who uploaded them and the outcome: live "
                   "(loaded and published), rejected (failed its checks; nothing changed), unchanged (same "
                   "content as a file already loaded) or build failed (loaded, but the previous data still shows).",
              source="The portal's uploads record.", refreshed="live",
              caveats="Uploaded files are kept under generated names and only ever read as data."),
      summary=(f"{len(recent)} upload{'s' if len(recent) != 1 else ''} recorded; "
               f"{sum(u['status'] == uploads.LIVE for u in recent)} went live." if recent else ""),
      download_name="recent_uploads", user=user, empty_message="Nothing has been uploaded yet.")
