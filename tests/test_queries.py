"""The named-query runner: loading, parameters, roles, scope inside SQL, suppression, cache, injection."""
from __future__ import annotations

import datetime as dt
import textwrap

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import TINY_AS_OF, TINY_LOCALITY_COUNTS
from portal import config, queries
from portal.filters import FILTER_COLUMNS, default_filters, resolve_period
from portal.filters import Filters
from portal.roles import User

COMMISSIONER = User("comm", "Commissioner", "commissioner")
ANALYST = User("ana", "Analyst", "analyst")
GP_P002 = User("gp2", "GP two", "gp", practice_code="P002")
CLINICIAN_ASD_NORTH = User("clin", "Clinician", "clinician", service="ASD", locality="Northfield")

INJECTIONS = [
    "'; DROP TABLE dim_person; --",
    "Northfield' OR '1'='1",
    "1 OR 1=1",
    "x'); SELECT * FROM identifiable_persons; --",
    "' UNION SELECT nhs_number FROM identifiable_persons --",
    "$scope_practice_code",
    "{{ scope }}",
    "{{ filters }}",
    "P001\x00",
    "Robert'); DROP TABLE students;--",
    "\u2019 OR 1=1 --",
    "A" * 5000,
]


def _people(data_dir=None) -> pd.DataFrame:
    return pd.read_parquet(config.marts_dir() / "v20261101T000000" / "dim_person.parquet")


# --------------------------------------------------------------------------------------- query files
@pytest.mark.parametrize("name", queries.list_queries())
def test_every_query_file_in_the_repository_is_valid(name):
    spec = queries.load_query(name)
    assert spec.indicator["meaning"] and spec.source_feeds
    if spec.output == "identifiable":
        assert spec.roles == ("gp",) and spec.scope == "practice"
    if spec.aggregate:
        assert spec.suppress.counts


def _write_query(tmp_path, monkeypatch, name: str, text: str) -> None:
    folder = tmp_path / "queries"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(textwrap.dedent(text))
    monkeypatch.setattr(config, "QUERIES_DIR", folder)


TEST_QUERY = """
title: Test query
roles: [commissioner, analyst]
output: aggregate
filters: [period, locality, send_status, imd_quintile]
period_column: referral_date
params:
  service: {type: str, allowed: [ASD, SLT], default: ASD}
  min_weeks: {type: int, default: 0, min: 0, max: 100}
  factor: {type: float, default: 1.0}
  waiting: {type: bool, default: true}
  since: {type: date, default: "2000-01-01"}
  tags: {type: list, allowed: [a, b, c], default: []}
  note: {type: str, default: "", max_length: 20}
suppress:
  counts: [n]
  statistics: {median_weeks: n}
indicator: {meaning: Test, source_feeds: [community_services]}
sql: |
  SELECT locality, count(*) AS n, median(wait_weeks) AS median_weeks,
         any_value($note) AS note_echo, any_value(len($tags)) AS n_tags
  FROM fct_referrals
  WHERE {{ filters }} AND service = $service AND wait_weeks >= $min_weeks * $factor
    AND waiting_now = $waiting AND referral_date >= $since
  GROUP BY locality ORDER BY locality
"""


@pytest.mark.parametrize("change, message", [
    ({"sql": "SELECT 1 AS n FROM dim_person WHERE {{ filters }} AND $nope"}, "undeclared"),
    ({"roles": ["nobody"]}, "unknown roles"),
    ({"output": "everything"}, "output"),
    ({"filters": ["postcode"]}, "unknown filters"),
    ({"filters": ["period"], "period_column": None}, "period_column"),
    ({"suppress": None}, "suppress.counts"),
    ({"indicator": None}, "indicator"),
    ({"scope": "practice"}, "scope"),
    ({"output": "identifiable", "suppress": None}, "identifiable"),
    ({"params": {"locality": {"type": "str"}}}, "reserved"),
    ({"params": {"x": {"type": "sql"}}}, "type"),
    ({"params": {"x": {"type": "str", "allowed": ["a"], "default": "b"}}}, "parameter x"),
    ({"period_column": "referral_date; DROP TABLE x"}, "plain column"),
    ({"colour": "blue"}, "unknown keys"),
])
def test_malformed_query_files_are_refused(change, message):
    import yaml

    doc = yaml.safe_load(TEST_QUERY)
    doc.update(change)
    doc = {k: v for k, v in doc.items() if v is not None}
    with pytest.raises(queries.QueryDefinitionError, match=message):
        queries.parse_query("bad", yaml.safe_dump(doc))


