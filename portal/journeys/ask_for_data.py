"""Ask for data (SPEC §3.12): the tables, chart and summaries of data requests, for requesters and analysts.

Works on the ``DataRequest`` objects of ``portal.data_requests``; the page only collects form input and draws.
"""
from __future__ import annotations

from collections import Counter
from datetime import date

import altair as alt
import pandas as pd

from portal import data_requests
from portal import theme
from portal.journeys.common import count_axis, filters_phrase, join_names

STATUS_LABELS = {
    data_requests.SUBMITTED: "Submitted, waiting for an analyst",
    data_requests.ASSIGNED: "An analyst is working on it",
    data_requests.QUESTION: "Waiting for your answer",
    data_requests.COMPLETED: "Completed",
    data_requests.DECLINED: "Declined",
}
TABLE_COLUMNS = ["Number", "What", "Area", "Group", "Needed by", "Identifiable", "Status", "Assigned to",
                 "Last change"]
ACTION_WORDS = {"submit": "submitted", "assign": "assigned", "ask": "asked a question",
                "answer": "answered", "complete": "completed", "decline": "declined"}


def requests_table(items: list[data_requests.DataRequest]) -> pd.DataFrame:
    """One row per request, as shown and downloaded."""
    rows = [{
        "Number": r.id,
        "What": r.what,
        "Area": r.area,
        "Group": r.group_label,
        "Needed by": r.needed_by,
        "Identifiable": "Yes" if r.identifiable else "No",
        "Status": r.status,
        "Assigned to": r.assigned_to or "",
        "Last change": r.updated_at[:16].replace("T", " "),
    } for r in items]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def status_counts(items: list[data_requests.DataRequest]) -> pd.DataFrame:
    counts = Counter(r.status for r in items)
    return pd.DataFrame({"Status": list(data_requests.STATUSES),
                         "Requests": [counts.get(s, 0) for s in data_requests.STATUSES]})


def status_chart(counts: pd.DataFrame, title: str) -> alt.Chart:
    return alt.Chart(counts, title=title).mark_bar(color=theme.NHS_BLUE).encode(
        x=alt.X("Requests:Q", axis=count_axis(counts["Requests"].max(), "Number of requests")),
        y=alt.Y("Status:N", sort=list(data_requests.STATUSES), title=None),
        tooltip=[alt.Tooltip("Status:N"), alt.Tooltip("Requests:Q")],
    ).properties(height=180)


def my_summary(items: list[data_requests.DataRequest]) -> str:
    if not items:
        return ("You have not asked for any data yet. If something you need is not on any page, use the form "
                "above: an analyst will pick it up.")
    counts = Counter(r.status for r in items)
    parts = [f"{n} {status}" for status, n in ((s, counts.get(s, 0)) for s in data_requests.STATUSES) if n]
    text = f"You have made {len(items)} request{'s' if len(items) != 1 else ''}: {join_names(parts)}."
    waiting = [r for r in items if r.status == data_requests.QUESTION]
    if waiting:
        numbers = join_names([str(r.id) for r in waiting])
        text += f" An analyst has asked you a question about request {numbers}: please answer it below."
    return text


def inbox_summary(items: list[data_requests.DataRequest], today: date | None = None) -> str:
    today = today or date.today()
    if not items:
        return "There are no open data requests."
    counts = Counter(r.status for r in items)
    text = (f"{len(items)} open request{'s' if len(items) != 1 else ''}: "
            f"{counts.get(data_requests.SUBMITTED, 0)} not yet assigned, "
            f"{counts.get(data_requests.ASSIGNED, 0)} being worked on and "
            f"{counts.get(data_requests.QUESTION, 0)} waiting for the requester's answer.")
    soonest = min(items, key=lambda r: (r.needed_by, r.id))
    due = date.fromisoformat(soonest.needed_by)
    text += f" The soonest deadline is {due:%d %B %Y} (request {soonest.id})."
    overdue = [r for r in items if date.fromisoformat(r.needed_by) < today]
    if overdue:
        text += f" {len(overdue)} {'is' if len(overdue) == 1 else 'are'} past the date asked for."
    identifiable = sum(r.identifiable for r in items)
    if identifiable:
        text += f" {identifiable} ask{'s' if identifiable == 1 else ''} for identifiable data: check the legal basis."
    return text


def history_table(request: data_requests.DataRequest) -> pd.DataFrame:
    return pd.DataFrame([{
        "When": e.at[:16].replace("T", " "),
        "Who": e.username,
        "What happened": ACTION_WORDS.get(e.action, e.action),
        "Status": e.to_status,
        "Message": e.message or "",
    } for e in request.events], columns=["When", "Who", "What happened", "Status", "Message"])


def area_choices(localities: list[str]) -> list[str]:
    return [data_requests.WHOLE_AREA, *localities]


def default_group(filters) -> str:
    """A starting text for 'which group' from the sidebar filters, e.g. 'EHCP, aged 5-10'."""
    return filters_phrase(filters)
