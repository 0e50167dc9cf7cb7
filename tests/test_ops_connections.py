"""Read connections to the operational database are reused, and never show anything stale: a change
committed by another connection, or a database file deleted and made again, is seen by the next read."""
from __future__ import annotations

import threading

from portal import config, ops
from portal.roles import COMMISSIONER


def test_reads_reuse_an_open_connection(portal_users):
    session = ops.create_session(portal_users[COMMISSIONER], "binding")
    ops.validate_session(session.session_id)
    kept = list(ops._readers)
    assert kept, "a finished read leaves its connection for the next one"
    ops.validate_session(session.session_id)
    assert ops._readers == kept  # the same connection again, not a new one


def test_a_revocation_by_another_connection_is_seen_by_the_next_read(portal_users):
    session = ops.create_session(portal_users[COMMISSIONER], "binding")
    assert ops.validate_session(session.session_id) is not None
    ops.revoke_session(session.session_id)  # a write, on its own connection
    assert ops.validate_session(session.session_id) is None


def test_a_recreated_database_is_not_read_through_an_old_connection(portal_users):
    session = ops.create_session(portal_users[COMMISSIONER], "binding")
    assert ops.validate_session(session.session_id) is not None
    database = config.ops_db_path()
    for file in database.parent.glob(database.name + "*"):  # the database and its WAL files
        file.unlink()
    assert ops.validate_session(session.session_id) is None  # a new, empty database: no such session
    assert ops.get_user(portal_users[COMMISSIONER]) is None


def test_readers_on_many_threads_at_once(portal_users):
    session = ops.create_session(portal_users[COMMISSIONER], "binding")
    seen, failures = [], []

    def read():
        try:
            for _ in range(50):
                seen.append(ops.validate_session(session.session_id).username)
        except Exception as exc:  # reported below: a thread's exception would otherwise be lost
            failures.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert seen == [portal_users[COMMISSIONER]] * 400
    assert len(ops._readers) <= ops._READERS_KEPT
