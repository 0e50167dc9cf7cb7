"""The portal's named queries answered by PostgreSQL, on the same marts, with sensible indexes.

PostgreSQL gets exactly the rows the portal reads (each mart Parquet file copied into a table of the same
name), B-tree indexes on the columns the queries filter and join on, and ``ANALYZE``. It then runs the
same SQL the portal runs, with the same bind values, rewritten only where DuckDB's dialect differs (the
rules are below and deliberately few; ``tests/test_bench_postgres_side.py`` checks that PostgreSQL then gives
the same answers as DuckDB). A query whose SQL has no PostgreSQL equivalent under these rules is reported as
such rather than silently skipped.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.pg import TempPostgres
from portal import config, store

# Columns worth an index wherever a mart has them: the filters people set and the keys queries join on.
INDEX_COLUMNS = [
    ["locality"], ["send_status"], ["service", "waiting_now"], ["practice_code"], ["person_key"],
    ["month"], ["referral_date"], ["arrival_date"], ["event_date"], ["request_date"], ["start_date"],
    ["case_date"], ["survey_date"], ["academic_year"], ["concept"], ["bnf_chemical"],
]

# DuckDB functions the queries use that PostgreSQL lacks, defined once in the scratch database with the
# same meaning (set-up cost, not counted in query times).
COMPATIBILITY_FUNCTIONS = [
    """CREATE FUNCTION date_diff(part text, a date, b date) RETURNS bigint IMMUTABLE LANGUAGE sql AS $$
         SELECT CASE part WHEN 'day' THEN b - a
                          WHEN 'week' THEN (b - a) / 7
                          WHEN 'month' THEN (extract(year FROM b) * 12 + extract(month FROM b))
                                          - (extract(year FROM a) * 12 + extract(month FROM a))
                          WHEN 'year' THEN extract(year FROM b) - extract(year FROM a) END $$""",
    """CREATE FUNCTION date_diff(part text, a timestamp, b timestamp) RETURNS bigint IMMUTABLE LANGUAGE sql AS $$
         SELECT date_diff(part, a::date, b::date) $$""",
    """CREATE FUNCTION date_diff(part text, a timestamptz, b timestamptz) RETURNS bigint IMMUTABLE LANGUAGE sql AS $$
         SELECT date_diff(part, a::date, b::date) $$""",
    """CREATE FUNCTION round(x double precision, n integer) RETURNS numeric IMMUTABLE LANGUAGE sql AS $$
         SELECT round(x::numeric, n) $$""",
    "CREATE FUNCTION contains(a text, b text) RETURNS boolean IMMUTABLE LANGUAGE sql AS $$ SELECT strpos(a, b) > 0 $$",
    "CREATE FUNCTION to_months(n bigint) RETURNS interval IMMUTABLE LANGUAGE sql AS $$ SELECT make_interval(months => n::int) $$",
    "CREATE FUNCTION list_contains(l anyarray, x anyelement) RETURNS boolean IMMUTABLE LANGUAGE sql AS $$ SELECT x = ANY(l) $$",
    "CREATE FUNCTION len(l anyarray) RETURNS integer IMMUTABLE LANGUAGE sql AS $$ SELECT cardinality(l) $$",
    """CREATE FUNCTION range(a bigint, b bigint) RETURNS TABLE("range" bigint) IMMUTABLE LANGUAGE sql AS $$
         SELECT generate_series(a, b - 1) $$""",
    "CREATE FUNCTION year(d date) RETURNS integer IMMUTABLE LANGUAGE sql AS $$ SELECT extract(year FROM d)::int $$",
    "CREATE FUNCTION quarter(d date) RETURNS integer IMMUTABLE LANGUAGE sql AS $$ SELECT extract(quarter FROM d)::int $$",
    # Only the strftime codes the queries use (%Y, %m, %d).
    """CREATE FUNCTION strftime(t timestamptz, fmt text) RETURNS text STABLE LANGUAGE sql AS $$
         SELECT to_char(t, replace(replace(replace(fmt, '%Y', 'YYYY'), '%m', 'MM'), '%d', 'DD')) $$""",
]

# DuckDB syntax -> PostgreSQL syntax, as (pattern, replacement); applied in order after the calls below.
_REWRITES = [
    (re.compile(r"\bINTERVAL\s+(\d+)\s+(YEAR|MONTH|WEEK|DAY)S?\b", re.I), r"INTERVAL '\1 \2'"),
    (re.compile(r"\s//\s"), " / "),  # integer division: PostgreSQL's / already truncates integers
    (re.compile(r"::DOUBLE\b", re.I), "::double precision"),
    (re.compile(r"\bAS DOUBLE\b", re.I), "AS double precision"),
    (re.compile(r"::HUGEINT\b", re.I), "::numeric"),
    (re.compile(r"\bifnull\(", re.I), "coalesce("),
]
_BIND = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _split_args(text: str) -> list[str]:
    """Split a call's argument text at top-level commas."""
    args, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
    args.append(text[start:].strip())
    return args


def _rewrite_calls(sql: str, name: str, build) -> str:
    """Replace every ``name(args)`` (balanced parentheses, nested calls allowed) with ``build(args)``."""
    pattern = re.compile(rf"\b{name}\(", re.I)
    while (match := pattern.search(sql)):
        depth, i = 1, match.end()
        while depth and i < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        inner = _rewrite_calls(sql[match.end():i - 1], name, build)
        sql = sql[:match.start()] + build(_split_args(inner)) + sql[i:]
    return sql


_AGGREGATE = re.compile(r"\b(count|sum|avg|min|max|bool_or|bool_and|median|quantile_cont|count_if|"
                        r"percentile_cont|string_agg|list)\s*\(", re.I)
