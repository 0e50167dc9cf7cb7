"""GP cohort finder: a cohort definition, the named query it runs, saved definitions, and the audit trail.

A GP builds a cohort from SEND status, coded conditions and "no <event> recorded in the last N months".
The definition becomes the parameters of the named query ``gp_cohort`` (queries/gp_cohort.yaml); the
query runner binds the user's own practice from the server-side ``User`` (scope: practice), so nothing the
browser sends can widen the list to another practice.

Every view of the list and every export is written to the audit log with the user, the cohort definition,
the filters in force and the number of rows (SPEC §5).
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone

from portal import ops
from portal.roles import GP, User

QUERY_NAME = "gp_cohort"

# SEND status choices: the labels a GP sees are the values the query accepts.
SEND_ANY = "Any"
SEND_CHOICES = (SEND_ANY, "EHCP", "SEN support", "EHCP or SEN support", "No SEND")

# Coded conditions (GP event concepts from the GP feed's code lists) a cohort can require.
CONDITIONS = {
    "asthma": "Asthma",
    "obesity": "Obesity",
    "autism": "Autism",
    "adhd": "ADHD",
}
# Events that can be "not recorded in the last N months".
EVENTS = {
    "asthma_review": "Asthma review",
    "asthma_monitoring": "Asthma monitoring",
    "consultation": "GP consultation",
    **CONDITIONS,
}
MAX_CONDITIONS = len(CONDITIONS)
MONTH_CHOICES = (3, 6, 12, 18, 24, 36)

# The query's output columns and the labels the page shows for them.
LIST_COLUMNS = {
    "nhs_number": "NHS number",
    "name": "Name",
    "date_of_birth": "Date of birth",
    "age": "Age",
    "send_status": "SEND status",
    "last_event": "Last relevant event",
    "last_event_date": "Date of last relevant event",
}


class CohortError(ValueError):
    """A cohort definition that cannot be run; the message is safe to show to the user."""


@dataclass(frozen=True)
class CohortDefinition:
    send_status: str = "EHCP"
    conditions: tuple[str, ...] = ()
    no_event: str | None = None
    no_event_months: int = 12

    def __post_init__(self):
        if self.send_status not in SEND_CHOICES:
            raise CohortError(f"Choose a SEND status from: {', '.join(SEND_CHOICES)}.")
        conditions = tuple(dict.fromkeys(self.conditions))  # keep order, drop repeats
        unknown = [c for c in conditions if c not in CONDITIONS]
        if unknown:
            raise CohortError(f"Unknown condition {unknown[0]!r}; choose from: {', '.join(CONDITIONS)}.")
        if len(conditions) > MAX_CONDITIONS:
            raise CohortError(f"Choose at most {MAX_CONDITIONS} conditions.")
        object.__setattr__(self, "conditions", conditions)
        if self.no_event is not None and self.no_event not in EVENTS:
            raise CohortError(f"Unknown event {self.no_event!r}; choose from: {', '.join(EVENTS)}.")
        if self.no_event_months not in MONTH_CHOICES:
            raise CohortError(f"Choose a number of months from: {', '.join(map(str, MONTH_CHOICES))}.")

    @classmethod
    def from_dict(cls, data: dict) -> "CohortDefinition":
        """Rebuild a definition (from a saved one, or from the audit log); validated like a new one."""
        try:
            return cls(
                send_status=str(data.get("send_status", "EHCP")),
                conditions=tuple(str(c) for c in data.get("conditions", ()) or ()),
                no_event=(str(data["no_event"]) if data.get("no_event") else None),
                no_event_months=int(data.get("no_event_months", 12)),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, CohortError):
                raise
            raise CohortError("That saved cohort definition is not valid any more.") from exc

    def to_dict(self) -> dict:
        data = asdict(self)
        data["conditions"] = list(self.conditions)
        return data

    def query_params(self) -> dict:
        """The ``gp_cohort`` query's parameters (the practice is never one: the runner binds it)."""
        return {"cohort_send_status": self.send_status, "conditions": list(self.conditions),
                "no_event": self.no_event or "none", "no_event_months": self.no_event_months}

    def describe(self) -> str:
        """The definition in plain English, e.g. 'children and young people with an EHCP, with asthma,
        and no asthma review recorded in the last 12 months'."""
        clauses = [_SEND_PHRASES[self.send_status]]
        if self.conditions:
            clauses.append("with " + _join_and([_PHRASES[c] for c in self.conditions]))
        if self.no_event:
            clauses.append(f"no {_PHRASES[self.no_event]} recorded in the last {self.no_event_months} months")
        if len(clauses) == 1:
            return clauses[0]
        return ", ".join(clauses[:-1]) + (", and " if len(clauses) > 2 else ", ") + clauses[-1]

    def relevant_event_label(self) -> str:
        """What the 'last relevant event' column holds, as in 'time since their last asthma review'."""
        if self.no_event:
            return f"their last {_PHRASES[self.no_event]}"
        if self.conditions:
            return "their last record of " + _join_and([_PHRASES[c] for c in self.conditions]).replace(" and ", " or ")
        return "their last record of asthma, obesity, autism, ADHD, or an asthma review or monitoring"


