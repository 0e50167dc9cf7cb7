"""The operational database: users, server-side sessions, the audit log (and, later, data requests).

One SQLite file at ``config.ops_db_path()``, outside the repository. WAL mode and a busy timeout let the
running portal and the command line use it at the same time.

Schema changes are an ordered list of migrations (``MIGRATIONS``); the database's ``user_version`` says
how many have run. To change the schema, append a new ``(name, sql)`` entry at the end; never edit or
reorder an entry that has shipped.

The audit log is append-only: triggers refuse UPDATE and DELETE on it.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bcrypt

from portal import config
from portal.roles import CLINICIAN, GP, ROLES, User

# Repeated failed sign-ins lock the account for a while (SPEC §5).
LOCKOUT_THRESHOLD = 5
LOCKOUT_MINUTES = 15
SESSION_HOURS = 12
MIN_PASSWORD_LENGTH = 10
BCRYPT_ROUNDS = 12

MIGRATIONS: list[tuple[str, str]] = [
    (
        "users, sessions and the append-only audit log",
        """
        CREATE TABLE users (
            username        TEXT PRIMARY KEY,
            name            TEXT NOT NULL,
            role            TEXT NOT NULL,
            practice_code   TEXT,
            service         TEXT,
            locality        TEXT,
            password_hash   TEXT NOT NULL,
            active          INTEGER NOT NULL DEFAULT 1,
            demo            INTEGER NOT NULL DEFAULT 0,
            failed_attempts INTEGER NOT NULL DEFAULT 0,
            locked_until    TEXT,
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );
        CREATE TABLE sessions (
            session_id      TEXT PRIMARY KEY,
            username        TEXT NOT NULL REFERENCES users(username),
            cookie_binding  TEXT NOT NULL,
            created_at      TEXT NOT NULL,
            expires_at      TEXT NOT NULL,
            revoked_at      TEXT,
            revoked_reason  TEXT
        );
        CREATE INDEX sessions_by_binding ON sessions(username, cookie_binding);
        CREATE TABLE audit_log (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            at        TEXT NOT NULL,
            event     TEXT NOT NULL,
            username  TEXT,
            detail    TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_by_time ON audit_log(at);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """,
    ),
    (
        "saved GP cohorts, data requests with their history, browser uploads",
        """
        CREATE TABLE saved_cohorts (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            practice_code TEXT NOT NULL,
            name          TEXT NOT NULL,
            definition    TEXT NOT NULL,
            created_by    TEXT NOT NULL,
            created_at    TEXT NOT NULL,
            UNIQUE (practice_code, name)
        );
        CREATE TABLE data_requests (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            requester      TEXT NOT NULL,
            what           TEXT NOT NULL,
            why            TEXT NOT NULL,
            needed_by      TEXT NOT NULL,
            area           TEXT NOT NULL,
            group_label    TEXT NOT NULL,
            identifiable   INTEGER NOT NULL DEFAULT 0,
            legal_basis    TEXT,
            status         TEXT NOT NULL,
            assigned_to    TEXT,
            result_link    TEXT,
            result_file    TEXT,
            result_file_name TEXT,
            decline_reason TEXT,
            created_at     TEXT NOT NULL,
            updated_at     TEXT NOT NULL
        );
        CREATE INDEX data_requests_by_requester ON data_requests(requester);
        CREATE TABLE data_request_events (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id  INTEGER NOT NULL REFERENCES data_requests(id),
            at          TEXT NOT NULL,
            username    TEXT NOT NULL,
            action      TEXT NOT NULL,
            from_status TEXT,
            to_status   TEXT NOT NULL,
            message     TEXT
        );
        CREATE INDEX data_request_events_by_request ON data_request_events(request_id);
        CREATE TABLE uploads (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            stored_name   TEXT NOT NULL UNIQUE,
            original_name TEXT NOT NULL,
            feed          TEXT NOT NULL,
            size_bytes    INTEGER NOT NULL,
            sha256        TEXT NOT NULL,
            uploaded_by   TEXT NOT NULL,
            uploaded_at   TEXT NOT NULL,
            status        TEXT NOT NULL,
            message       TEXT,
            report        TEXT NOT NULL DEFAULT '{}',
            mart_version  TEXT
        );
        """,
    ),
]


class UserError(ValueError):
    """A user-management request that cannot be carried out; the message is safe to show."""


@dataclass(frozen=True)
class UserRecord:
    username: str
    name: str
    role: str
    practice_code: str | None
    service: str | None
    locality: str | None
    password_hash: str
    active: bool
    demo: bool
    failed_attempts: int
    locked_until: datetime | None

    def to_user(self) -> User:
        return User(self.username, self.name, self.role, self.practice_code, self.service, self.locality)

    def is_locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())


@dataclass(frozen=True)
class Session:
    session_id: str
    username: str
    cookie_binding: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _ts(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _parse_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- connection and migrations -------------------------------------------------------------------

_migrated: set[tuple[str, int]] = set()
_migrate_lock = threading.Lock()


@contextmanager
def connect(path: Path | None = None, readonly: bool = False):
    """A connection in WAL mode; commits on success, rolls back on error, always closes.

    Writers take the write lock up front (BEGIN IMMEDIATE) so two writers never deadlock; ``readonly``
    callers start a plain transaction, which in WAL mode never waits for a writer (every page run
    validates its session this way). Readers reuse a few open connections instead of opening the file
    and setting it up each time (316 µs a check, 25 µs reused); each read is still its own transaction,
    so it sees every change committed before it."""
    path = path or config.ops_db_path()
    conn = _take_reader(path) if readonly else None
    if conn is None:
        conn = _open(path, shared=readonly)
    finished = False
    try:
        conn.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        finished = True
    finally:
        if not (readonly and finished and _give_back_reader(path, conn)):
            conn.close()


def _open(path: Path, shared: bool = False) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # shared: a pooled reader is used by one thread at a time, but not always the thread that opened it
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=not shared)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


# Idle read connections to one database file, identified by path and inode (a deleted and recreated file
# is a new database). Only the file last used is kept, so tests that switch files leave nothing open.
_READERS_KEPT = 4
_readers: list[sqlite3.Connection] = []
_readers_file: tuple[str, int] | None = None
_readers_lock = threading.Lock()


def _file_identity(path: Path) -> tuple[str, int] | None:
    try:
        return str(path.absolute()), path.stat().st_ino
    except FileNotFoundError:
        return None


def _take_reader(path: Path) -> sqlite3.Connection | None:
    identity = _file_identity(path)
    with _readers_lock:
        if identity is not None and identity == _readers_file and _readers:
            return _readers.pop()
    return None


def _give_back_reader(path: Path, conn: sqlite3.Connection) -> bool:
    """Keep ``conn`` for the next reader of ``path``; False if it should be closed instead."""
    global _readers_file
    identity = _file_identity(path)
    if identity is None:
        return False
    stale = []
    with _readers_lock:
        if identity != _readers_file:
            stale, _readers[:] = _readers[:], []
            _readers_file = identity
        kept = len(_readers) < _READERS_KEPT
        if kept:
            _readers.append(conn)
    for old in stale:
        old.close()
    return kept


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    # absolute(), not resolve(): a second name for the same file only costs one more (idempotent) look at
    # its schema version. The inode: a database deleted and made again is new and empty.
    key = _file_identity(path)
    if key in _migrated:
        return
    with _migrate_lock:
        conn.execute("BEGIN IMMEDIATE")  # serialises migrations across processes
        try:
            done = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, (_name, sql) in enumerate(MIGRATIONS, start=1):
                if number > done:
                    for statement in _split_sql(sql):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number}")  # an int from enumerate
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        _migrated.add(key)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN ... END;) whole."""
    statements, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


def schema_version(path: Path | None = None) -> int:
    with connect(path, readonly=True) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


# --- passwords -----------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")


# --- users ---------------------------------------------------------------------------------------

def normalise_username(username: str) -> str:
    # streamlit-authenticator lower-cases and strips what is typed, so the store does the same.
    name = (username or "").strip().lower()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise UserError("A username is 1-64 letters, digits or . _ - @ characters.")
    return name


def _check_scope(role: str, practice_code: str | None, service: str | None, locality: str | None) -> None:
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
    if role == GP and not practice_code:
        raise UserError("A gp user belongs to one practice: give --practice CODE.")
    if role == CLINICIAN and not (service and locality):
        raise UserError("A clinician belongs to one service and locality: give --service and --locality.")


def _row_to_user(row: sqlite3.Row) -> UserRecord:
    return UserRecord(
        username=row["username"], name=row["name"], role=row["role"],
        practice_code=row["practice_code"], service=row["service"], locality=row["locality"],
        password_hash=row["password_hash"], active=bool(row["active"]), demo=bool(row["demo"]),
        failed_attempts=row["failed_attempts"], locked_until=_parse_ts(row["locked_until"]),
    )


def add_user(username: str, password: str, role: str, name: str | None = None, *,
             practice_code: str | None = None, service: str | None = None, locality: str | None = None,
             demo: bool = False, path: Path | None = None) -> UserRecord:
    username = normalise_username(username)
    validate_password(password)
    _check_scope(role, practice_code, service, locality)
    now = _ts(utcnow())
    with connect(path) as conn:
        if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
            raise UserError(f"A user called {username!r} already exists.")
        conn.execute(
            "INSERT INTO users (username, name, role, practice_code, service, locality, password_hash,"
            " active, demo, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (username, name or username, role,
             practice_code if role == GP else None,
             service if role == CLINICIAN else None,
             locality if role == CLINICIAN else None,
             hash_password(password), int(demo), now, now),
        )
    audit("user_added", None, {"user": username, "role": role, "demo": demo}, path=path)
    return get_user(username, path=path)


