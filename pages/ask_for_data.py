"""Ask for data (SPEC §3.12): ask for what is not on screen, follow your requests; analysts work the inbox."""
from __future__ import annotations

import functools
from datetime import date, timedelta

import streamlit as st

from portal import filters as global_filters
from portal import ops, store, ui
from portal import data_requests
from portal.journeys import ask_for_data as journey
from portal.journeys.operational import Meaning, block, show_outcome
from portal.data_requests import RequestError
from portal.roles import ANALYST

user, filters = ui.page_setup("Ask for data", __file__)
is_analyst = user.role == ANALYST
MEANING = Meaning(
    what="Each data request, its status and its history. Statuses: submitted (waiting for an analyst), "
         "assigned (an analyst is working on it), question asked (the analyst needs your answer), completed "
         "(with a file or a link) and declined (with a reason).",
    source="The portal's request records (operational database).",
    refreshed="live, every time the page is opened",
    caveats="Identifiable data is only shared with a legal basis, checked by the analyst.",
)


def _flash(tab: str, kind: str, message: str) -> None:
    """A message to show after the rerun, in the tab where the action was taken."""
    st.session_state[f"request_flash_{tab}"] = (kind, message)


def _show_flash(tab: str) -> None:
    if f"request_flash_{tab}" in st.session_state:
        kind, message = st.session_state.pop(f"request_flash_{tab}")
        show_outcome(kind, message)


NO_LEGAL_BASIS = "Not needed: no data that identifies people"
tabs = st.tabs(["Ask for data", "My requests", "Inbox (analysts)"] if is_analyst else ["Ask for data", "My requests"])

# --- the form --------------------------------------------------------------------------------------------
with tabs[0]:
    st.markdown("Ask for anything you cannot find on the portal's pages. An analyst will pick it up, may "
                "ask you a question, and will send you a file or a link, or explain why not.")
    try:
        version = store.current_version()
    except (store.NoMartsError, store.MartsUnavailableError):
        version = None  # the form still works without the data: only the area list is shorter
    areas = journey.area_choices(global_filters.localities(version))
    FORM_KEYS = ("request_what", "request_why", "request_needed_by", "request_area", "request_group",
                 "request_identifiable", "request_legal_basis")

    def _send_request() -> None:
        # A callback, so the form can be cleared after a successful send and kept after a refused one.
        values = {key: st.session_state.get(key) for key in FORM_KEYS}
        try:
            new = data_requests.submit(
                user, what=values["request_what"], why=values["request_why"],
                needed_by=values["request_needed_by"], area=values["request_area"],
                group=values["request_group"], identifiable=bool(values["request_identifiable"]),
                legal_basis=None if values["request_legal_basis"] == NO_LEGAL_BASIS else values["request_legal_basis"])
        except RequestError as exc:
            _flash("form", "error", str(exc))
            return
        for key in FORM_KEYS:
            st.session_state.pop(key, None)
        _flash("form", "success", f"Request {new.id} sent. You can follow it under 'My requests'.")

    with st.form("data_request_form", enter_to_submit=False):
        st.text_area("What do you need?", key="request_what",
                     help="For example: number of children with an EHCP by school year, last 3 years.")
        st.text_area("Why do you need it?", key="request_why",
                     help="What decision or work it is for.")
        left, right = st.columns(2)
        left.date_input("By when?", value=date.today() + timedelta(days=14), min_value=date.today(),
                        format="DD/MM/YYYY", key="request_needed_by")
        right.selectbox("For which area?", areas, key="request_area",
                        index=areas.index(filters.locality) if filters.locality in areas else 0)
        st.text_input("For which group of children or young people?", value=journey.default_group(filters),
                      placeholder="For example: EHCP, aged 5-10", key="request_group")
        st.checkbox("I need data that identifies people (names, NHS numbers or dates of birth)",
                    key="request_identifiable")
        st.selectbox("Legal basis (only if you need data that identifies people)",
                     [NO_LEGAL_BASIS, *data_requests.LEGAL_BASES], key="request_legal_basis")
        st.form_submit_button("Send request", type="primary", icon=":material/send:", on_click=_send_request)
    _show_flash("form")

