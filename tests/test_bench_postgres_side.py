"""The PostgreSQL side of the benchmark: the rewrite rules, and PostgreSQL giving the same answers as DuckDB."""
from __future__ import annotations

import datetime as dt
import decimal
import math

import pytest

from bench import pg, postgres_side
from bench.postgres_side import NoEquivalent, to_postgres


def test_a_subquery_in_from_gets_a_name_only_where_it_has_none():
    sql = ("SELECT a FROM (SELECT a FROM t) GROUP BY a UNION ALL "
           "SELECT b FROM (SELECT b FROM u) AS named WHERE b > 1 UNION ALL SELECT c FROM (SELECT c FROM v)")
    rewritten = postgres_side._alias_subqueries(sql)
    assert rewritten == ("SELECT a FROM (SELECT a FROM t) AS subquery_1 GROUP BY a UNION ALL "
                         "SELECT b FROM (SELECT b FROM u) AS named WHERE b > 1 UNION ALL "
                         "SELECT c FROM (SELECT c FROM v) AS subquery_2")


def test_group_by_all_becomes_the_positions_of_the_columns_that_are_not_aggregates():
    sql = ("WITH p AS (SELECT x FROM t), q AS (SELECT date_diff('month', m, $d) // 12 AS y, m, "
           "CASE $by WHEN 'a' THEN a END AS g, sum(n) AS n, count(DISTINCT k) AS k FROM t "
           "WHERE extract(year FROM m) > 2000 GROUP BY ALL) SELECT * FROM q")
    assert "GROUP BY 1, 2, 3)" in postgres_side._group_by_all(sql)
    outer = "SELECT a, b, count(*) AS n FROM (SELECT a, b FROM t GROUP BY ALL) GROUP BY ALL"
    assert postgres_side._group_by_all(outer) == ("SELECT a, b, count(*) AS n FROM (SELECT a, b FROM t GROUP BY 1, 2) "
                                                  "GROUP BY 1, 2")


def test_union_by_name_is_reported_as_having_no_equivalent():
    with pytest.raises(NoEquivalent, match="BY NAME"):
        to_postgres("SELECT 1 AS a UNION ALL BY NAME SELECT 2 AS a")


def _plain(value):
    """A value as both databases' drivers give it, made comparable (numbers to 6 significant figures)."""
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float):
        return "null" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, (list, tuple)):
        return repr([_plain(v) for v in value])
    return "null" if value is None else str(value)


@pytest.mark.skipif(not pg.available(), reason="PostgreSQL is not installed")
@pytest.mark.timeout(600)
def test_postgres_answers_every_page_query_as_duckdb_does(on_small_demo):
    """Each page query, with the benchmark's filters and settings, rewritten and run in PostgreSQL on the
    same marts, gives the same rows as the portal's SQL in DuckDB (before suppression, which PostgreSQL does
    not do). A query the rules cannot rewrite must say so, and only UNION BY NAME is allowed to."""
    import psycopg

    from bench import query_latency
    from portal import store

    timings = [t for t in query_latency.measure(runs=2, cold_runs=0, progress=lambda *_: None)
               if t.rendered and not t.error]
    assert len(timings) >= 25
    version = store.reader().version()
    marts = store.mart_files(version.path)
    needed = set().union(*(postgres_side._tables_in(sql, set(marts)) for t in timings for sql, _ in t.rendered))
    compared, no_equivalent = [], []
    with pg.TempPostgres() as server:
        conn = psycopg.connect(host="127.0.0.1", port=server.port, user="bench", dbname="postgres",
                               autocommit=True, cursor_factory=psycopg.ClientCursor)
        try:
            conn.execute("SET TIME ZONE 'UTC'")
            for statement in postgres_side.COMPATIBILITY_FUNCTIONS:
                conn.execute(statement)
            for table in sorted(needed):
                server.load_parquet(conn, table, marts[table], postgres_side.INDEX_COLUMNS)
            for timing in timings:
                for sql, binds in timing.rendered:
                    try:
                        pg_sql = to_postgres(sql)
                    except NoEquivalent:
                        no_equivalent.append(timing.name)
                        break
                    with conn.cursor() as cur:
                        cur.execute(pg_sql, binds)
                        from_postgres = sorted(tuple(map(_plain, row)) for row in cur.fetchall())
                    with store.reader().pooled_cursor(version) as (cur, _):
                        from_duckdb = sorted(tuple(map(_plain, row)) for row in cur.execute(sql, binds).fetchall())
                    assert from_postgres == from_duckdb, f"{timing.name} with {binds}"
                    compared.append(timing.name)
        finally:
            conn.close()
    assert set(no_equivalent) <= {"compare_benchmarks"}, no_equivalent
    assert len(set(compared)) == len(timings) - len(set(no_equivalent))