def test_scoped_query_must_place_the_scope_and_not_take_scope_parameters():
    base = """
    title: t
    roles: [gp]
    output: record
    scope: practice
    indicator: {meaning: m, source_feeds: [f]}
    """
    with pytest.raises(queries.QueryDefinitionError, match="scope"):
        queries.parse_query("t", textwrap.dedent(base) + "sql: SELECT 1\n")
    with pytest.raises(queries.QueryDefinitionError, match="scoped query cannot take"):
        queries.parse_query("t", textwrap.dedent(base) + "params: {practice: {type: str}}\nsql: SELECT 1 WHERE {{ scope }}\n")
    with pytest.raises(queries.QueryDefinitionError, match="gp role only"):
        queries.parse_query("t", textwrap.dedent(base).replace("[gp]", "[gp, analyst]") + "sql: SELECT 1 WHERE {{ scope }}\n")


@pytest.mark.parametrize("name", ["../queries/people_by_locality", "People", "", "x" * 100, "a;b", None])
def test_unknown_or_unsafe_names_are_refused(tiny_marts, name):
    with pytest.raises(queries.UnknownQuery):
        queries.run(name, COMMISSIONER)


# --------------------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("params, message", [
    ({"service": "XYZ"}, "must be one of"),
    ({"service": 5}, "must be text"),
    ({"min_weeks": "ten"}, "whole number"),
    ({"min_weeks": -1}, "at least"),
    ({"min_weeks": 101}, "at most"),
    ({"min_weeks": True}, "whole number"),
    ({"factor": "nan"}, "number"),
    ({"factor": float("inf")}, "number"),
    ({"waiting": "maybe"}, "yes or no"),
    ({"since": "01/02/2024"}, "date"),
    ({"tags": ["a", "z"]}, "must be one of"),
    ({"note": "x" * 21}, "too long"),
    ({"note": "line\nbreak"}, "not allowed"),
    ({"nonsense": "1"}, "no setting called"),
])
def test_bad_parameters_are_refused_with_a_clear_message(tiny_marts, tmp_path, monkeypatch, params, message):
    _write_query(tmp_path, monkeypatch, "test_query", TEST_QUERY)
    with pytest.raises(queries.BadParameter, match=message):
        queries.run("test_query", COMMISSIONER, **params)


def test_parameters_of_every_type_are_converted_and_bound(tiny_marts, tmp_path, monkeypatch):
    _write_query(tmp_path, monkeypatch, "test_query", TEST_QUERY)
    result = queries.run("test_query", ANALYST, service="SLT", min_weeks="3", factor="1.5", waiting="false",
                         since="2025-01-01", tags="a,b", note="hello")
    assert result.params == {"service": "SLT", "min_weeks": 3, "factor": 1.5, "waiting": False,
                             "since": dt.date(2025, 1, 1), "tags": ["a", "b"], "note": "hello"}
    assert set(result.df["note_echo"]) == {"hello"} and set(result.df["n_tags"]) == {2}
    refs = pd.read_parquet(config.marts_dir() / "v20261101T000000" / "fct_referrals.parquet")
    start, _ = resolve_period("Last 12 months", TINY_AS_OF)
    expected = refs[(refs.service == "SLT") & (refs.wait_weeks >= 4.5) & ~refs.waiting_now
                    & (refs.referral_date >= max(dt.date(2025, 1, 1), start))].groupby("locality").size()
    assert dict(zip(result.df.locality, result.df.n)) == expected.to_dict()