# --- my requests -------------------------------------------------------------------------------------------
with tabs[1]:
    _show_flash("mine")
    mine = data_requests.my_requests(user)
    block("My data requests", journey.requests_table(mine), MEANING,
          chart=journey.status_chart(journey.status_counts(mine), "My requests by status"),
          summary=journey.my_summary(mine), download_name="my_data_requests", user=user,
          empty_message="You have no data requests yet.")
    for request in mine:
        label = f"Request {request.id}: {request.what[:60]} ({journey.STATUS_LABELS[request.status]})"
        with st.expander(label, expanded=request.status == data_requests.QUESTION):
            st.markdown(f"**Why:** {request.why}  \n**Area:** {request.area}  \n**Group:** {request.group_label}"
                        f"  \n**Needed by:** {request.needed_by}")
            if request.status == data_requests.DECLINED:
                st.warning(f"Declined: {request.decline_reason}")
            if request.result_link:
                st.markdown(f"**Your data:** [{request.result_link}]({request.result_link})")
            if request.result_file_name:
                try:
                    data, name = data_requests.result_file(user, request.id)
                    # Audited as the file is served, like every download (see ui.download_buttons); a rerun on
                    # click would audit only when it ran, after the file had gone.
                    audit = functools.partial(data_requests.record_file_download, user, request.id)
                    st.download_button(f"Download {name}", ui.made_on_click(lambda data=data: data, audit),
                                       file_name=name, key=f"request_file_{request.id}", on_click="ignore",
                                       icon=":material/download:")
                except RequestError as exc:
                    st.error(str(exc))
            if request.status == data_requests.QUESTION:
                st.info(f"The analyst asks: {request.open_question}")
                with st.form(f"answer_{request.id}", clear_on_submit=True, enter_to_submit=False):
                    answer = st.text_area("Your answer", key=f"answer_text_{request.id}")
                    if st.form_submit_button("Send answer"):
                        try:
                            data_requests.answer_question(user, request.id, answer)
                            _flash("mine", "success", f"Answer sent for request {request.id}.")
                            st.rerun()
                        except (RequestError, PermissionError) as exc:
                            st.error(str(exc))
            ui.show_table(journey.history_table(request))

# --- the analysts' inbox --------------------------------------------------------------------------------------
if is_analyst:
    with tabs[2]:
        _show_flash("inbox")
        show_closed = st.checkbox("Also show completed and declined requests", key="inbox_show_closed")
        items = data_requests.inbox(user, data_requests.STATUSES if show_closed else data_requests.OPEN_STATUSES)
        open_items = [r for r in items if r.is_open]
        block("Data request inbox", journey.requests_table(items), MEANING,
              chart=journey.status_chart(journey.status_counts(items), "Requests in the inbox by status"),
              summary=journey.inbox_summary(open_items), download_name="data_request_inbox", user=user,
              empty_message="The inbox is empty.")
        if items:
            chosen = st.selectbox("Open a request", [r.id for r in items], key="inbox_request",
                                  format_func=lambda i: next(f"Request {r.id}: {r.what[:70]} ({r.status})"
                                                             for r in items if r.id == i))
            request = data_requests.get(user, chosen)
            st.subheader(f"Request {request.id} from {request.requester}", anchor=False)
            st.markdown(f"**What:** {request.what}  \n**Why:** {request.why}  \n**Area:** {request.area}  \n"
                        f"**Group:** {request.group_label}  \n**Needed by:** {request.needed_by}  \n"
                        f"**Identifiable data:** {'Yes, legal basis: ' + request.legal_basis if request.identifiable else 'No'}  \n"
                        f"**Status:** {request.status}" + (f" (assigned to {request.assigned_to})" if request.assigned_to else ""))
            ui.show_table(journey.history_table(request))

            def act(action, *args, **kwargs):
                try:
                    action(user, request.id, *args, **kwargs)
                    _flash("inbox", "success", f"Request {request.id} updated.")
                    st.rerun()
                except (RequestError, PermissionError) as exc:
                    st.error(str(exc))

            if request.is_open:
                analysts = [u.username for u in ops.list_users() if u.role == ANALYST and u.active]
                with st.form(f"assign_{request.id}", enter_to_submit=False):
                    assignee = st.selectbox("Assign to", analysts,
                                            index=analysts.index(user.username) if user.username in analysts else 0)
                    if st.form_submit_button("Assign"):
                        act(data_requests.assign, assignee)
                with st.form(f"ask_{request.id}", clear_on_submit=True, enter_to_submit=False):
                    question = st.text_area("Ask the requester a question")
                    if st.form_submit_button("Send question"):
                        act(data_requests.ask_question, question)
                with st.form(f"complete_{request.id}", clear_on_submit=True, enter_to_submit=False):
                    st.markdown("**Complete the request** with a file, a link, or both.")
                    upload = st.file_uploader("Attach a file (CSV, Excel, Parquet or PDF)",
                                              type=["csv", "xlsx", "parquet", "pdf"])
                    link = st.text_input("Or give a link (https://...)")
                    note = st.text_area("Note to the requester (optional)")
                    if st.form_submit_button("Complete request"):
                        act(data_requests.complete, link=link, note=note,
                            file_bytes=upload.getvalue() if upload else None,
                            file_name=upload.name if upload else None)
                with st.form(f"decline_{request.id}", clear_on_submit=True, enter_to_submit=False):
                    reason = st.text_area("Reason for declining")
                    if st.form_submit_button("Decline request"):
                        act(data_requests.decline, reason)
