"""Sign-in, sign-out, lockout and server-side sessions: the user store (portal.ops) and the app (AppTest)."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from portal import auth, config, ops
from portal.roles import ANALYST, COMMISSIONER, GP

APP = str(config.REPO_ROOT / "portal" / "app.py")


def login_form(at: AppTest) -> dict:
    return {box.label: box for box in at.text_input}


def submit(at: AppTest, username: str, password: str) -> AppTest:
    fields = login_form(at)
    fields["Username"].input(username)
    fields["Password"].input(password)
    next(button for button in at.button if button.label == "Sign in").click().run()
    return at


def signed_in(username: str, password: str) -> AppTest:
    at = submit(AppTest.from_file(APP, default_timeout=60).run(), username, password)
    return at.run()


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# --- the user store ----------------------------------------------------------------------------------

def test_passwords_are_stored_hashed(portal_users):
    record = ops.get_user(portal_users[COMMISSIONER])
    assert record.password_hash.startswith("$2")
    assert portal_users.password not in record.password_hash
    assert ops.check_password(portal_users.password, record.password_hash)
    assert not ops.check_password("wrong-password", record.password_hash)


def test_user_rules(portal_users):
    with pytest.raises(ops.UserError):
        ops.add_user("short", "too-short", COMMISSIONER)
    with pytest.raises(ops.UserError):
        ops.add_user("gp-without-practice", "long-enough-pass", GP)
    with pytest.raises(ops.UserError):
        ops.add_user(portal_users[ANALYST].upper(), "long-enough-pass", ANALYST)  # usernames ignore case
    with pytest.raises(ops.UserError):
        ops.add_user("robert'); DROP TABLE users;--", "long-enough-pass", ANALYST)
    assert len(ops.list_users()) == len(portal_users)


def test_lockout_after_repeated_failures_then_expires(portal_users):
    username = portal_users[ANALYST]
    start = ops.utcnow()
    for attempt in range(ops.LOCKOUT_THRESHOLD - 1):
        assert ops.record_failed_login(username, now=start) is False
    assert ops.record_failed_login(username, now=start) is True
    assert ops.get_user(username).is_locked(start + timedelta(minutes=ops.LOCKOUT_MINUTES - 1))
    assert not ops.get_user(username).is_locked(start + timedelta(minutes=ops.LOCKOUT_MINUTES + 1))
    # After the lock runs out the count starts again from zero.
    assert ops.record_failed_login(username, now=start + timedelta(minutes=ops.LOCKOUT_MINUTES + 1)) is False
    events = [e["event"] for e in ops.audit_events(username=username)]
    assert "account_locked" in events


@pytest.mark.parametrize("change", ["disable", "password", "role"])
def test_account_changes_end_open_sessions(portal_users, change):
    username = portal_users[COMMISSIONER]
    session = ops.create_session(username, "binding")
    assert ops.validate_session(session.session_id).username == username
    if change == "disable":
        ops.set_active(username, False)
    elif change == "password":
        ops.set_password(username, "a-brand-new-password")
    else:
        ops.set_role(username, ANALYST)
    assert ops.validate_session(session.session_id) is None
    assert ops.get_session(session.session_id).revoked_at is not None


def test_sessions_expire(portal_users):
    session = ops.create_session(portal_users[COMMISSIONER], "binding", hours=1)
    assert ops.validate_session(session.session_id, now=ops.utcnow() + timedelta(minutes=59))
    assert ops.validate_session(session.session_id, now=ops.utcnow() + timedelta(minutes=61)) is None


def test_audit_log_is_append_only(portal_users):
    ops.audit("export", portal_users[GP], {"rows": 3})
    with sqlite3.connect(config.ops_db_path()) as conn:
        for statement in ("UPDATE audit_log SET event = 'nothing'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
    assert ops.audit_events(event="export")[0]["detail"] == {"rows": 3}


def test_migrations_run_once_in_order(portal_users):
    assert ops.schema_version() == len(ops.MIGRATIONS)
    ops._migrated.clear()  # a new process opening the same file
    assert ops.schema_version() == len(ops.MIGRATIONS)


# --- the app -----------------------------------------------------------------------------------------

def test_sign_in_puts_the_server_side_user_in_session_state(tiny_marts, portal_users):
    at = signed_in(portal_users[GP], portal_users.password)
    assert not at.exception
    user = at.session_state["portal_user"]
    assert (user.username, user.role, user.practice_code) == (portal_users[GP], GP, "P001")
    assert login_form(at) == {}
    assert ops.audit_events(event="login", username=portal_users[GP])


def test_wrong_password_is_refused_with_a_clear_message(tiny_marts, portal_users):
    at = submit(AppTest.from_file(APP, default_timeout=60).run(), portal_users[GP], "not-the-password")
    assert not at.exception
    assert errors(at) == [auth.WRONG_CREDENTIALS]
    assert "portal_user" not in at.session_state
    assert ops.audit_events(event="login_failed", username=portal_users[GP])[0]["detail"] == {
        "reason": "wrong password"}
    at = submit(at, "nobody-at-all", "whatever-it-is")
    assert errors(at) == [auth.WRONG_CREDENTIALS]


def test_repeated_failures_lock_the_account_even_for_the_right_password(tiny_marts, portal_users):
    username = portal_users[COMMISSIONER]
    at = AppTest.from_file(APP, default_timeout=60).run()
    for attempt in range(ops.LOCKOUT_THRESHOLD):
        submit(at, username, f"wrong-{attempt}")
    assert errors(at) == [auth.LOCKED.format(minutes=ops.LOCKOUT_MINUTES)]
    submit(at, username, portal_users.password)
    assert "portal_user" not in at.session_state
    assert errors(at) == [auth.LOCKED.format(minutes=ops.LOCKOUT_MINUTES)]
    ops.set_active(username, True)  # an administrator unlocks it
    submit(at, username, portal_users.password)
    assert at.session_state["portal_user"].username == username


def test_sign_out_returns_to_the_form_and_revokes_the_session(tiny_marts, portal_users):
    at = signed_in(portal_users[ANALYST], portal_users.password)
    session_id = at.session_state[auth.SESSION_ID_KEY]
    at.button(key="portal-sign-out").click().run()
    assert not at.exception
    assert "Username" in login_form(at)
    assert "portal_user" not in at.session_state
    assert ops.get_session(session_id).revoked_at is not None
    assert "You have signed out." in [i.value for i in at.info]


@pytest.mark.parametrize("change", ["disable", "password", "role"])
def test_account_changes_take_effect_on_the_next_run(tiny_marts, portal_users, change):
    username = portal_users[COMMISSIONER]
    at = signed_in(username, portal_users.password)
    assert at.session_state["portal_user"].role == COMMISSIONER
    if change == "disable":
        ops.set_active(username, False)
    elif change == "password":
        ops.set_password(username, "a-brand-new-password")
    else:
        ops.set_role(username, ANALYST)
    at.run()
    assert not at.exception
    assert "portal_user" not in at.session_state
    assert "Username" in login_form(at)
    assert auth.SESSION_ENDED in [i.value for i in at.info]
    if change == "role":
        submit(at, username, portal_users.password)
        assert at.session_state["portal_user"].role == ANALYST
