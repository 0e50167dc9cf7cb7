"""Marts: every mart the pages rely on, with its key columns; atomic publish; failed and killed builds."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from portal import config, marts, store
from portal.public import mart as public_mart
from portal.marts import BuildError, build, dependency_order, model_grain

# docs/architecture.md "Marts the pages rely on": mart -> key columns (standard dimensions checked separately)
STD_DIMS = ["locality", "age_band", "sex", "ethnicity", "imd_quintile", "send_status", "primary_need"]
MARTS = {
    "dim_locality": (["locality", "locality_code", "n_cyp", "centroid_lon", "centroid_lat"], False),
    "dim_practice": (["practice_code", "practice_name", "locality"], False),
    "dim_person": (["person_key", "practice_code", "small_area_code", "age", "has_asthma", "has_obesity",
                    "has_autism", "has_adhd"], True),
    "agg_population_month": (["month", "n_people"], True),
    "fct_referrals": (["referral_id", "person_key", "service", "referral_date", "seen_date", "waiting_now",
                       "wait_weeks"], True),
    "agg_waiting_month": (["month", "service", "n_waiting", "n_over_18_weeks", "n_over_52_weeks"], True),
    "fct_prescriptions": (["person_key", "month", "bnf_chemical", "bnf_name", "items"], True),
    "fct_ae_attendances": (["attendance_id", "person_key", "arrival_date", "month"], True),
    "agg_activity_month": (["month", "n_people", "ae_attendances", "gp_contacts"], True),
    "fct_gp_events": (["person_key", "practice_code", "event_date", "snomed_code", "concept"], True),
    "fct_ehcp_requests": (["request_id", "person_key", "request_date", "decision_date", "decision",
                           "decided_within_6_weeks", "assessment_outcome", "plan_issued_date", "weeks_to_issue",
                           "issued_within_20_weeks", "exception"], True),
    "fct_ehcp_plans": (["plan_id", "person_key", "start_date", "review_due_date", "last_review_date",
                        "review_overdue", "ceased_date", "cease_reason"], True),
    "fct_disputes": (["case_id", "person_key", "kind", "case_date", "outcome"], True),
    "fct_school_census": (["academic_year", "school_urn", "sessions_possible", "sessions_missed",
                           "persistently_absent", "suspensions", "permanent_exclusions"], True),
    "agg_school_census_year": (["academic_year", "pupils", "sessions_possible", "sessions_missed",
                                "persistently_absent", "pupils_suspended", "suspensions", "permanent_exclusions"],
                               True),
    "fct_ks4": (["academic_year", "attainment8"], True),
    "fct_melatonin_prescriptions": (["person_key", "month", "items", "has_asthma", "has_obesity", "has_autism",
                                     "has_adhd"], True),
    "agg_melatonin_year": (["person_key", "years_back", "items"], True),
    "fct_survey_responses": (["response_id", "survey_date", "service", "locality", "respondent", "score",
                              "comment_redacted", "comment_theme", "comment_withheld"], False),
    "agg_transition_age": (["age", "send_status", "locality", "sex", "person_years", "gp_contacts",
                            "ae_attendances"], False),
    "fct_transition_followup": (["person_key", "turned_18_on", "left_childrens_services", "adult_follow_up"], True),
    "feed_status": (["feed", "last_file", "received_at", "rows", "failures", "linkage_match_rate"], False),
}


@pytest.fixture
def demo_copy(small_demo, tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(small_demo, data)
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(data))
    return data


def test_every_mart_the_pages_rely_on_is_published_with_its_columns(small_demo):
    version = store.current_version(small_demo / "marts")
    reader = store.MartReader(small_demo / "marts")
    cur, _ = reader.cursor()
    for mart, (columns, std) in MARTS.items():
        actual = [r[0] for r in cur.execute(f"DESCRIBE {mart}").fetchall()]
        expected = columns + (STD_DIMS if std else [])
        assert not set(expected) - set(actual), (mart, set(expected) - set(actual))
        assert version.manifest["marts"][mart]["rows"] == cur.execute(f"SELECT count(*) FROM {mart}").fetchone()[0]
        assert version.manifest["marts"][mart]["rows"] > 0, mart
    assert (version.path / "boundaries.geojson").exists()
    assert set(version.manifest["feeds"]) >= {"gp_registrations", "surveys"}
    assert all(f["received_at"] for f in version.manifest["feeds"].values())


def test_every_model_states_its_grain_and_runs_after_what_it_uses():
    models = {p.stem: p.read_text() for p in (config.MODELS_DIR).rglob("*.sql") if p.name != "macros.sql"}
    for name, sql in models.items():
        assert model_grain(sql), f"{name}.sql has no '-- grain:' first line"
    order = dependency_order(models)
    assert order.index("stg_persons") < order.index("stg_person_spells") < order.index("dim_locality")
    assert order.index("agg_population_month") < order.index("agg_activity_month")
    assert set(MARTS) <= {p.stem for p in (config.MODELS_DIR / "marts").glob("*.yml")}


def test_standard_dimensions_use_the_standard_codes(small_demo):
    cur, _ = store.MartReader(small_demo / "marts").cursor()
    values = dict(cur.execute("""
        SELECT 'age_band', list(DISTINCT age_band ORDER BY age_band) FROM agg_population_month
        UNION ALL SELECT 'send_status', list(DISTINCT send_status ORDER BY send_status) FROM agg_population_month
        UNION ALL SELECT 'ethnicity', list(DISTINCT ethnicity ORDER BY ethnicity) FROM agg_population_month
    """).fetchall())
    assert values["age_band"] == sorted(["0-4", "5-10", "11-15", "16-17", "18-25"])
    assert values["send_status"] == ["EHCP", "No SEND", "SEN support"]
    assert set(values["ethnicity"]) <= {"Asian", "Black", "Mixed", "White", "Other", "Not known"}
    localities = cur.execute("SELECT count(*) FROM dim_locality").fetchone()[0]
    assert localities == 8


def test_survey_responses_are_stored_newest_first(small_demo):
    cur, _ = store.MartReader(small_demo / "marts").cursor()
    stored = cur.execute("SELECT survey_date, response_id FROM fct_survey_responses").fetchall()
    assert len(stored) > 100
    assert stored == sorted(stored, key=lambda row: (-row[0].toordinal(), row[1]))


def test_a_model_can_set_its_row_group_size(tmp_path):
    assert marts.copy_options("-- grain: one row per thing\nSELECT 1") == store.PARQUET_COPY_OPTIONS
    sql = "-- grain: one row per number\n-- row group size: 2048\nSELECT range AS n FROM range(10000)"
    target = tmp_path / "numbers.parquet"
    con = duckdb.connect()
    con.execute(f"COPY ({sql}) TO '{target}' ({marts.copy_options(sql)})")
    groups = [rows for (rows,) in con.execute(
        "SELECT row_group_num_rows FROM parquet_metadata($f) GROUP BY row_group_id, row_group_num_rows "
        "ORDER BY row_group_id", {"f": str(target)}).fetchall()]
    assert sum(groups) == 10000 and max(groups) <= 2048 and len(groups) >= 5
    with pytest.raises(BuildError, match="row group size"):
        marts.copy_options("-- row group size: 10")


def test_survey_comments_are_redacted_and_small_groups_withheld(small_demo):
    import json

    cur, _ = store.MartReader(small_demo / "marts").cursor()
    truth = json.loads((small_demo / "feeds" / "small" / "ground_truth.json").read_text())
    planted = truth["survey"]["planted_identifiers"]
    assert planted
    shown = dict(cur.execute("SELECT response_id, comment_redacted FROM fct_survey_responses").fetchall())
    for item in planted:
        text = shown[item["response_id"]]
        if text is not None:
            assert item["value"] not in text, item
    small = cur.execute("""
        SELECT count(*) FILTER (WHERE comment_redacted IS NOT NULL), count(*) FILTER (WHERE comment_withheld)
        FROM (SELECT *, count(*) OVER (PARTITION BY service, locality, quarter) AS n FROM fct_survey_responses)
        WHERE n < 8
    """).fetchone()
    assert small[0] == 0 and small[1] > 0


@pytest.fixture
def models_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the models folder the build reads instead, for a test to break."""
    models = tmp_path / "models"
    shutil.copytree(config.MODELS_DIR, models)
    monkeypatch.setattr(config, "MODELS_DIR", models)
    return models


