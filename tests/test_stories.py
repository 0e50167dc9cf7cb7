"""Every planted story is found by querying the published marts, and matches the ground truth."""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import numpy as np
import pytest

from portal import store


def _data_dir(request, scale: str) -> Path:
    if scale == "small":
        return request.getfixturevalue("small_demo")
    county = os.environ.get("SEND_PORTAL_COUNTY_DATA_DIR")
    if not county:
        pytest.skip("the county demo takes minutes to build: set SEND_PORTAL_COUNTY_DATA_DIR to a built one "
                    "(python -m portal build-demo --scale county) to check the stories at county scale too")
    return Path(county)


@pytest.fixture(scope="module", params=["small", "county"])
def marts(request):
    """A DuckDB connection with a view per published mart, the ground truth and the mart version: of the
    small demo always, and of the county demo when one is given."""
    scale = request.param
    data_dir = _data_dir(request, scale)
    version = store.current_version(data_dir / "marts")
    con = duckdb.connect()
    for path in version.path.glob("*.parquet"):
        con.execute(f"CREATE VIEW {path.stem} AS SELECT * FROM read_parquet('{path.as_posix()}')")
    truth = json.loads((data_dir / "feeds" / scale / "ground_truth.json").read_text())
    yield con, truth, version
    con.close()


def test_manifest_as_of_matches_ground_truth(marts):
    con, truth, version = marts
    assert version.manifest["as_of"] == truth["as_of"] == "2026-09-30"
    assert version.manifest["scale"] == truth["scale"]


def test_melatonin_rises_year_on_year_and_concentrates_in_two_localities(marts):
    con, truth, _ = marts
    years = con.execute("""
        SELECT floor(date_diff('month', month, DATE '2026-09-01') / 12) AS period, count(DISTINCT person_key)
        FROM fct_prescriptions
        WHERE bnf_chemical = '0401010AD' AND send_status <> 'No SEND'
        GROUP BY period ORDER BY period DESC
    """).fetchall()
    found = [n for _, n in years]
    expected = [y["send_patients"] for y in truth["melatonin"]["send_patients_by_year"]]
    assert found == expected
    assert all(b > a for a, b in zip(found, found[1:])), "melatonin patients should rise every year"
    by_locality = con.execute("""
        SELECT p.locality, count(DISTINCT p.person_key) AS patients, l.n_cyp
        FROM fct_prescriptions p JOIN dim_locality l USING (locality)
        WHERE bnf_chemical = '0401010AD' AND send_status <> 'No SEND' AND month >= DATE '2025-10-01'
        GROUP BY p.locality, l.n_cyp ORDER BY patients * 1.0 / l.n_cyp DESC
    """).fetchall()
    assert {row[0]: row[1] for row in by_locality} == truth["melatonin"]["send_patients_last_12_months_by_locality"]
    assert sorted(row[0] for row in by_locality[:2]) == sorted(truth["melatonin"]["localities"])


def test_ae_crossover_after_the_intervention(marts):
    con, truth, _ = marts
    story = truth["ae_intervention"]
    rows = con.execute("""
        SELECT month >= $date AS after, send_status <> 'No SEND' AS send,
               sum(ae_attendances) * 1000.0 / sum(n_people) AS rate, month
        FROM agg_activity_month GROUP BY ALL
    """, {"date": story["intervention_date"]}).fetchall()
    monthly: dict[tuple[bool, bool], list[float]] = {}
    for after, send, rate, _ in rows:
        monthly.setdefault((after, send), []).append(rate)
    mean = {k: float(np.mean(v)) for k, v in monthly.items()}
    assert mean[(False, True)] == pytest.approx(story["send_rate_before"], abs=1e-3)
    assert mean[(True, True)] == pytest.approx(story["send_rate_after"], abs=1e-3)
    assert mean[(False, True)] > mean[(False, False)], "SEND children used A&E more before the intervention"
    assert mean[(True, True)] < mean[(True, False)], "and less after it"
    change = mean[(True, True)] - mean[(False, True)]
    assert change == pytest.approx(story["true_level_change_per_1000_per_month"], abs=4.0)