def get_user(username: str, path: Path | None = None) -> UserRecord | None:
    try:
        username = normalise_username(username)
    except UserError:
        return None
    with connect(path, readonly=True) as conn:
        row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    return _row_to_user(row) if row else None


def list_users(path: Path | None = None) -> list[UserRecord]:
    with connect(path, readonly=True) as conn:
        rows = conn.execute("SELECT * FROM users ORDER BY username").fetchall()
    return [_row_to_user(row) for row in rows]


def _require_user(conn: sqlite3.Connection, username: str) -> str:
    username = normalise_username(username)
    if not conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
        raise UserError(f"There is no user called {username!r}.")
    return username


def set_password(username: str, password: str, path: Path | None = None) -> None:
    validate_password(password)
    with connect(path) as conn:
        username = _require_user(conn, username)
        conn.execute(
            "UPDATE users SET password_hash = ?, failed_attempts = 0, locked_until = NULL, updated_at = ?"
            " WHERE username = ?", (hash_password(password), _ts(utcnow()), username))
        _revoke_user_sessions(conn, username, "password changed")
    audit("password_changed", None, {"user": username}, path=path)


def set_role(username: str, role: str, *, practice_code: str | None = None, service: str | None = None,
             locality: str | None = None, path: Path | None = None) -> None:
    _check_scope(role, practice_code, service, locality)
    with connect(path) as conn:
        username = _require_user(conn, username)
        conn.execute(
            "UPDATE users SET role = ?, practice_code = ?, service = ?, locality = ?, updated_at = ?"
            " WHERE username = ?",
            (role, practice_code if role == GP else None, service if role == CLINICIAN else None,
             locality if role == CLINICIAN else None, _ts(utcnow()), username))
        _revoke_user_sessions(conn, username, "role changed")
    audit("role_changed", None, {"user": username, "role": role}, path=path)