def test_global_filters_and_period_are_applied(tiny_marts, tmp_path, monkeypatch):
    _write_query(tmp_path, monkeypatch, "test_query", TEST_QUERY)
    refs = pd.read_parquet(config.marts_dir() / "v20261101T000000" / "fct_referrals.parquet")
    start, end = resolve_period("Last 3 years", TINY_AS_OF)
    f = Filters(period="Last 3 years", period_start=start, period_end=end, send_status="EHCP", imd_quintile=2)
    result = queries.run("test_query", ANALYST, f)
    mask = (refs.service == "ASD") & refs.waiting_now & (refs.send_status == "EHCP") & (refs.imd_quintile == 2)
    assert dict(zip(result.df.locality, result.df.n)) == refs[mask].groupby("locality").size().to_dict()
    same = queries.run("test_query", ANALYST, {"period": "Last 3 years", "send_status": "EHCP", "imd_quintile": "2"})
    pd.testing.assert_frame_equal(result.df, same.df)


def test_filters_given_as_values_are_checked_strictly(tiny_marts):
    with pytest.raises(queries.BadParameter, match="Locality"):
        queries.run("people_by_locality", COMMISSIONER, {"locality": "Atlantis"})
    with pytest.raises(queries.BadParameter, match="no filter called"):
        queries.run("people_by_locality", COMMISSIONER, {"postcode": "AB1"})


# --------------------------------------------------------------------------------------- roles, scope
def test_roles_not_listed_are_refused(tiny_marts):
    with pytest.raises(queries.ForbiddenQuery):
        queries.run("service_waiting_list", COMMISSIONER)
    with pytest.raises(queries.ForbiddenQuery):
        queries.run("practice_send_register", ANALYST)
    with pytest.raises(queries.ForbiddenQuery):
        queries.run("people_by_locality", None)


def test_gp_sees_only_their_own_practice(tiny_marts):
    result = queries.run("practice_send_register", GP_P002)
    people = _people()
    persons = pd.read_parquet(config.identifiable_dir() / "persons.parquet")
    expected = persons.merge(people[(people.practice_code == "P002") & (people.send_status != "No SEND")],
                             on="person_key")
    assert sorted(result.df.nhs_number) == sorted(expected.nhs_number)
    assert len(result.df) > 0 and {"nhs_number", "given_name", "date_of_birth"} <= set(result.df.columns)
    other = queries.run("practice_send_register", User("gp3", "GP three", "gp", practice_code="P003"))
    assert not set(other.df.nhs_number) & set(result.df.nhs_number)


@pytest.mark.parametrize("param", ["practice_code", "practice", "locality", "service"])
def test_a_scoped_query_refuses_a_client_supplied_scope(tiny_marts, param):
    with pytest.raises(queries.ScopeViolation):
        queries.run("practice_send_register", GP_P002, **{param: "P001"})
    with pytest.raises(queries.ScopeViolation):
        queries.run("service_waiting_list", CLINICIAN_ASD_NORTH, **{param: "Eastbrook"})


def test_accounts_without_their_scope_cannot_run_scoped_queries(tiny_marts):
    with pytest.raises(queries.ForbiddenQuery, match="practice"):
        queries.run("practice_send_register", User("gpx", "GP", "gp"))
    with pytest.raises(queries.ForbiddenQuery, match="service and locality"):
        queries.run("service_waiting_list", User("c", "C", "clinician", service="ASD"))


def test_clinician_sees_their_service_and_locality_only(tiny_marts):
    result = queries.run("service_waiting_list", CLINICIAN_ASD_NORTH, min_wait_weeks=10)
    refs = pd.read_parquet(config.marts_dir() / "v20261101T000000" / "fct_referrals.parquet")
    expected = refs[(refs.service == "ASD") & (refs.locality == "Northfield") & refs.waiting_now
                    & (refs.wait_weeks >= 10)]
    assert sorted(result.df.pseudo_id) == sorted(expected.person_key)
    assert "nhs_number" not in result.df.columns and not result.suppressed