def _refused(match: str) -> None:
    """The build stops with a BuildError matching ``match``, and the version serving before still serves."""
    before = store.current_version()
    with pytest.raises(BuildError, match=match):
        build()
    assert store.current_version().name == before.name


def test_a_failed_build_leaves_the_last_good_version_serving(demo_copy, models_copy):
    (models_copy / "marts" / "fct_ks4.sql").write_text("-- grain: broken on purpose\nSELECT no_such_column FROM stg_persons")
    _refused("model fct_ks4 failed")
    assert not list((demo_copy / "marts").glob(".build-*")), "the half-built folder is removed"


def test_a_memory_limit_that_is_not_a_size_is_refused_before_it_reaches_sql(demo_copy, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_BUILD_MEMORY", "6GB'; SET threads = 1; --")
    _refused("SEND_PORTAL_BUILD_MEMORY must be a size")
    assert not list((demo_copy / "marts").glob(".build-*"))


def test_a_model_file_name_that_is_not_a_plain_identifier_is_refused(demo_copy, models_copy):
    (models_copy / "marts" / "fct_x; DROP TABLE stg_persons.sql").write_text("-- grain: one row\nSELECT 1 AS x")
    _refused("plain lower-case identifiers")


def test_a_mart_test_on_a_column_it_does_not_have_is_refused_before_it_reaches_sql(demo_copy, models_copy):
    spec_path = models_copy / "marts" / "fct_ks4.yml"
    spec = yaml.safe_load(spec_path.read_text())
    spec.setdefault("tests", {}).setdefault("not_null", []).append("1 = 1 OR person_key")
    spec_path.write_text(yaml.safe_dump(spec))
    _refused("tests columns it does not have: 1 = 1 OR person_key")


def test_a_killed_build_leaves_the_previous_version_serving(demo_copy):
    before = store.current_version()
    env = {**os.environ, "SEND_PORTAL_DATA_DIR": str(demo_copy)}
    proc = subprocess.Popen([sys.executable, "-m", "portal", "build"], cwd=config.REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        partial: list[Path] = []
        while time.monotonic() < deadline:  # wait until the build has written some marts, then kill it
            partial = [p for d in (demo_copy / "marts").glob(".build-*") for p in d.glob("*.parquet")]
            if len(partial) >= 3:
                break
            time.sleep(0.02)
        assert len(partial) >= 3, "the build did not get far enough to be killed midway"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert store.current_version().name == before.name
    assert not (store.current_version().path / "manifest.json").read_text() == ""
    cur, version = store.MartReader(demo_copy / "marts").cursor()
    assert version.name == before.name and cur.execute("SELECT count(*) FROM fct_referrals").fetchone()[0] > 0
    assert store.list_versions(demo_copy / "marts") == [before.name], "the killed build published nothing"
    # the next build removes the abandoned folder and publishes
    after = build()
    assert after.name != before.name and store.current_version().name == after.name
    assert not list((demo_copy / "marts").glob(".build-*"))
    assert store.list_versions(demo_copy / "marts") == [before.name, after.name]


def test_a_build_in_slices_of_people_publishes_the_same_marts(demo_copy, monkeypatch):
    whole = store.current_version()
    assert whole.manifest["slices"] == 1
    people = duckdb.sql(f"SELECT count(*) FROM read_parquet('{demo_copy.as_posix()}/landed/gp_registrations/*.parquet')").fetchone()[0]
    monkeypatch.setattr(marts, "PEOPLE_PER_SLICE", people // 3 + 1)  # as a national build slices its people
    monkeypatch.setenv("SEND_PORTAL_BUILD_MEMORY", "6GB")  # the memory PEOPLE_PER_SLICE is given for
    sliced = build()
    assert sliced.manifest["slices"] == 3
    con = duckdb.connect()
    whole_files, sliced_files = store.mart_files(whole.path), store.mart_files(sliced.path)
    assert sorted(whole_files) == sorted(sliced_files)
    # the sliced marts are kept as one file per slice; the others are one file as before
    assert [p.name for p in sliced_files["fct_gp_events"]] == ["part-0000.parquet", "part-0001.parquet",
                                                               "part-0002.parquet"]
    assert len(sliced_files["dim_person"]) == 1
    for name in whole_files:
        a, b = store.parquet_source(whole_files[name]), store.parquet_source(sliced_files[name])
        for x, y in ((a, b), (b, a)):
            extra = con.execute(f"SELECT count(*) FROM (SELECT * FROM {x} EXCEPT ALL SELECT * FROM {y})").fetchone()[0]
            assert extra == 0, f"{name}: {extra} rows differ between the whole and the sliced build"
    assert sliced.manifest["marts"]["fct_gp_events"]["rows"] == whole.manifest["marts"]["fct_gp_events"]["rows"] > 0
    cur, _ = store.reader().cursor(sliced)  # the portal's reader takes the parts as one mart
    served = cur.execute("SELECT count(*) FROM fct_gp_events").fetchone()[0]
    cur.close()
    assert served == sliced.manifest["marts"]["fct_gp_events"]["rows"]
    # publishing the public figures makes a new version from the live one's files, parts included
    republished = public_mart.publish_public()
    assert store.mart_files(republished.path).keys() == sliced_files.keys()
    assert [p.name for p in store.mart_files(republished.path)["fct_gp_events"]] == \
        [p.name for p in sliced_files["fct_gp_events"]]
    leftovers = [p.name for p in sliced.path.iterdir() if p.name.startswith(".")]
    assert leftovers == [], "staging models and slice parts are not published"


def test_a_partitioned_model_deals_each_row_into_the_slice_in_slice_picks(tmp_path):
    con = duckdb.connect()
    con.execute((config.MODELS_DIR / "macros.sql").read_text())
    sql = ("-- grain: one row per test row\n-- partitioned by person\n"
           "SELECT 'person-' || (i % 7) AS person_key, i FROM range(100) t(i)\n-- a trailing comment")
    by_slice = marts._write_partitioned(con, sql, tmp_path, "stg_rows", 12)  # seven people: some slices empty
    assert len(by_slice) == 12
    assert sorted(p.name for p in (tmp_path / "stg_rows").iterdir()) == sorted(
        p.name for part in by_slice for p in part), "only the parts are left, no _slice=<n> folders"
    rows = 0
    for s, files in enumerate(by_slice):
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {store.parquet_source(files)}").fetchall()]
        assert columns == ["person_key", "i"], "an empty slice keeps the columns; the slice number is not added"
        con.execute("SET VARIABLE slices = 12")
        con.execute("SET VARIABLE slice = $s", {"s": s})
        n, outside = con.execute(f"SELECT count(*), count(*) FILTER (WHERE NOT in_slice(person_key)) "
                                 f"FROM {store.parquet_source(files)}").fetchone()
        assert outside == 0
        rows += n
    assert rows == 100
    assert sum(1 for files in by_slice if con.execute(
        f"SELECT count(*) FROM {store.parquet_source(files)}").fetchone()[0] == 0) >= 5


def test_slices_grow_with_the_build_memory_and_the_default_is_half_the_machine(monkeypatch):
    class Registrations:  # the one query slice_count makes
        def execute(self, sql):
            assert "landed_gp_registrations" in sql
            return self

        def fetchone(self):
            return (21_000_000,)

    monkeypatch.delenv("SEND_PORTAL_BUILD_SLICES", raising=False)
    monkeypatch.setenv("SEND_PORTAL_BUILD_MEMORY", "6GB")
    assert marts.slice_count(Registrations()) == 9  # as the national build ran before
    monkeypatch.setenv("SEND_PORTAL_BUILD_MEMORY", "12GB")
    assert marts.slice_count(Registrations()) == 5
    monkeypatch.setenv("SEND_PORTAL_BUILD_MEMORY", "12032 MiB")
    assert marts.slice_count(Registrations()) == 4
    monkeypatch.delenv("SEND_PORTAL_BUILD_MEMORY")
    monkeypatch.setattr(marts, "_machine_memory_bytes", lambda: 8 * 2**30)
    assert marts._build_memory_limit() == "4096MiB"
    monkeypatch.setattr(marts, "_machine_memory_bytes", lambda: 64 * 2**30)
    assert marts._build_memory_limit() == "12288MiB"


def test_a_sliced_model_that_does_not_pick_its_slice_is_refused(demo_copy, models_copy):
    (models_copy / "marts" / "fct_ks4.sql").write_text(
        "-- grain: one row per pupil\n-- sliced by person\nSELECT * FROM stg_ks4_attainment")
    _refused("never calls in_slice")


def test_a_slice_count_that_is_not_a_whole_number_is_refused(demo_copy, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_BUILD_SLICES", "3; DROP")
    _refused("SEND_PORTAL_BUILD_SLICES must be a whole number")


def test_every_fact_date_finds_one_spell_and_dates_outside_the_span_take_its_nearest_month():
    """The person spells model run on one hand-made person, joined as the facts join it (fct_gp_events)."""
    con = duckdb.connect()
    con.execute("SET VARIABLE as_of = DATE '2026-09-30'")
    con.execute("SET VARIABLE history_start = DATE '2020-10-01'")
    con.execute((config.MODELS_DIR / "macros.sql").read_text())
    con.execute("SET VARIABLE slices = 1")
    con.execute("SET VARIABLE slice = 0")
    # registered 10 March 2022 to 20 May 2024, so the span is April 2022 to May 2024; born 15 June 2010;
    # SEN support from 10 January 2023
    con.execute("""CREATE TABLE stg_persons AS SELECT 'k1' AS person_key, DATE '2010-06-15' AS date_of_birth,
        'P1' AS practice_code, 'E1' AS small_area_code, 'North' AS locality, 'F' AS sex, 'White' AS ethnicity,
        3 AS imd_quintile, DATE '2022-03-10' AS registration_date, DATE '2024-05-20' AS deregistration_date""")
    con.execute("""CREATE TABLE stg_send_episodes AS SELECT 'k1' AS person_key, DATE '2023-01-10' AS start_date,
        CAST(NULL AS DATE) AS end_date, 'SEN support' AS send_status, 'SEMH' AS primary_need""")
    spells_sql = (config.MODELS_DIR / "staging" / "stg_person_spells.sql").read_text()
    con.execute(f"CREATE TABLE stg_person_spells AS\n{spells_sql}\n")
    spells = con.execute("SELECT from_month, to_month, age, send_status FROM stg_person_spells ORDER BY 1").fetchall()
    d = dt.date
    assert spells == [(d(2022, 4, 1), d(2022, 6, 1), 11, "No SEND"), (d(2022, 7, 1), d(2023, 1, 1), 12, "No SEND"),
                      (d(2023, 2, 1), d(2023, 6, 1), 12, "SEN support"),
                      (d(2023, 7, 1), d(2024, 5, 1), 13, "SEN support")]
    events = {"2019-01-05": (11, "No SEND"),  # before the span: its first month
              "2022-04-01": (11, "No SEND"), "2022-06-30": (11, "No SEND"), "2022-07-01": (12, "No SEND"),
              "2023-03-15": (12, "SEN support"), "2024-05-31": (13, "SEN support"),
              "2026-01-01": (13, "SEN support")}  # after the span: its last month
    con.execute("CREATE TABLE events AS SELECT 'k1' AS person_key, CAST(unnest($dates) AS DATE) AS event_date",
                {"dates": list(events)})
    found = con.execute("""SELECT CAST(e.event_date AS VARCHAR), d.age, d.send_status FROM events e
        JOIN stg_person_spells d ON d.person_key = e.person_key
         AND month_of(e.event_date) BETWEEN d.match_from AND d.match_to""").fetchall()
    assert sorted(found) == sorted((day, *dims) for day, dims in events.items()), "one spell per date"
