"""A page's queries started before the page asks for them, so DuckDB works while the page draws.

A page asks for its figures one block at a time: query, draw, query, draw. DuckDB answers outside Python's
interpreter lock, but the page waits for each answer before drawing the next block, so on a page open or a
filter change (where nothing is in the result cache) one user's rerun pays for every query in turn and then
for every drawing in turn. A page's next run almost always asks the same questions as its last one (the
filters change, the page's own menus do not), so :class:`PageRun` starts those queries on a small pool of
threads as the run begins, and hands each result to the page when it asks.

What is started ahead is the *plan*: the queries (name and parameters, never results) the same page asked
for in the same session's last run, or, when the page is being opened, in the last opening of that page by
anyone with the same role (menus start at their defaults on opening). The caller says which queries may be
started ahead: ``portal.ui`` allows only those whose figures every user of the page may see (its
``SHARED_OUTPUTS``), never a record-level or identifiable list, which would write an audit event for a list
nobody asked for.

A guess that turns out wrong costs one query that nobody uses; a menu change reruns the page with the same
filters, so the old guess is answered from the result cache. A query still waiting for a thread when the
page asks for it is cancelled and run on the page's own thread, so under load a page never waits in the
pool's queue behind other sessions' guesses.
"""
from __future__ import annotations

import concurrent.futures
import threading
from typing import Callable, Hashable, Mapping

POOL_THREADS = 4

# (name, frozen params) of each query a run asked for, in order
Plan = list[tuple[str, tuple]]
Runner = Callable[[str, object, Mapping[str, object]], tuple[object, Exception | None]]

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="query-ahead")
_opening_plans: dict[tuple[str, str], Plan] = {}  # (page, role) -> the plan of its last opening
_opening_lock = threading.Lock()


def frozen(params: Mapping[str, object]) -> tuple:
    """Parameters as a hashable key (lists become tuples)."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


def opening_plan(page: str, role: str) -> Plan:
    with _opening_lock:
        return list(_opening_plans.get((page, role), ()))


def remember_opening(page: str, role: str, plan: Plan) -> None:
    """Keep ``plan`` (filled in as the opening run goes on) for the next opening of ``page`` by ``role``."""
    with _opening_lock:
        _opening_plans[(page, role)] = plan


def forget_openings() -> None:
    with _opening_lock:
        _opening_plans.clear()


class PageRun:
    """One run of one page: the queries started ahead of it, and the plan it records as the page asks."""

    def __init__(self, runner: Runner, filters: Hashable, ahead: Plan, shareable: Callable[[str], bool]):
        self.asked: Plan = []
        self._futures: dict[tuple, concurrent.futures.Future] = {}
        for name, params in ahead:
            key = (name, params, filters)
            if key not in self._futures and shareable(name):
                self._futures[key] = _pool.submit(runner, name, filters, dict(params))

    def record(self, name: str, params: Mapping[str, object]) -> None:
        self.asked.append((name, frozen(params)))

    def claim(self, name: str, params: Mapping[str, object], filters: Hashable
              ) -> concurrent.futures.Future | None:
        """The query started ahead for exactly this request, if it has started; else None (and a queued
        one is cancelled), so the caller runs it itself."""
        future = self._futures.pop((name, frozen(params), filters), None)
        if future is None or future.cancel():
            return None
        return future

    def abandon(self) -> None:
        """Cancel what was started ahead and not yet begun (the page was left or ran again)."""
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()

    @property
    def started_ahead(self) -> int:
        return len(self._futures)