def test_scope_is_a_bound_predicate_inside_the_sql():
    spec = queries.load_query("practice_send_register")
    f = default_filters(as_of=TINY_AS_OF)
    sql, binds = queries._render(spec, f, {}, {"scope_practice_code": "P002"}, TINY_AS_OF)
    assert "(d.practice_code = $scope_practice_code)" in sql and binds["scope_practice_code"] == "P002"
    assert "{{" not in sql and "P002" not in sql
    spec = queries.load_query("service_waiting_list")
    sql, binds = queries._render(spec, f, {"min_wait_weeks": 0},
                                 {"scope_service": "ASD", "scope_locality": "Northfield"}, TINY_AS_OF)
    assert "(service = $scope_service AND locality = $scope_locality)" in sql
    assert "Northfield" not in sql and binds["scope_locality"] == "Northfield"


def test_identifiable_view_exists_only_for_identifiable_queries(tiny_marts, tmp_path, monkeypatch):
    _write_query(tmp_path, monkeypatch, "sneaky", """
        title: Sneaky
        roles: [commissioner]
        output: aggregate
        suppress: {counts: [n]}
        indicator: {meaning: m, source_feeds: [f]}
        sql: SELECT count(*) AS n FROM identifiable_persons
        """)
    with pytest.raises(queries.QueryFailed):
        queries.run("sneaky", COMMISSIONER)


# ------------------------------------------------------------------------------------------ suppression
def test_aggregates_are_suppressed_for_commissioners_but_not_analysts(tiny_marts):
    shown = queries.run("people_by_locality", COMMISSIONER)
    raw = queries.run("people_by_locality", ANALYST)
    assert dict(zip(raw.df.locality, raw.df.n_people)) == TINY_LOCALITY_COUNTS
    as_shown = dict(zip(shown.df.locality, shown.df.n_people))
    assert as_shown["Northfield"] == 100 and as_shown["Eastbrook"] == 25
    assert pd.isna(as_shown["Southmoor"]) and pd.isna(as_shown["Westdale"])  # 5, and 9 as its complement
    assert shown.suppressed and not raw.suppressed
    assert list(shown.display_df().n_people) == [25, 100, "*", "*"]


def test_result_carries_definitions_version_and_feed_dates(tiny_marts):
    result = queries.run("people_by_locality", COMMISSIONER)
    assert result.query.title and result.query.indicator["caveats"]
    assert result.version.name == "v20261101T000000" and result.as_of == TINY_AS_OF
    assert result.feed_refresh["gp_registrations"] == "2026-11-01"
    assert result.feed_refresh["geography"] == "not recorded"


def test_no_marts_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(queries.MartsUnavailable, match="not been built"):
        queries.run("people_by_locality", COMMISSIONER)


