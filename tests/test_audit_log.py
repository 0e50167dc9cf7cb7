"""Audit log: search, display, append-only storage, and the admin-only page."""
from __future__ import annotations

import re
import sqlite3
from datetime import date, timedelta

import pytest

from portal import config, ops
from portal.journeys import audit_log as journey
from portal.journeys.audit_log import AuditSearch
from portal.roles import ADMIN, ANALYST, COMMISSIONER, GP, User
from tests.apptest_helpers import shown_tables

ADMIN_USER = User("root", "Admin", ADMIN)


@pytest.fixture
def log_entries(tmp_path, monkeypatch):
    if "SEND_PORTAL_DATA_DIR" not in __import__("os").environ:
        monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path))
    ops.audit("login", "gp.a", {"ip": "x"})
    ops.audit("cohort_view", "gp.a", {"cohort_text": "EHCP and asthma", "rows": 12, "practice_code": "P001"})
    ops.audit("cohort_export", "gp.a", {"format": "csv", "rows": 12, "practice_code": "P001"})
    ops.audit("export", "cara", {"table": "waits_100%_done", "rows": 3})
    ops.audit("login_failed", None, {"username": "mallory"})


def _events(criteria: AuditSearch) -> list[str]:
    return list(journey.search(criteria)["event"])


def test_search_by_text_event_user_and_date(log_entries):
    assert _events(AuditSearch()) == ["login_failed", "export", "cohort_export", "cohort_view", "login"]
    assert _events(AuditSearch(text="P001")) == ["cohort_export", "cohort_view"]
    assert _events(AuditSearch(text="mallory")) == ["login_failed"]
    assert _events(AuditSearch(events=("cohort_view", "cohort_export"))) == ["cohort_export", "cohort_view"]
    assert _events(AuditSearch(username="GP.A ")) == ["cohort_export", "cohort_view", "login"]
    today = date.today()
    assert len(_events(AuditSearch(since=today, until=today))) == 5
    assert _events(AuditSearch(until=today - timedelta(days=1))) == []
    assert _events(AuditSearch(since=today + timedelta(days=1))) == []


def test_search_text_is_data_not_a_pattern_or_sql(log_entries):
    assert _events(AuditSearch(text="100%")) == ["export"]
    assert _events(AuditSearch(text="%")) == ["export"]  # a literal percent sign, not "anything"
    assert _events(AuditSearch(text="_")) == ["login_failed", "export", "cohort_export", "cohort_view"]  # not "any one"
    assert _events(AuditSearch(text="' OR 1=1 --")) == []
    assert len(_events(AuditSearch())) == 5  # and nothing was harmed


def test_display_summary_and_chart_figures(log_entries):
    found = journey.search(AuditSearch())
    table = journey.display_table(found)
    assert list(table.columns) == journey.TABLE_COLUMNS
    assert list(table["Event"])[:3] == ["Failed sign-in", "Table downloaded", "GP cohort list downloaded"]
    assert table["User"].iloc[0] == "(system)"
    assert "rows: 12" in table["Details"].iloc[2]
    counts = journey.daily_counts(found)
    assert counts["Entries"].sum() == 5
    text = journey.summary(found, capped=False)
    assert text.startswith(f"5 entries match, from {date.today():%d %B %Y}")
    assert "viewed 1 time and downloaded 1 time, by 1 user" in text
    assert journey.summary(found.iloc[0:0], capped=False) == "No audit entries match this search."


def test_the_log_is_append_only_in_the_database(log_entries):
    conn = sqlite3.connect(config.ops_db_path())
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_log SET username = 'someone-else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    finally:
        conn.close()
    assert len(_events(AuditSearch())) == 5


def test_no_portal_code_edits_or_deletes_audit_entries():
    pattern = re.compile(r"(UPDATE\s+audit_log|DELETE\s+FROM\s+audit_log|DROP\s+TABLE\s+audit_log)", re.I)
    offenders = [str(path.relative_to(config.REPO_ROOT))
                 for folder in ("portal", "pages") for path in (config.REPO_ROOT / folder).rglob("*.py")
                 if pattern.search(path.read_text())]
    # ops.py names the statements only inside the triggers that refuse them
    assert offenders == [] or offenders == ["portal/ops.py"] and "RAISE(ABORT" in (
        config.REPO_ROOT / "portal" / "ops.py").read_text()


# --- the page (AppTest) -------------------------------------------------------------------------------------

PAGE = str(config.PAGES_DIR / "audit_log.py")


def _page(user):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["portal_user"] = user
    return at.run()


def test_admin_page_lists_searches_and_charts(tiny_marts, log_entries):
    at = _page(ADMIN_USER)
    assert not at.exception
    table = shown_tables(at)[0]
    assert len(table) == 5 and len(at.get("arrow_vega_lite_chart")) == 1
    assert [b.proto.label for b in at.get("download_button")] == [
        "Download CSV: Audit entries", "Download Excel: Audit entries"]
    at.text_input(key="audit_text").input("P001")
    next(b for b in at.button if b.proto.label == "Search").click()
    at.run()
    assert list(shown_tables(at)[0]["Event"]) == ["GP cohort list downloaded", "GP cohort list viewed"]
    assert any(m.value.startswith("2 entries match") for m in at.markdown)
    # nothing on the page offers to change the log
    assert not [b for b in at.main.button if re.search(r"delete|edit|remove|clear", b.proto.label, re.I)]


@pytest.mark.parametrize("role", [COMMISSIONER, ANALYST, GP])
def test_other_roles_cannot_open_the_audit_log(tiny_marts, log_entries, role):
    from portal import navigation

    assert "audit-log" not in [p.url_path for p in navigation.pages_for(role)]
    at = _page(User("someone", "Someone", role, practice_code="P001" if role == GP else None))
    assert not shown_tables(at) and any("only for platform administrators" in e.value for e in at.error)


def test_command_line_exports_the_same_search_and_records_it(log_entries, capsys):
    import csv
    import io
    import json

    from portal.cli import main

    assert main(["audit", "--text", "P001", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["Event"] for r in rows] == ["GP cohort list downloaded", "GP cohort list viewed"]
    assert main(["audit", "--event", "login_failed", "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["event"], line["detail"]) for line in lines] == [("login_failed", {"username": "mallory"})]
    exports = ops.audit_events(event="export")
    assert [e["detail"]["format"] for e in exports[:2]] == ["jsonl", "csv"]
    assert exports[0]["detail"]["via"] == "command line"
