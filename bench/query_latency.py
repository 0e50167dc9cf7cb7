"""Latency of the named queries the pages run, through the real runner (``portal.queries.run``).

For each query, with a set of realistic filter combinations (a period, often a locality, sometimes a SEND
status or an age band, as people use the sidebar) and the query's own parameters:

* **cold**: a fresh DuckDB reader (views re-created, no Parquet metadata cached) and an empty result cache,
  as after a server start or a new mart version. The operating system's file cache stays warm: the
  marts are small enough to stay in memory on any server that serves them.
* **warm**: the reader is warm but the result cache is emptied first, so DuckDB really runs the query
  (a filter combination nobody has asked for yet).
* **cached**: the same filters again, answered from the result cache keyed by mart version.
"""
from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field

import numpy as np

from portal import config, queries, store
from portal.filters import (AGE_BANDS, SEND_STATUSES, SEXES, Filters, allowed_values, as_of_date,
                            resolve_period)
from portal.roles import ADMIN, ANALYST, CLINICIAN, COMMISSIONER, GP, User

# Which role runs each kind of query in the benchmark: aggregates as a commissioner (so suppression is
# part of the time measured, as for most users), scoped and record-level ones as their own role.
_ROLE_PREFERENCE = (COMMISSIONER, CLINICIAN, GP, ANALYST, ADMIN)


@dataclass
class QueryTiming:
    name: str
    role: str
    pages: list[str]
    rows: int
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    cached: list[float] = field(default_factory=list)
    # the same SQL in DuckDB alone, fetched as rows (bench.query_latency.time_engine), for the PostgreSQL side
    engine: list[float] = field(default_factory=list)
    error: str = ""
    not_measured: str = ""  # why the query was not run (its data is not loaded), which is not an error
    # the exact SQL and bind values of each run, for the PostgreSQL side of the comparison
    rendered: list[tuple[str, dict]] = field(default_factory=list)
    # the filters and parameters of each run, for the pandas side
    inputs: list[tuple[Filters, dict]] = field(default_factory=list)

    def p(self, kind: str, q: float) -> float:
        values = getattr(self, kind)
        return float(np.percentile(values, q) * 1000) if values else float("nan")


def queries_used_by_pages() -> dict[str, list[str]]:
    """query name -> the pages (or journey modules) whose code names it."""
    names = set(queries.list_queries())
    used: dict[str, list[str]] = {}
    sources = list(config.PAGES_DIR.glob("*.py")) + list((config.REPO_ROOT / "portal" / "journeys").glob("*.py"))
    for source in sorted(sources):
        text = source.read_text(errors="replace")
        for literal in set(re.findall(r"""["']([a-z][a-z0-9_]*)["']""", text)):
            if literal in names:
                used.setdefault(literal, []).append(source.stem)
    return used


def bench_users() -> dict[str, User]:
    """One user per role, scoped like the demo users (first practice, first locality, autism service)."""
    cur, _ = store.reader().cursor()
    practice, = cur.execute("SELECT min(practice_code) FROM dim_practice").fetchone()
    locality, = cur.execute("SELECT min(locality) FROM dim_locality").fetchone()
    return {
        COMMISSIONER: User("bench-commissioner", "Bench", COMMISSIONER),
        CLINICIAN: User("bench-clinician", "Bench", CLINICIAN, service="ASD", locality=locality),
        GP: User("bench-gp", "Bench", GP, practice_code=practice),
        ANALYST: User("bench-analyst", "Bench", ANALYST),
        ADMIN: User("bench-admin", "Bench", ADMIN),
    }


def filter_combinations(count: int, seed: int = 7) -> list[Filters]:
    """Filters as people set them: a period always, a locality often, other filters now and then."""
    version = store.reader().version()
    allowed = allowed_values(version)
    as_of = as_of_date(version)
    rng = random.Random(seed)
    combos = []
    for i in range(count):
        period = rng.choice(allowed["period"])
        start, end = resolve_period(period, as_of)
        combos.append(Filters(
            period=period, period_start=start, period_end=end,
            locality=rng.choice(allowed["locality"]) if rng.random() < 0.6 else None,
            send_status=rng.choice(SEND_STATUSES) if rng.random() < 0.4 else None,
            age_band=rng.choice(AGE_BANDS) if rng.random() < 0.25 else None,
            sex=rng.choice(SEXES) if rng.random() < 0.15 else None,
        ))
    return combos


