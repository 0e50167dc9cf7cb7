"""Audit log (SPEC §3.14, §5): search the append-only log, count what happened, and show it.

Reading only: nothing here (or anywhere in the portal) updates or deletes an audit entry; the database
refuses it with triggers (see portal/ops.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import altair as alt
import pandas as pd

from portal import ops, theme
from portal.journeys.common import count_axis, join_names

MAX_ROWS = 5000
# Events that concern identifiable data, called out in the summary.
IDENTIFIABLE_EVENTS = ("cohort_view", "cohort_export")
EVENT_LABELS = {
    "login": "Signed in",
    "login_failed": "Failed sign-in",
    "logout": "Signed out",
    "account_locked": "Account locked",
    "session_rejected": "Session refused",
    "user_added": "User added",
    "user_enabled": "User enabled",
    "user_disabled": "User disabled",
    "password_changed": "Password changed",
    "role_changed": "Role changed",
    "cohort_view": "GP cohort list viewed",
    "cohort_export": "GP cohort list downloaded",
    "cohort_saved": "GP cohort saved",
    "cohort_deleted": "GP cohort deleted",
    "export": "Table downloaded",
    "upload_accepted": "Feed file accepted",
    "upload_rejected": "Feed file rejected",
    "upload_unchanged": "Feed file already loaded",
    "upload_build_failed": "Feed file loaded, rebuild failed",
    "data_request_submitted": "Data request submitted",
    "data_request_assigned": "Data request assigned",
    "data_request_question_asked": "Data request question asked",
    "data_request_question_answered": "Data request question answered",
    "data_request_completed": "Data request completed",
    "data_request_declined": "Data request declined",
    "data_request_file_downloaded": "Data request file downloaded",
}
TABLE_COLUMNS = ["Number", "When (UTC)", "Event", "User", "Details"]


@dataclass(frozen=True)
class AuditSearch:
    text: str = ""
    events: tuple[str, ...] = ()
    username: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = MAX_ROWS


def search(criteria: AuditSearch) -> pd.DataFrame:
    """Entries matching every given criterion, newest first (at most ``limit``)."""
    text = criteria.text.strip()[:100]  # a search phrase, not a document
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if text else None
    params = {
        "like": like,
        "username": (criteria.username or "").strip().lower()[:64] or None,
        "since": criteria.since.isoformat() if criteria.since else None,
        # entries are stamped with a full timestamp: "until" includes the whole of that day
        "until": (criteria.until + timedelta(days=1)).isoformat() if criteria.until else None,
        "events": json.dumps(list(criteria.events)),
        "n_events": len(criteria.events),
        "limit": max(1, min(int(criteria.limit), MAX_ROWS)),
    }
    with ops.connect() as conn:
        rows = conn.execute(
            "SELECT id, at, event, username, detail FROM audit_log"
            " WHERE ($like IS NULL OR event LIKE $like ESCAPE '\\' OR coalesce(username, '') LIKE $like ESCAPE '\\'"
            "        OR detail LIKE $like ESCAPE '\\')"
            "   AND ($username IS NULL OR username = $username)"
            "   AND ($since IS NULL OR at >= $since)"
            "   AND ($until IS NULL OR at < $until)"
            "   AND ($n_events = 0 OR event IN (SELECT value FROM json_each($events)))"
            " ORDER BY id DESC LIMIT $limit", params).fetchall()
    return pd.DataFrame([dict(row) for row in rows], columns=["id", "at", "event", "username", "detail"])


def event_names() -> list[str]:
    """Every event type in the log, plus the known ones, for the search menu."""
    with ops.connect() as conn:
        seen = [row[0] for row in conn.execute("SELECT DISTINCT event FROM audit_log ORDER BY event")]
    return sorted(set(seen) | set(EVENT_LABELS))


def label(event: str) -> str:
    return EVENT_LABELS.get(event, event.replace("_", " ").capitalize())


def display_table(found: pd.DataFrame) -> pd.DataFrame:
    """The entries as shown and downloaded: readable event names, details as compact text."""
    return pd.DataFrame({
        "Number": found["id"].astype(int),
        "When (UTC)": [str(at)[:19].replace("T", " ") for at in found["at"]],
        "Event": [label(e) for e in found["event"]],
        "User": found["username"].fillna("(system)"),
        "Details": [_details(d) for d in found["detail"]],
    }, columns=TABLE_COLUMNS)


def _details(raw: str) -> str:
    try:
        detail = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)
    if not isinstance(detail, dict):
        return str(detail)
    return "; ".join(f"{k}: {json.dumps(v) if isinstance(v, (dict, list)) else v}" for k, v in detail.items())


def daily_counts(found: pd.DataFrame, top: int = 6) -> pd.DataFrame:
    """Entries per day and event (the ``top`` most common events; the rest as 'Other events')."""
    if found.empty:
        return pd.DataFrame(columns=["Day", "Event", "Entries"])
    frame = pd.DataFrame({"Day": [str(at)[:10] for at in found["at"]], "Event": [label(e) for e in found["event"]]})
    common = frame["Event"].value_counts().index[:top]
    frame.loc[~frame["Event"].isin(common), "Event"] = "Other events"
    return frame.groupby(["Day", "Event"]).size().rename("Entries").reset_index()


def daily_chart(counts: pd.DataFrame) -> alt.Chart:
    return alt.Chart(counts, title="Audit entries per day, by event").mark_bar().encode(
        x=alt.X("Day:O", title="Day", axis=alt.Axis(labelAngle=0)),  # one band per day, however few
        y=alt.Y("sum(Entries):Q", axis=count_axis(counts.groupby("Day")["Entries"].sum().max(), "Entries")),
        color=alt.Color("Event:N", scale=alt.Scale(range=theme.CATEGORICAL), title="Event"),
        tooltip=[alt.Tooltip("Day:O"), alt.Tooltip("Event:N"), alt.Tooltip("Entries:Q")],
    ).properties(height=260)


def _in_sentence(text: str) -> str:
    """'Signed in' -> 'signed in', but 'GP cohort list viewed' keeps its capitals."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def summary(found: pd.DataFrame, capped: bool) -> str:
    if found.empty:
        return "No audit entries match this search."
    n = len(found)
    days = sorted(str(at)[:10] for at in found["at"])
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    text = (f"{'At least ' if capped else ''}{n:,} entr{'y' if n == 1 else 'ies'} match, "
            f"from {first:%d %B %Y} to {last:%d %B %Y}.")
    common = found["event"].value_counts()
    text += " Most common: " + join_names([f"{_in_sentence(label(e))} ({c:,})" for e, c in common.head(3).items()]) + "."
    identifiable = found[found["event"].isin(IDENTIFIABLE_EVENTS)]
    if len(identifiable):
        users = identifiable["username"].dropna().nunique()
        views = int((identifiable["event"] == "cohort_view").sum())
        exports = int((identifiable["event"] == "cohort_export").sum())
        text += (f" Identifiable patient lists were viewed {views:,} time{'s' if views != 1 else ''} and downloaded "
                 f"{exports:,} time{'s' if exports != 1 else ''}, by {users} user{'s' if users != 1 else ''}.")
    if capped:
        text += f" Only the newest {MAX_ROWS:,} are listed: narrow the search to see older ones."
    return text
