"""Data requests ("Ask for data"): anything not on screen is asked for here, tracked, and answered.

Life of a request::

    submitted ──assign──► assigned ──ask──► question asked ──answer──► assigned
        │                    │                   │
        └──────decline───────┴─────decline───────┴──► declined (with a reason)
                             └──────complete─────┴──► completed (with a file or a link)

Anyone signed in may submit and follow their own requests; analysts work the inbox. Every change is
kept in the request's history (``data_request_events``) and written to the audit log. Requests live in
the operational database, so they survive restarts and are shared by the portal and the command line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from portal import config, ops, uploads
from portal.roles import ANALYST, User

SUBMITTED = "submitted"
ASSIGNED = "assigned"
QUESTION = "question asked"
COMPLETED = "completed"
DECLINED = "declined"
STATUSES = (SUBMITTED, ASSIGNED, QUESTION, COMPLETED, DECLINED)
OPEN_STATUSES = (SUBMITTED, ASSIGNED, QUESTION)

# Which statuses each analyst action may start from.
_FROM = {
    "assign": {SUBMITTED, ASSIGNED},
    "ask": {ASSIGNED},
    "complete": {ASSIGNED, QUESTION},
    "decline": {SUBMITTED, ASSIGNED, QUESTION},
}

# A request for identifiable data must say under what legal basis it may be shared.
LEGAL_BASES = (
    "Direct care (UK GDPR Article 6(1)(e) and 9(2)(h))",
    "Section 251 support (Confidentiality Advisory Group approval)",
    "Explicit consent of the people concerned",
    "Other (explained in 'why')",
)
WHOLE_AREA = "Whole area"
MAX_TEXT = 4000


class RequestError(ValueError):
    """A request or action that cannot be carried out; the message is safe to show."""


@dataclass(frozen=True)
class RequestEvent:
    at: str
    username: str
    action: str
    from_status: str | None
    to_status: str
    message: str | None


@dataclass(frozen=True)
class DataRequest:
    id: int
    requester: str
    what: str
    why: str
    needed_by: str
    area: str
    group_label: str
    identifiable: bool
    legal_basis: str | None
    status: str
    assigned_to: str | None
    result_link: str | None
    result_file_name: str | None
    decline_reason: str | None
    created_at: str
    updated_at: str
    events: tuple[RequestEvent, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def open_question(self) -> str | None:
        """The question waiting for the requester's answer, if any."""
        if self.status != QUESTION:
            return None
        asked = [e for e in self.events if e.action == "ask"]
        return asked[-1].message if asked else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _text(value, label: str, required: bool = True, limit: int = MAX_TEXT) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise RequestError(f"Please fill in '{label}'.")
    if len(text) > limit:
        raise RequestError(f"'{label}' is too long: keep it under {limit} characters.")
    return text


def _is_analyst(user: User) -> bool:
    return user is not None and user.role == ANALYST


# --- submitting and reading -------------------------------------------------------------------------

def submit(user: User, *, what: str, why: str, needed_by: date | str, area: str, group: str,
           identifiable: bool = False, legal_basis: str | None = None, today: date | None = None) -> DataRequest:
    """Record a new request from the signed-in user and audit it."""
    what = _text(what, "What do you need?")
    why = _text(why, "Why do you need it?")
    area = _text(area, "Which area?", limit=100)
    group = _text(group, "Which group of children or young people?", limit=300)
    today = today or date.today()
    try:
        by = needed_by if isinstance(needed_by, date) else date.fromisoformat(str(needed_by))
    except ValueError:
        raise RequestError("Give 'By when?' as a date.") from None
    if by < today:
        raise RequestError("'By when?' must be today or later.")
    if identifiable:
        if legal_basis not in LEGAL_BASES:
            raise RequestError("Data that identifies people needs a legal basis: choose one from the list.")
    else:
        legal_basis = None
    now = _now()
    with ops.connect() as conn:
        cur = conn.execute(
            "INSERT INTO data_requests (requester, what, why, needed_by, area, group_label, identifiable,"
            " legal_basis, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (user.username, what, why, by.isoformat(), area, group, int(bool(identifiable)), legal_basis,
             SUBMITTED, now, now))
        request_id = cur.lastrowid
        _add_event(conn, request_id, user.username, "submit", None, SUBMITTED, None)
    ops.audit("data_request_submitted", user.username,
              {"request_id": request_id, "identifiable": bool(identifiable), "legal_basis": legal_basis,
               "area": area, "needed_by": by.isoformat()})
    return get(user, request_id)