def set_active(username: str, active: bool, path: Path | None = None) -> None:
    with connect(path) as conn:
        username = _require_user(conn, username)
        conn.execute("UPDATE users SET active = ?, failed_attempts = 0, locked_until = NULL, updated_at = ?"
                     " WHERE username = ?", (int(active), _ts(utcnow()), username))
        if not active:
            _revoke_user_sessions(conn, username, "user disabled")
    audit("user_enabled" if active else "user_disabled", None, {"user": username}, path=path)


def record_failed_login(username: str, now: datetime | None = None, path: Path | None = None) -> bool:
    """Count a failed sign-in; lock the account once the threshold is reached. True if now locked."""
    now = now or utcnow()
    with connect(path) as conn:
        row = conn.execute("SELECT failed_attempts, locked_until FROM users WHERE username = ?",
                           (username,)).fetchone()
        if row is None:
            return False
        locked_until = _parse_ts(row["locked_until"])
        if locked_until and locked_until > now:
            return True
        # A lock that has run out starts a fresh count.
        attempts = (0 if locked_until else row["failed_attempts"]) + 1
        lock = now + timedelta(minutes=LOCKOUT_MINUTES) if attempts >= LOCKOUT_THRESHOLD else None
        conn.execute("UPDATE users SET failed_attempts = ?, locked_until = ? WHERE username = ?",
                     (0 if lock else attempts, _ts(lock) if lock else None, username))
    if lock:
        audit("account_locked", username, {"minutes": LOCKOUT_MINUTES, "after_failures": attempts}, path=path)
    return lock is not None