def _params_for(spec: queries.QuerySpec, rng: random.Random) -> dict:
    """Values for the query's own parameters: what the page passes where it is fixed by the portal's setup
    (the configured area, the headline indicators), else a random allowed value where there is a list."""
    if spec.name in AREA_QUERIES:
        return _compare_area_params(spec.name)
    chosen = {}
    for pname, pspec in spec.params.items():
        allowed = getattr(pspec, "allowed", None)
        if allowed and getattr(pspec, "type", "") != "list":
            chosen[pname] = rng.choice(list(allowed))
    return chosen


def _compare_area_params(name: str) -> dict:
    """The settings pages/compare.py passes: the configured area's codes, and the headline indicators."""
    from portal.journeys import compare
    from portal.public.area import load_area

    area = load_area()
    if name == "compare_indicators_available":
        return {"area_codes": area.codes}
    return {"indicator_ids": compare.headline_ids(), "la_codes": area.la_codes, "icb_code": area.icb_code}


AREA_QUERIES = ("compare_indicators_available", "compare_benchmarks")  # settings fixed by the configured area


def _published_statistics_missing(spec: queries.QuerySpec) -> bool:
    from portal.journeys import compare

    return "public_statistics" in spec.source_feeds and not compare.public_marts_loaded(store.reader().version())


def _reset_reader() -> None:
    """Forget the process's DuckDB reader, as a fresh server process would start without one."""
    with store._reader_lock:
        store._reader = None


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def measure(names: list[str] | None = None, runs: int = 20, cold_runs: int = 5, seed: int = 7,
            progress=print) -> list[QueryTiming]:
    used = queries_used_by_pages()
    names = names or sorted(used) or queries.list_queries()
    users = bench_users()
    combos = filter_combinations(runs, seed)
    rng = random.Random(seed)
    timings = []
    for name in names:
        spec = queries.load_query(name)
        role = next((r for r in _ROLE_PREFERENCE if r in spec.roles), None)
        timing = QueryTiming(name=name, role=role or "-", pages=used.get(name, []), rows=0)
        timings.append(timing)
        if role is None:
            timing.error = "no role may run it"
            continue
        user = users[role]
        if _published_statistics_missing(spec):
            timing.not_measured = "published statistics not loaded into this data (run with --public FOLDER)"
            progress(f"  {name}: not measured, {timing.not_measured}")
            continue
        try:
            for i, filters in enumerate(combos):
                params = _params_for(spec, rng)
                if i < cold_runs:
                    _reset_reader()
                    queries.clear_cache()
                    seconds, _ = _timed(lambda: queries.run(name, user, filters, **params))
                    timing.cold.append(seconds)
                queries.clear_cache()
                seconds, result = _timed(lambda: queries.run(name, user, filters, **params))
                timing.warm.append(seconds)
                seconds, _ = _timed(lambda: queries.run(name, user, filters, **params))
                timing.cached.append(seconds)
                timing.rows = max(timing.rows, len(result.df))
                timing.rendered.append(render_sql(spec, user, filters, params))
                timing.inputs.append((filters, params))
        except queries.QueryError as exc:
            timing.error = f"{type(exc).__name__}: {exc}"
        progress(f"  {name}: warm p50 {timing.p('warm', 50):.1f} ms, p95 {timing.p('warm', 95):.1f} ms"
                 + (f" ({timing.error})" if timing.error else ""))
    return timings


def time_engine(timings: list[QueryTiming], repeats: int = 3) -> None:
    """Time each query's rendered SQL and binds in DuckDB alone, on a lent cursor, fetched as rows.

    This is what the PostgreSQL side times (``bench.pg.TempPostgres.time_query``: execute, fetch every row),
    so the two engines are compared on the same work; the portal's own layer (role and scope checks, the
    result cache's key, suppression, the DataFrame) is the difference between this and ``warm``. Lists of
    identifiable people are left out: they need a view of their own that a lent cursor must not keep.
    """
    reader = store.reader()
    for timing in timings:
        if timing.error or not timing.rendered or queries.load_query(timing.name).output == "identifiable":
            continue
        with reader.pooled_cursor() as (cur, _):
            first_sql, first_binds = timing.rendered[0]
            cur.execute(first_sql, first_binds).fetchall()  # warm, as the PostgreSQL side warms its buffers
            for sql, binds in timing.rendered:
                for _ in range(repeats):
                    seconds, _rows = _timed(lambda: cur.execute(sql, binds).fetchall())
                    timing.engine.append(seconds)


def render_sql(spec: queries.QuerySpec, user: User, filters: Filters, params: dict) -> tuple[str, dict]:
    """The SQL and binds the runner executes for these inputs (the same function the runner uses)."""
    bound = {pname: pspec.coerce(params.get(pname)) for pname, pspec in spec.params.items()}
    as_of = as_of_date(store.reader().version())
    return queries._render(spec, filters, bound, queries._scope_values(spec, user), as_of)
