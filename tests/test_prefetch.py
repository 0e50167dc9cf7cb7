"""A page's queries started ahead of the page: what is started, what is handed over, and what never is."""
from __future__ import annotations

import textwrap
import threading

import pytest

from portal import prefetch, queries

FILTERS = ("any", "hashable", "filters")


class Recorder:
    """A runner that notes each call and the thread it ran on."""

    def __init__(self):
        self.calls = []
        self.called = threading.Semaphore(0)

    def __call__(self, name, filters, params):
        self.calls.append((name, filters, params, threading.current_thread().name))
        self.called.release()
        return f"{name} {params}", None

    def wait_for(self, count):
        """Until ``count`` queries have begun (one still queued when claimed is left to the page)."""
        for _ in range(count):
            assert self.called.acquire(timeout=10)


def test_the_plan_is_started_ahead_and_handed_to_the_page_when_it_asks():
    runner = Recorder()
    ahead = [("waits", prefetch.frozen({"service": "ASD"})), ("trend", ())]
    run = prefetch.PageRun(runner, FILTERS, ahead, shareable=lambda name: True)
    assert run.started_ahead == 2
    runner.wait_for(2)
    future = run.claim("waits", {"service": "ASD"}, FILTERS)
    assert future is not None and future.result() == ("waits {'service': 'ASD'}", None)
    assert run.claim("waits", {"service": "ASD"}, FILTERS) is None, "handed over once only"
    assert run.claim("trend", {}, ("other", "filters")) is None, "started for other filters"
    assert run.claim("trend", {"by": "age"}, FILTERS) is None, "started with other settings"
    assert all(thread.startswith("query-ahead") for *_, thread in runner.calls)


def test_only_queries_the_caller_allows_are_started_ahead():
    runner = Recorder()
    run = prefetch.PageRun(runner, FILTERS, [("list_of_children", ()), ("waits", ())],
                           shareable=lambda name: name != "list_of_children")
    assert run.started_ahead == 1
    runner.wait_for(1)
    assert run.claim("list_of_children", {}, FILTERS) is None
    assert run.claim("waits", {}, FILTERS).result()[0] == "waits {}"
    assert [call[0] for call in runner.calls] == ["waits"]


def test_the_plan_is_what_the_page_asked_for_in_order():
    run = prefetch.PageRun(Recorder(), FILTERS, [], shareable=lambda name: True)
    run.record("waits", {"service": "ASD", "breakdowns": ["age", "sex"]})
    run.record("trend", {})
    assert run.asked == [("waits", (("breakdowns", ("age", "sex")), ("service", "ASD"))), ("trend", ())]


def test_a_query_still_waiting_for_a_thread_is_left_to_the_page():
    """Under load the pool may be busy: the page then runs the query itself instead of queueing behind it."""
    release = threading.Event()
    blockers = [prefetch._pool.submit(release.wait, 10) for _ in range(prefetch.POOL_THREADS)]
    try:
        runner = Recorder()
        run = prefetch.PageRun(runner, FILTERS, [("waits", ()), ("trend", ())], shareable=lambda name: True)
        assert run.claim("waits", {}, FILTERS) is None
        run.abandon()
    finally:
        release.set()
    for blocker in blockers:
        blocker.result(timeout=10)
    assert runner.calls == [], "a cancelled query must never run"


PAGE = """
import time
import streamlit as st
from portal import ui
from portal.roles import User
st.session_state.setdefault("portal_user", User("comm", "Commissioner", "commissioner"))
user, filters = ui.page_setup("Test page", {page_file!r})
time.sleep(0.3)  # drawing the blocks above the query, long enough for a query started ahead to begin
people = ui.run("people_by_locality", filters)
st.write(repr(people.df.to_dict("list")))
ui.run("service_waiting_list", filters)
"""


@pytest.fixture
def page(tiny_marts, tmp_path, monkeypatch):
    """A page asking for an aggregate and a record-level query, and where each query ran."""
    from streamlit.testing.v1 import AppTest

    from portal import config

    monkeypatch.setattr(config, "PAGES_DIR", tmp_path / "pages")
    (tmp_path / "pages").mkdir()
    script = tmp_path / "page.py"
    script.write_text(textwrap.dedent(PAGE.format(page_file=str(tmp_path / "pages" / "test_page.py"))))
    ran = []
    run = queries.run

    def run_noting_thread(name, *args, **kwargs):
        ran.append((name, threading.current_thread().name))
        return run(name, *args, **kwargs)

    monkeypatch.setattr(queries, "run", run_noting_thread)
    prefetch.forget_openings()
    yield (lambda: AppTest.from_file(str(script), default_timeout=30)), ran
    prefetch.forget_openings()


def test_a_pages_next_run_starts_its_shared_queries_ahead_and_shows_the_same(page):
    new_session, ran = page
    at = new_session().run()
    first_run, first_shown = list(ran), at.markdown[-1].value
    assert not any(thread.startswith("query-ahead") for _, thread in first_run), "nothing known before"
    ran.clear()
    queries.clear_cache()
    at.run()
    assert not at.exception
    assert at.markdown[-1].value == first_shown
    threads = dict(ran)
    assert threads["people_by_locality"].startswith("query-ahead")
    assert not threads["service_waiting_list"].startswith("query-ahead"), "record-level lists never start ahead"


def test_opening_a_page_starts_what_its_last_opening_asked_for(page):
    new_session, ran = page
    new_session().run()
    ran.clear()
    queries.clear_cache()
    at = new_session().run()  # another session (same role) opens the page
    assert not at.exception
    assert dict(ran)["people_by_locality"].startswith("query-ahead")