# ---------------------------------------------------------------------------------------------- cache
def test_cache_is_keyed_by_query_params_role_scope_and_version(tiny_marts):
    queries.clear_cache()
    hits = queries.cache_stats["hits"]
    first = queries.run("people_by_locality", COMMISSIONER)
    queries.run("people_by_locality", User("other", "Other", "commissioner"))
    queries.run("people_by_locality", User("gp9", "GP", "gp", practice_code="P001"))
    assert queries.cache_stats["hits"] == hits + 2  # same figures (suppressed, unscoped): shared
    queries.run("people_by_locality", ANALYST)
    queries.run("people_by_locality", COMMISSIONER, {"send_status": "EHCP"})
    assert queries.cache_stats["hits"] == hits + 2
    queries.run("service_waiting_list", CLINICIAN_ASD_NORTH)
    east = queries.run("service_waiting_list", User("c2", "C2", "clinician", service="ASD", locality="Eastbrook"))
    assert queries.cache_stats["hits"] == hits + 2 and set(east.df.pseudo_id).isdisjoint(
        queries.run("service_waiting_list", CLINICIAN_ASD_NORTH).df.pseudo_id)

    first.df.loc[0, "n_people"] = 999  # a caller changing its copy must not change the cached result
    assert queries.run("people_by_locality", COMMISSIONER).df.loc[0, "n_people"] != 999

    # a publish is seen at once: a new version with more people in Southmoor
    people = _people()
    extra = people[people.locality == "Northfield"].head(40).assign(locality="Southmoor")
    extra = extra.assign(person_key=[f"N{i}" for i in range(len(extra))])
    tiny_marts(version="v20261102T000000", extra={"dim_person": pd.concat([people, extra])})
    after = queries.run("people_by_locality", COMMISSIONER)
    assert after.version.name == "v20261102T000000"
    assert dict(zip(after.df.locality, after.df.n_people))["Southmoor"] == 45


def test_identifiable_results_are_never_cached(tiny_marts):
    misses = queries.cache_stats["misses"]
    queries.run("practice_send_register", GP_P002)
    queries.run("practice_send_register", GP_P002)
    assert queries.cache_stats["misses"] == misses + 2


# ------------------------------------------------------------------------------------------ injection
@pytest.mark.parametrize("name", queries.list_queries())
def test_injection_strings_in_every_parameter_of_every_query_are_refused_or_bound(name):
    """Each string is either refused by validation or only ever bound as a value (never in the SQL text)."""
    spec = queries.load_query(name)
    f = default_filters(as_of=TINY_AS_OF)
    for pname, pspec in spec.params.items():
        for attack in INJECTIONS:
            try:
                value = pspec.coerce(attack)
            except queries.BadParameter:
                continue
            assert pspec.type in ("str", "list") and pspec.allowed is None, f"{name}.{pname} accepted {attack!r}"
            bound = {p: s.default for p, s in spec.params.items()} | {pname: value}
            scope = {"scope_practice_code": "P1", "scope_service": "S", "scope_locality": "L"}
            sql, _ = queries._render(spec, f, bound, scope, TINY_AS_OF)
            assert attack not in sql


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.integers(), st.floats(), st.booleans(), st.none(),
                 st.lists(st.text(max_size=20), max_size=5)))
def test_property_any_value_for_any_parameter_is_accepted_as_its_type_or_refused_cleanly(value):
    for name in queries.list_queries():
        for pspec in queries.load_query(name).params.values():
            try:
                coerced = pspec.coerce(value)
            except queries.BadParameter:
                continue
            if value is None:
                assert coerced == pspec.default
            elif pspec.allowed is not None:
                assert all(v in pspec.allowed for v in (coerced if pspec.type == "list" else [coerced]))
            else:
                expected = {"str": str, "int": int, "float": float, "bool": bool, "date": dt.date, "list": list}
                assert isinstance(coerced, expected[pspec.type])


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_strings_in_every_global_filter_are_refused(tiny_marts, attack):
    for fname in ("period", *FILTER_COLUMNS):
        with pytest.raises(queries.BadParameter):
            queries.run("people_by_locality", COMMISSIONER, {fname: attack})


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_strings_bound_as_free_text_are_harmless(tiny_marts, tmp_path, monkeypatch, attack):
    _write_query(tmp_path, monkeypatch, "echo", """
        title: Echo
        roles: [analyst]
        output: record
        params:
          text: {type: str, max_length: 10000}
          since: {type: date, default: "2000-01-01"}
        indicator: {meaning: m, source_feeds: [f]}
        sql: |
          SELECT $text AS echoed, count(*) AS n FROM dim_person WHERE locality = $text OR $since IS NULL
        """)
    try:
        result = queries.run("echo", ANALYST, text=attack)
    except queries.BadParameter:
        assert "\x00" in attack  # control characters are refused outright
        return
    assert result.df.loc[0, "echoed"] == attack and result.df.loc[0, "n"] == 0
    with pytest.raises(queries.BadParameter):
        queries.run("echo", ANALYST, text="x", since=attack)
    # the marts are untouched
    assert queries.run("echo", ANALYST, text="Northfield").df.loc[0, "n"] == TINY_LOCALITY_COUNTS["Northfield"]