def get(user: User, request_id: int) -> DataRequest:
    """One request with its history: its requester and analysts may see it, nobody else."""
    with ops.connect() as conn:
        row = conn.execute("SELECT * FROM data_requests WHERE id = ?", (int(request_id),)).fetchone()
        if row is None or not (_is_analyst(user) or row["requester"] == user.username):
            raise RequestError(f"There is no request number {int(request_id)} that you can see.")
        events = conn.execute(
            "SELECT at, username, action, from_status, to_status, message FROM data_request_events"
            " WHERE request_id = ? ORDER BY id", (int(request_id),)).fetchall()
    return _to_request(row, events)


def my_requests(user: User) -> list[DataRequest]:
    """The signed-in user's own requests, newest first."""
    return _list("WHERE requester = ?", (user.username,))


def inbox(user: User, statuses: tuple[str, ...] = OPEN_STATUSES) -> list[DataRequest]:
    """Every request in the given statuses, oldest deadline first (analysts only)."""
    _require_analyst(user)
    statuses = tuple(s for s in statuses if s in STATUSES) or OPEN_STATUSES
    marks = ", ".join("?" for _ in statuses)  # placeholders only; the values are bound
    return _list(f"WHERE status IN ({marks})", statuses, order="needed_by, id")


def _list(where: str, params: tuple, order: str = "id DESC") -> list[DataRequest]:
    with ops.connect() as conn:
        rows = conn.execute(f"SELECT * FROM data_requests {where} ORDER BY {order}", params).fetchall()
        ids = [row["id"] for row in rows]
        events: dict[int, list] = {i: [] for i in ids}
        if ids:
            marks = ", ".join("?" for _ in ids)
            for ev in conn.execute(
                    f"SELECT request_id, at, username, action, from_status, to_status, message"
                    f" FROM data_request_events WHERE request_id IN ({marks}) ORDER BY id", ids):
                events[ev["request_id"]].append(ev)
    return [_to_request(row, events[row["id"]]) for row in rows]