_CLAUSE_AFTER_SUBQUERY = re.compile(r"\s*(GROUP|WHERE|ORDER|HAVING|LIMIT|UNION|\)|$)", re.I)


def _depths(sql: str) -> list[int]:
    """The parenthesis depth at each character of ``sql``."""
    depth, out = 0, []
    for ch in sql:
        depth += ch == "("
        out.append(depth)
        depth -= ch == ")"
    return out


def _alias_subqueries(sql: str) -> str:
    """PostgreSQL wants a name for every subquery in FROM (``FROM (SELECT ...) AS s``); DuckDB does not."""
    pattern, start, count = re.compile(r"\bFROM\s*\(\s*SELECT\b", re.I), 0, 0
    while (match := pattern.search(sql, start)):
        opening = sql.index("(", match.start())
        depth, i = 1, opening + 1
        while depth and i < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        if _CLAUSE_AFTER_SUBQUERY.match(sql, i):
            count += 1
            sql = f"{sql[:i]} AS subquery_{count}{sql[i:]}"
        start = opening + 1
    return sql


def _group_by_all(sql: str) -> str:
    """``GROUP BY ALL`` (DuckDB: every selected expression that is not an aggregate) as column positions."""
    while (match := re.search(r"\bGROUP BY ALL\b", sql, re.I)):
        depths = _depths(sql)
        level = depths[match.start()]
        select = max(m.start() for m in re.finditer(r"\bSELECT\b", sql[:match.start()], re.I)
                     if depths[m.start()] == level)
        end = next(m.start() for m in re.finditer(r"\bFROM\b", sql[select:match.start()], re.I)
                   if depths[select + m.start()] == level) + select
        items = _split_args(sql[select + len("SELECT"):end])
        positions = [str(n) for n, item in enumerate(items, 1) if not _AGGREGATE.search(item)]
        sql = f"{sql[:match.start()]}GROUP BY {', '.join(positions)}{sql[match.end():]}"
    return sql


class NoEquivalent(ValueError):
    """The query uses DuckDB syntax that these rules do not rewrite."""


def to_postgres(sql: str) -> str:
    if re.search(r"\bUNION\s+(ALL\s+)?BY\s+NAME\b", sql, re.I):
        raise NoEquivalent("UNION BY NAME (DuckDB matches the columns by name) is not rewritten")
    sql = _group_by_all(_alias_subqueries(sql))
    sql = _rewrite_calls(sql, "median", lambda a: f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {a[0]})")
    sql = _rewrite_calls(sql, "quantile_cont",
                         lambda a: f"percentile_cont({a[1]}) WITHIN GROUP (ORDER BY {a[0]})")
    sql = _rewrite_calls(sql, "count_if", lambda a: f"count(*) FILTER (WHERE {a[0]})")
    for pattern, replacement in _REWRITES:
        sql = pattern.sub(replacement, sql)
    sql = sql.replace("%", "%%")
    return _BIND.sub(r"%(\1)s", sql)


@dataclass
class PostgresTiming:
    name: str
    runs: list[float] = field(default_factory=list)
    error: str = ""

    def p(self, q: float) -> float:
        return float(np.percentile(self.runs, q) * 1000) if self.runs else float("nan")


@dataclass
class PostgresRun:
    load_seconds: float
    rows_loaded: int
    timings: dict[str, PostgresTiming]


def _tables_in(sql: str, marts: set[str]) -> set[str]:
    return {word for word in re.findall(r"[a-z_][a-z0-9_]*", sql) if word in marts}


def run(query_timings, repeats: int = 3, progress=print) -> PostgresRun:
    """Time every rendered query of ``query_timings`` (from bench.query_latency) in PostgreSQL."""
    import psycopg

    version = store.reader().version()
    mart_files = store.mart_files(version.path)
    persons = config.identifiable_dir() / "persons.parquet"
    if persons.exists():
        mart_files["identifiable_persons"] = [persons]
    needed = set()
    for timing in query_timings:
        for sql, _ in timing.rendered[:1]:
            needed |= _tables_in(sql, set(mart_files))
    timings: dict[str, PostgresTiming] = {}
    with TempPostgres() as pg:
        conn = psycopg.connect(host="127.0.0.1", port=pg.port, user="bench", dbname="postgres",
                               autocommit=True, cursor_factory=psycopg.ClientCursor)
        try:
            for statement in COMPATIBILITY_FUNCTIONS:
                conn.execute(statement)
            started = time.perf_counter()
            rows = 0
            for table in sorted(needed):
                rows += pg.load_parquet(conn, table, mart_files[table], INDEX_COLUMNS)
            load_seconds = time.perf_counter() - started
            progress(f"  PostgreSQL loaded {len(needed)} marts ({rows:,} rows) in {load_seconds:.1f} s")
            for timing in query_timings:
                result = timings[timing.name] = PostgresTiming(timing.name)
                if timing.error or not timing.rendered:
                    result.error = "not run by the portal"
                    continue
                try:
                    first_sql, first_binds = timing.rendered[0]
                    pg.time_query(conn, to_postgres(first_sql), first_binds, 1)  # warm the buffers
                    for sql, binds in timing.rendered:
                        result.runs.extend(pg.time_query(conn, to_postgres(sql), binds, repeats))
                except (psycopg.Error, NoEquivalent) as exc:
                    result.error = f"no PostgreSQL equivalent: {str(exc).splitlines()[0][:120]}"
                progress(f"  {timing.name}: PostgreSQL p50 {result.p(50):.1f} ms" +
                         (f" ({result.error})" if result.error else ""))
        finally:
            conn.close()
    return PostgresRun(load_seconds=load_seconds, rows_loaded=rows, timings=timings)