_SEND_PHRASES = {
    SEND_ANY: "children and young people",
    "EHCP": "children and young people with an EHCP",
    "SEN support": "children and young people on SEN support",
    "EHCP or SEN support": "children and young people with an EHCP or on SEN support",
    "No SEND": "children and young people with no recorded SEND",
}
# How each concept reads inside a sentence.
_PHRASES = {concept: (label if label[:2].isupper() else label[0].lower() + label[1:])
            for concept, label in EVENTS.items()}


def _join_and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- running the cohort and auditing it -------------------------------------------------------------

def require_gp(user: User) -> None:
    """The cohort finder is for GP practice users of one practice only (checked again in the runner)."""
    if user is None or user.role != GP or not user.practice_code:
        raise PermissionError("The GP cohort finder is only for GP practice users.")


def audit_detail(definition: CohortDefinition, user: User, rows: int, filters: dict | None = None,
                 **extra) -> dict:
    detail = {
        "cohort": definition.to_dict(),
        "cohort_text": definition.describe(),
        "practice_code": user.practice_code,
        "rows": int(rows),
        "filters": _filter_values(filters),
    }
    detail.update(extra)
    return detail


def _filter_values(filters) -> dict:
    """The global filters in force, as their URL values (a Filters object or a plain dict)."""
    if filters is None:
        return {}
    if hasattr(filters, "as_query_params"):
        return filters.as_query_params()
    return {k: v for k, v in dict(filters).items() if v not in (None, "", [], ())}


def record_view(user: User, definition: CohortDefinition, rows: int, filters: dict | None = None) -> None:
    """Audit one showing of the identifiable list."""
    ops.audit("cohort_view", user.username, audit_detail(definition, user, rows, filters))


def record_export(user: User, definition: CohortDefinition, rows: int, file_format: str,
                  filters: dict | None = None) -> None:
    """Audit one download of the identifiable list."""
    ops.audit("cohort_export", user.username,
              audit_detail(definition, user, rows, filters, format=file_format))


def run_cohort(user: User, definition: CohortDefinition, filters: dict | None = None, *, audit: bool = True):
    """Run the cohort for the user's own practice and (by default) audit the view.

    Returns the runner's QueryResult; ``result.df`` holds the list with identifiers."""
    from portal import queries  # the runner imports the marts; keep this module light to import

    require_gp(user)
    result = queries.run(QUERY_NAME, user, filters or {}, **definition.query_params())
    if audit:
        record_view(user, definition, len(result.df), filters)
    return result


# --- saved definitions -------------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[\w .,&()'/-]{1,80}$")


@dataclass(frozen=True)
class SavedCohort:
    id: int
    name: str
    definition: CohortDefinition
    practice_code: str
    created_by: str
    created_at: str = field(default="")


def save_definition(user: User, name: str, definition: CohortDefinition) -> SavedCohort:
    """Save (or replace) a named definition for the user's practice, so colleagues can reuse it."""
    require_gp(user)
    name = " ".join((name or "").split())
    if not _NAME_RE.match(name):
        raise CohortError("Give the cohort a name of 1 to 80 letters, numbers and simple punctuation.")
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with ops.connect() as conn:
        conn.execute(
            "INSERT INTO saved_cohorts (practice_code, name, definition, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (practice_code, name) DO UPDATE SET definition = excluded.definition,"
            " created_by = excluded.created_by, created_at = excluded.created_at",
            (user.practice_code, name, json.dumps(definition.to_dict(), sort_keys=True), user.username, now))
    ops.audit("cohort_saved", user.username, {"name": name, "cohort": definition.to_dict(),
                                              "practice_code": user.practice_code})
    return next(s for s in saved_definitions(user) if s.name == name)


def saved_definitions(user: User) -> list[SavedCohort]:
    """The saved definitions of the user's own practice, newest first; unreadable ones are skipped."""
    require_gp(user)
    with ops.connect() as conn:
        rows = conn.execute(
            "SELECT id, practice_code, name, definition, created_by, created_at FROM saved_cohorts"
            " WHERE practice_code = ? ORDER BY created_at DESC, id DESC", (user.practice_code,)).fetchall()
    saved = []
    for row in rows:
        try:
            definition = CohortDefinition.from_dict(json.loads(row["definition"]))
        except (CohortError, ValueError):
            continue
        saved.append(SavedCohort(row["id"], row["name"], definition, row["practice_code"],
                                 row["created_by"], row["created_at"]))
    return saved


def delete_definition(user: User, saved_id: int) -> bool:
    """Remove a saved definition of the user's own practice (the audit log keeps what was run)."""
    require_gp(user)
    with ops.connect() as conn:
        cur = conn.execute("DELETE FROM saved_cohorts WHERE id = ? AND practice_code = ?",
                           (int(saved_id), user.practice_code))
        deleted = cur.rowcount > 0
    if deleted:
        ops.audit("cohort_deleted", user.username, {"id": int(saved_id), "practice_code": user.practice_code})
    return deleted


def as_of_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