def test_injection_strings_in_scope_values_are_only_bound(tiny_marts):
    gp = User("gpz", "GP", "gp", practice_code="P002' OR '1'='1")
    assert queries.run("practice_send_register", gp).df.empty
    clinician = User("cz", "C", "clinician", service="ASD", locality="x' OR '1'='1")
    assert queries.run("service_waiting_list", clinician).df.empty


def test_a_failing_query_shows_no_database_detail(tiny_marts, tmp_path, monkeypatch):
    _write_query(tmp_path, monkeypatch, "broken", """
        title: Broken
        roles: [commissioner]
        output: aggregate
        suppress: {counts: [n]}
        indicator: {meaning: m, source_feeds: [f]}
        sql: SELECT count(*) AS n FROM no_such_mart
        """)
    with pytest.raises(queries.QueryFailed) as info:
        queries.run("broken", COMMISSIONER)
    assert "no_such_mart" not in str(info.value) and isinstance(info.value.__cause__, duckdb.Error)


def test_identifiable_runs_are_audited_before_rows_are_returned(tiny_marts):
    from portal import ops

    result = queries.run("practice_send_register", GP_P002, {"send_status": "EHCP"})
    event = ops.audit_events(event="identifiable_query")[0]
    assert event["username"] == "gp2" and event["detail"]["query"] == "practice_send_register"
    assert event["detail"]["rows"] == len(result.df) and event["detail"]["practice"] == "P002"


def test_no_identifiers_are_returned_when_the_audit_cannot_be_written(tiny_marts):
    config.ops_db_path().parent.mkdir(parents=True, exist_ok=True)
    config.ops_db_path().mkdir()  # a directory where the database should be: every write fails
    with pytest.raises(queries.QueryFailed, match="could not be recorded"):
        queries.run("practice_send_register", GP_P002)


# ------------------------------------------------------------------------------- on the synthetic demo
def _demo_user(role: str, data_dir) -> User:
    """A user of each role, with a real practice, service and locality of the small demo."""
    marts = next((data_dir / "marts").glob("v*"))
    practice = pd.read_parquet(marts / "dim_practice.parquet").practice_code.iloc[0]
    locality = pd.read_parquet(marts / "dim_locality.parquet").locality.iloc[0]
    return User(f"demo-{role}", role, role, practice_code=practice if role == "gp" else None,
                service="ASD" if role == "clinician" else None,
                locality=locality if role == "clinician" else None)


@pytest.mark.parametrize("name", queries.list_queries())
def test_every_query_runs_on_the_small_demo_for_every_role_it_allows(small_demo, monkeypatch, name):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(small_demo))
    spec = queries.load_query(name)
    if spec.output == "published":
        pytest.skip("national statistics are loaded separately (tests/test_public_*.py)")
    for role in spec.roles:
        result = queries.run(name, _demo_user(role, small_demo))
        assert list(result.df.columns), f"{name} returned no columns for {role}"
        if spec.aggregate and role != "analyst":
            for column in spec.suppress.counts:
                shown = result.df[column].dropna()
                assert ((shown == 0) | ((shown >= 10) & (shown % 5 == 0))).all(), (name, role, column)
        if spec.aggregate and role == "analyst":
            # whole counts typed as integers, as every other role gets them (DuckDB's sums arrive as floats)
            for column in spec.suppress.counts:
                values = result.df[column].dropna().astype("float64")
                if (values == values.round()).all():
                    assert result.df[column].dtype.kind in "iu", (name, column, result.df[column].dtype)