def test_one_locality_has_far_longer_autism_waits(marts):
    con, truth, _ = marts
    rows = dict(con.execute("""
        SELECT locality, median(wait_weeks) FROM fct_referrals
        WHERE service = 'ASD' AND waiting_now GROUP BY locality
    """).fetchall())
    story = truth["autism_waits"]
    for locality, weeks in story["median_wait_weeks_waiting_now_by_locality"].items():
        assert rows[locality] == pytest.approx(weeks, abs=0.01)
    longest = max(rows, key=rows.get)
    assert longest == story["locality"]
    others = sorted(v for k, v in rows.items() if k != longest)
    assert rows[longest] > 1.4 * others[-1]


def test_attainment_gap(marts):
    con, truth, _ = marts
    means = dict(con.execute("SELECT send_status, avg(attainment8) FROM fct_ks4 GROUP BY send_status").fetchall())
    for status, value in truth["attainment"]["mean_attainment8"].items():
        assert means[status] == pytest.approx(value, abs=1e-3)
    assert means["No SEND"] - means["EHCP"] > 25


def test_gp_contact_drops_and_ae_rises_after_18_for_send(marts):
    con, truth, _ = marts
    rates = {age: (gp, ae) for age, gp, ae in con.execute("""
        SELECT age, sum(gp_contacts) / sum(person_years), sum(ae_attendances) / sum(person_years)
        FROM agg_transition_age WHERE send_status <> 'No SEND' AND age IN (17, 19) GROUP BY age
    """).fetchall()}
    story = truth["transition"]
    assert rates[17][0] == pytest.approx(story["gp_per_person_year_age_17"], abs=1e-3)
    assert rates[19][0] == pytest.approx(story["gp_per_person_year_age_19"], abs=1e-3)
    assert rates[17][1] == pytest.approx(story["ae_per_person_year_age_17"], abs=1e-3)
    assert rates[19][1] == pytest.approx(story["ae_per_person_year_age_19"], abs=1e-3)
    assert rates[19][0] < rates[17][0] and rates[19][1] > rates[17][1]


def test_asthma_review_gap_per_practice(marts):
    con, truth, version = marts
    rows = con.execute("""
        SELECT p.practice_code, p.person_key
        FROM dim_person p
        WHERE p.send_status = 'EHCP'
          AND EXISTS (SELECT 1 FROM fct_gp_events e WHERE e.person_key = p.person_key AND e.concept = 'asthma')
          AND NOT EXISTS (SELECT 1 FROM fct_gp_events e WHERE e.person_key = p.person_key
                          AND e.concept = 'asthma_review'
                          AND e.event_date > DATE '2026-09-30' - INTERVAL 12 MONTH)
        ORDER BY 1, 2
    """).fetchall()
    found: dict[str, list[str]] = {}
    for practice, key in rows:
        found.setdefault(practice, []).append(key)
    story = truth["asthma_review_gap"]
    assert found == {p: v["person_keys"] for p, v in story["by_practice"].items()}
    assert sum(len(v) for v in found.values()) == story["total"] > 0
    # the identifiable store resolves the same people to the NHS numbers in the ground truth
    persons = version.path.parent.parent / "identifiable" / "persons.parquet"
    nhs = dict(con.execute(f"SELECT person_key, nhs_number FROM read_parquet('{persons.as_posix()}')").fetchall())
    for practice, entry in story["by_practice"].items():
        assert [nhs[k] for k in entry["person_keys"]] == entry["nhs_numbers"]


def test_survey_scores_lowest_where_waits_longest(marts):
    con, truth, _ = marts
    lowest = con.execute("SELECT locality FROM fct_survey_responses GROUP BY locality ORDER BY avg(score) LIMIT 1"
                         ).fetchone()[0]
    assert lowest == truth["survey"]["lowest_scoring_locality"] == truth["autism_waits"]["locality"]


def test_send_prevalence_follows_published_rates(marts):
    con, truth, _ = marts
    ehcp, support = con.execute("""
        SELECT avg((send_status = 'EHCP')::INT) * 100, avg((send_status = 'SEN support')::INT) * 100
        FROM dim_person WHERE age BETWEEN 5 AND 15
    """).fetchone()
    assert 3.5 < ehcp < 7.5 and 11 < support < 18
