"""The mart reader's pool of cursors (store.MartReader.pooled_cursor)."""
import threading

import duckdb
import pandas as pd
import pytest

from portal import queries, store
from portal.roles import ANALYST, GP, User


def test_a_cursor_is_lent_again_to_the_next_query(tiny_marts):
    reader = store.MartReader()
    with reader.pooled_cursor() as (first, _):
        first.execute("SELECT count(*) FROM dim_person").fetchall()
    with reader.pooled_cursor() as (second, _):
        assert second is first
        assert second.execute("SELECT count(*) FROM dim_person").fetchone()[0] > 0


def test_threads_that_query_at_once_get_their_own_cursors(tiny_marts):
    reader = store.MartReader()
    both_inside = threading.Barrier(2, timeout=10)
    lent = []

    def query():
        with reader.pooled_cursor() as (cur, _):
            lent.append(cur)
            both_inside.wait()  # neither gives its cursor back until the other holds one
            cur.execute("SELECT count(*) FROM dim_person").fetchall()

    threads = [threading.Thread(target=query) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(lent) == 2 and lent[0] is not lent[1]


def test_a_cursor_whose_query_failed_is_closed_not_lent_again(tiny_marts):
    reader = store.MartReader()
    with pytest.raises(duckdb.Error):
        with reader.pooled_cursor() as (broken, _):
            broken.execute("SELECT * FROM no_such_mart")
    with pytest.raises(duckdb.ConnectionException):
        broken.execute("SELECT 1")
    with reader.pooled_cursor() as (cur, _):
        assert cur is not broken
        assert cur.execute("SELECT 1").fetchone() == (1,)


def test_no_more_than_the_idle_limit_are_kept(tiny_marts, monkeypatch):
    reader = store.MartReader()
    monkeypatch.setattr(store.MartReader, "IDLE_CURSORS", 2)
    held = [reader.pooled_cursor() for _ in range(3)]
    cursors = [context.__enter__()[0] for context in held]
    for context in held:
        context.__exit__(None, None, None)
    assert len(reader._idle) == 2
    with pytest.raises(duckdb.ConnectionException):
        cursors[2].execute("SELECT 1")  # the one beyond the limit was closed


def test_a_lent_cursor_follows_a_publish(tiny_marts):
    """A cursor last used on the old version points at the new one when it is lent after a publish."""
    reader = store.MartReader()
    with reader.pooled_cursor() as (cur, before):
        localities = cur.execute("SELECT count(DISTINCT locality) FROM dim_person").fetchone()[0]
    people = pd.read_parquet(before.path / "dim_person.parquet")
    tiny_marts(version="v20261102T000000", extra={"dim_person": people[people.locality != "Northfield"]})
    with reader.pooled_cursor() as (again, after):
        assert again is cur and after.name == "v20261102T000000"
        assert again.execute("SELECT count(DISTINCT locality) FROM dim_person").fetchone()[0] == localities - 1


def test_the_identifiable_view_is_never_left_on_a_lent_cursor(tiny_marts):
    """An identifiable list runs on a cursor of its own, closed afterwards: no cursor lent later can read
    identifiable_persons."""
    store._reader = None
    for _ in range(2):  # the second run of each would reuse a cursor the first one gave back
        assert len(queries.run("practice_send_register", User("gp2", "GP", GP, practice_code="P002")).df) > 0
        queries.clear_cache()
        queries.run("people_by_locality", User("a1", "Analyst", ANALYST))
    idle = store.reader()._idle
    assert idle, "the aggregate query gives its cursor back"
    for cur, _schema in idle:
        with pytest.raises(duckdb.CatalogException):
            cur.execute("SELECT * FROM identifiable_persons")