def _to_request(row, events) -> DataRequest:
    return DataRequest(
        id=row["id"], requester=row["requester"], what=row["what"], why=row["why"],
        needed_by=row["needed_by"], area=row["area"], group_label=row["group_label"],
        identifiable=bool(row["identifiable"]), legal_basis=row["legal_basis"], status=row["status"],
        assigned_to=row["assigned_to"], result_link=row["result_link"],
        result_file_name=row["result_file_name"], decline_reason=row["decline_reason"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        events=tuple(RequestEvent(e["at"], e["username"], e["action"], e["from_status"], e["to_status"],
                                  e["message"]) for e in events))


def _add_event(conn, request_id: int, username: str, action: str, from_status: str | None, to_status: str,
               message: str | None) -> None:
    conn.execute(
        "INSERT INTO data_request_events (request_id, at, username, action, from_status, to_status, message)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", (request_id, _now(), username, action, from_status, to_status, message))


def _require_analyst(user: User) -> None:
    if not _is_analyst(user):
        raise PermissionError("Only analysts work the data request inbox.")


# --- status changes ------------------------------------------------------------------------------------

def _change(user: User, request_id: int, action: str, allowed_from: set[str], to_status: str, *,
            message: str | None = None, updates: dict | None = None, audit_extra: dict | None = None
            ) -> DataRequest:
    """Move a request to a new status in one transaction, keep the history, then audit it."""
    updates = dict(updates or {})
    with ops.connect() as conn:
        row = conn.execute("SELECT status, requester FROM data_requests WHERE id = ?",
                           (int(request_id),)).fetchone()
        if row is None:
            raise RequestError(f"There is no request number {int(request_id)}.")
        if row["status"] not in allowed_from:
            raise RequestError(f"Request {int(request_id)} is '{row['status']}', so it cannot be "
                               f"{_PAST[action]} now.")
        if action == "answer" and row["requester"] != user.username:
            raise PermissionError("Only the person who asked for the data can answer the question.")
        updates.update(status=to_status, updated_at=_now())
        columns = ", ".join(f"{column} = ?" for column in updates)  # column names are this module's own
        conn.execute(f"UPDATE data_requests SET {columns} WHERE id = ? AND status = ?",
                     (*updates.values(), int(request_id), row["status"]))
        _add_event(conn, int(request_id), user.username, action, row["status"], to_status, message)
        from_status = row["status"]
    detail = {"request_id": int(request_id), "from": from_status, "to": to_status}
    detail.update(audit_extra or {})
    ops.audit(f"data_request_{_EVENT[action]}", user.username, detail)
    return get(user, request_id)


_PAST = {"assign": "assigned", "ask": "sent a question", "answer": "answered", "complete": "completed",
         "decline": "declined"}
# Audit event names: data_request_<event>.
_EVENT = {"assign": "assigned", "ask": "question_asked", "answer": "question_answered", "complete": "completed",
          "decline": "declined"}


def assign(user: User, request_id: int, assignee: str | None = None) -> DataRequest:
    """An analyst takes a request (or gives it to another analyst)."""
    _require_analyst(user)
    assignee = (assignee or user.username).strip().lower()
    record = ops.get_user(assignee)
    if record is None or record.role != ANALYST or not record.active:
        raise RequestError(f"{assignee!r} is not an active analyst.")
    return _change(user, request_id, "assign", _FROM["assign"], ASSIGNED,
                   message=f"Assigned to {assignee}", updates={"assigned_to": assignee},
                   audit_extra={"assigned_to": assignee})


def ask_question(user: User, request_id: int, question: str) -> DataRequest:
    _require_analyst(user)
    question = _text(question, "Your question")
    return _change(user, request_id, "ask", _FROM["ask"], QUESTION, message=question)


def answer_question(user: User, request_id: int, answer: str) -> DataRequest:
    """The requester answers the analyst's question; the request goes back to its analyst."""
    answer = _text(answer, "Your answer")
    return _change(user, request_id, "answer", {QUESTION}, ASSIGNED, message=answer)


def complete(user: User, request_id: int, *, link: str | None = None, file_bytes: bytes | None = None,
             file_name: str | None = None, note: str | None = None) -> DataRequest:
    """Close a request with the answer: a file (stored safely) or a link (https only), or both."""
    _require_analyst(user)
    link = (link or "").strip() or None
    if link:
        parsed = urlparse(link)
        if parsed.scheme != "https" or not parsed.netloc or len(link) > 1000:
            raise RequestError("The link must be a full web address starting with https://")
    if not link and not file_bytes:
        raise RequestError("To complete a request, attach a file or give a link to the data.")
    updates = {"result_link": link}
    extra = {"link": link}
    if file_bytes:
        try:
            stored = uploads.store_upload(file_bytes, file_name or "answer", uploads.ANSWER_KINDS, "requests")
        except uploads.UploadError as exc:
            raise RequestError(str(exc)) from None
        updates.update(result_file=stored.path.name, result_file_name=stored.original_name)
        extra.update(file=stored.original_name, sha256=stored.sha256, size_bytes=stored.size_bytes)
    note = _text(note, "Note", required=False) or None
    try:
        return _change(user, request_id, "complete", _FROM["complete"], COMPLETED, message=note,
                       updates=updates, audit_extra=extra)
    except (RequestError, PermissionError):
        if file_bytes:  # the status did not change: do not keep an orphan file
            (config.uploads_dir() / "requests" / updates["result_file"]).unlink(missing_ok=True)
        raise


def decline(user: User, request_id: int, reason: str) -> DataRequest:
    _require_analyst(user)
    reason = _text(reason, "Reason for declining")
    return _change(user, request_id, "decline", _FROM["decline"], DECLINED, message=reason,
                   updates={"decline_reason": reason}, audit_extra={"reason": reason})


def result_file(user: User, request_id: int) -> tuple[bytes, str]:
    """The file that answered a request, for its requester or an analyst (see record_file_download)."""
    request = get(user, request_id)
    with ops.connect() as conn:
        stored = conn.execute("SELECT result_file FROM data_requests WHERE id = ?",
                              (request.id,)).fetchone()["result_file"]
    if not stored:
        raise RequestError("This request has no file attached.")
    path = config.uploads_dir() / "requests" / Path(stored).name
    try:
        data = path.read_bytes()
    except OSError:
        raise RequestError("The file for this request can no longer be found; ask the analyst to send it "
                           "again.") from None
    return data, request.result_file_name or path.name


def record_file_download(user: User, request_id: int) -> None:
    """Audit a download of a request's answer file (called when the download is clicked)."""
    request = get(user, request_id)
    ops.audit("data_request_file_downloaded", user.username,
              {"request_id": request.id, "file": request.result_file_name})
