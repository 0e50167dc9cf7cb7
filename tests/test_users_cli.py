"""`python -m portal users ...` run as a real command against a real user store."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from portal import config, ops

PASSWORD = "a-long-enough-password"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def users(*args: str, password: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "portal", "users", *args], input=(password + "\n") if password else None,
        capture_output=True, text=True, cwd=config.REPO_ROOT, env=os.environ.copy(), timeout=120)


def test_add_list_and_store_hashed(data_dir):
    result = users("add", "Dr.Patel", "--role", "gp", "--practice", "P001", "--name", "Dr Patel",
                   "--password-stdin", password=PASSWORD)
    assert result.returncode == 0, result.stderr
    listing = users("list")
    assert listing.returncode == 0
    line = next(line for line in listing.stdout.splitlines() if line.startswith("dr.patel"))
    assert "gp" in line and "P001" in line and "active" in line
    with sqlite3.connect(data_dir / "ops" / "portal.sqlite") as conn:
        stored, = conn.execute("SELECT password_hash FROM users WHERE username = 'dr.patel'").fetchone()
    assert stored.startswith("$2") and PASSWORD not in stored
    assert ops.check_password(PASSWORD, stored)


@pytest.mark.parametrize("args, message", [
    (("add", "x", "--role", "gp", "--password-stdin"), "practice"),
    (("add", "x", "--role", "clinician", "--service", "ASD", "--password-stdin"), "locality"),
    (("set-password", "nobody", "--password-stdin"), "no user"),
    (("disable", "nobody"), "no user"),
])
def test_bad_requests_fail_with_a_message_not_a_trace(data_dir, args, message):
    result = users(*args, password=PASSWORD)
    assert result.returncode == 1
    assert message in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_short_password_and_duplicate_user_are_refused(data_dir):
    assert users("add", "ann", "--role", "analyst", "--password-stdin", password="short").returncode == 1
    assert users("add", "ann", "--role", "analyst", "--password-stdin", password=PASSWORD).returncode == 0
    again = users("add", "ANN", "--role", "analyst", "--password-stdin", password=PASSWORD)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_disable_enable_set_role_and_set_password_end_sessions(data_dir):
    assert users("add", "cara", "--role", "commissioner", "--password-stdin", password=PASSWORD).returncode == 0
    for action in (("disable", "cara"), ("set-role", "cara", "analyst"),
                   ("set-password", "cara", "--password-stdin")):
        session = ops.create_session("cara", "binding")
        result = users(*action, password="another-long-password")
        assert result.returncode == 0, result.stderr
        assert ops.get_session(session.session_id).revoked_at is not None
        if action[0] == "disable":
            assert "disabled" in users("list").stdout
            assert users("enable", "cara").returncode == 0
    record = ops.get_user("cara")
    assert record.role == "analyst" and record.active
    assert ops.check_password("another-long-password", record.password_hash)
    events = [e["event"] for e in ops.audit_events(limit=20)]
    assert {"user_added", "user_disabled", "user_enabled", "role_changed", "password_changed"} <= set(events)


def test_set_role_to_clinician_needs_service_and_locality(data_dir):
    assert users("add", "sam", "--role", "commissioner", "--password-stdin", password=PASSWORD).returncode == 0
    assert users("set-role", "sam", "clinician").returncode == 1
    result = users("set-role", "sam", "clinician", "--service", "ASD", "--locality", "Northfield")
    assert result.returncode == 0
    record = ops.get_user("sam")
    assert (record.role, record.service, record.locality) == ("clinician", "ASD", "Northfield")