def clear_failed_logins(username: str, path: Path | None = None) -> None:
    with connect(path) as conn:
        conn.execute("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE username = ?",
                     (username,))


# --- sessions ------------------------------------------------------------------------------------

def create_session(username: str, cookie_binding: str, hours: float = SESSION_HOURS,
                   path: Path | None = None) -> Session:
    """Record a signed-in session bound to the login cookie the browser was given."""
    now = utcnow()
    session_id = secrets.token_urlsafe(32)
    with connect(path) as conn:
        conn.execute(
            "INSERT INTO sessions (session_id, username, cookie_binding, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (session_id, username, cookie_binding, _ts(now), _ts(now + timedelta(hours=hours))))
    return Session(session_id, username, cookie_binding, now, now + timedelta(hours=hours), None)


def find_session_by_cookie(username: str, cookie_binding: str, path: Path | None = None) -> Session | None:
    with connect(path, readonly=True) as conn:
        row = conn.execute(
            "SELECT * FROM sessions WHERE username = ? AND cookie_binding = ?"
            " ORDER BY created_at DESC LIMIT 1", (username, cookie_binding)).fetchone()
    return _row_to_session(row) if row else None


def get_session(session_id: str, path: Path | None = None) -> Session | None:
    with connect(path, readonly=True) as conn:
        row = conn.execute("SELECT * FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
    return _row_to_session(row) if row else None


def _row_to_session(row: sqlite3.Row) -> Session:
    return Session(row["session_id"], row["username"], row["cookie_binding"],
                   _parse_ts(row["created_at"]), _parse_ts(row["expires_at"]), _parse_ts(row["revoked_at"]))


def validate_session(session_id: str | None, now: datetime | None = None,
                     path: Path | None = None) -> UserRecord | None:
    """The user behind a live session, or None if the session is unknown, revoked, expired, or the user
    is disabled or locked. Called on every run, so a change on the server takes effect at once."""
    if not session_id:
        return None
    now = now or utcnow()
    with connect(path, readonly=True) as conn:
        row = conn.execute(
            "SELECT u.* FROM sessions s JOIN users u ON u.username = s.username"
            " WHERE s.session_id = ? AND s.revoked_at IS NULL AND s.expires_at > ?",
            (session_id, _ts(now))).fetchone()
    if row is None:
        return None
    user = _row_to_user(row)
    if not user.active or user.is_locked(now):
        return None
    return user


def revoke_session(session_id: str, reason: str = "signed out", path: Path | None = None) -> None:
    with connect(path) as conn:
        conn.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ?"
                     " WHERE session_id = ? AND revoked_at IS NULL", (_ts(utcnow()), reason, session_id))


def _revoke_user_sessions(conn: sqlite3.Connection, username: str, reason: str) -> None:
    conn.execute("UPDATE sessions SET revoked_at = ?, revoked_reason = ?"
                 " WHERE username = ? AND revoked_at IS NULL", (_ts(utcnow()), reason, username))


def revoke_user_sessions(username: str, reason: str, path: Path | None = None) -> None:
    with connect(path) as conn:
        _revoke_user_sessions(conn, username, reason)


# --- audit log -----------------------------------------------------------------------------------

def audit(event: str, username: str | None, detail: dict | None = None, path: Path | None = None) -> None:
    """Append one event (login, failed login, lockout, identifiable view, export, ...) to the audit log."""
    with connect(path) as conn:
        conn.execute("INSERT INTO audit_log (at, event, username, detail) VALUES (?, ?, ?, ?)",
                     (_ts(utcnow()), event, username, json.dumps(detail or {}, default=str, sort_keys=True)))


def audit_events(limit: int = 500, event: str | None = None, username: str | None = None,
                 path: Path | None = None) -> list[dict]:
    """The newest audit events first, optionally for one event type or user."""
    with connect(path, readonly=True) as conn:
        rows = conn.execute(
            "SELECT id, at, event, username, detail FROM audit_log"
            " WHERE ($event IS NULL OR event = $event) AND ($username IS NULL OR username = $username)"
            " ORDER BY id DESC LIMIT $limit",
            {"event": event, "username": username, "limit": int(limit)}).fetchall()
    return [dict(row, detail=json.loads(row["detail"])) for row in rows]
