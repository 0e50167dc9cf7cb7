"""Waiting lists, EHCP journey and Sleep services on the small demo: every role that may open them, and the
planted stories (longest autism waits, rising melatonin, the two high-need localities) found and said.

Pages run in AppTest with the signed-in user seeded into the session, over the real published marts.
"""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from portal import navigation, queries, store
from portal.journeys import sleep_services, waiting_lists
from portal.roles import ANALYST, CLINICIAN, COMMISSIONER, GP, ROLES
from tests.conftest import run_page_as
from tests.journey_checks import users

PAGES = {"waiting_lists": "Waiting lists", "ehcp_journey": "EHCP journey", "sleep_services": "Sleep services"}


@pytest.fixture
def demo(on_small_demo):
    """The portal pointed at the small demo (shared fixture); the ground truth."""
    return on_small_demo


run_page = run_page_as


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def chart_count(at: AppTest) -> int:
    return len(at.get("arrow_vega_lite_chart"))


# ------------------------------------------------------------------------------------- every role


@pytest.mark.parametrize("page", PAGES)
def test_pages_are_in_every_journey_role_menu(page):
    spec = next(s for s in navigation.PAGES if s.path == f"pages/{page}.py")
    assert spec.title == PAGES[page]
    assert spec.roles == set(ROLES)  # every role sees the themed journeys (SPEC §2)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_for_each_role(demo, page, role):
    at = run_page(page, users()[role])
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.title][0] == PAGES[page]
    assert chart_count(at) >= 3
    headers = [h.value for h in at.header]
    assert len(headers) >= 3
    text = markdown_text(at)
    # every block has its definitions panel, traced to a named query
    assert text.count("**Traceability.** Named query") >= 3
    # downloads of every block: CSV and Excel
    labels = [b.proto.label for b in at.get("download_button")]
    assert sum(label.startswith("Download CSV") for label in labels) >= 3
    assert sum(label.startswith("Download Excel") for label in labels) >= 3
    # the walkthrough and help are offered
    assert any("walkthrough" in e.proto.label for e in at.expander)


# ----------------------------------------------------------------------------------- waiting lists


def test_longest_autism_waits_are_in_the_planted_locality_and_the_summary_says_so(demo):
    expected = demo["autism_waits"]["locality"]
    for role in (COMMISSIONER, ANALYST):
        at = run_page("waiting_lists", users()[role])
        summary = next(m.value for m in at.markdown if m.value.startswith("Right now"))
        assert f"Waits for autism assessment are longest in {expected}: median" in summary, summary
    result = queries.run("longest_waits_by_locality_and_service", users()[ANALYST])
    longest = waiting_lists.longest_wait_locality(result.df, "ASD")
    assert longest.locality == expected
    truth_median = demo["autism_waits"]["median_wait_weeks_waiting_now"]
    assert longest.median_weeks == pytest.approx(truth_median, abs=1.0)


def test_commissioner_sees_rounded_and_hidden_counts_analyst_sees_raw(demo):
    by_role = users()
    raw = queries.run("waits_by_breakdown", by_role[ANALYST], service="ASD", by="primary_need").df
    shown = queries.run("waits_by_breakdown", by_role[COMMISSIONER], service="ASD", by="primary_need").df
    assert raw["group_value"].tolist() == shown["group_value"].tolist()
    small = raw["n_waiting"].between(1, 7)
    assert small.any(), "the demo should have a primary need with 1-7 children waiting for autism assessment"
    assert shown.loc[small, "n_waiting"].isna().all()
    assert shown.loc[small, "median_wait_weeks"].isna().all()
    assert (shown["n_waiting"].dropna() % 5 == 0).all()
    assert not (raw["n_waiting"] % 5 == 0).all()  # the analyst's numbers are not rounded
    # the page table shows the marker where a cell is hidden, and the analyst's table never does
    for role, marker_expected in ((COMMISSIONER, True), (ANALYST, False)):
        at = run_page("waiting_lists", by_role[role], waiting_lists_breakdown="primary_need")
        tables = [t.value for t in at.table] + [d.value for d in at.dataframe]
        # HTML tables escape the marker for Markdown ("\\*"); grids show it as is
        has_marker = any(table.astype(str).map(lambda v: v.replace("\\", "") == "*").any().any() for table in tables)
        assert has_marker == marker_expected, role


def test_clinician_sees_their_own_list_only(demo):
    by_role = users()
    clinician = by_role[CLINICIAN]
    at = run_page("waiting_lists", clinician)
    assert f"Your list: Autism assessment in {clinician.locality}" in [h.value for h in at.header]
    records = queries.run("service_waiting_list", clinician).df
    cur, _ = store.reader().cursor()
    expected = cur.execute(
        "SELECT count(*) FROM fct_referrals WHERE waiting_now AND service = 'ASD' AND locality = $l",
        {"l": clinician.locality}).fetchone()[0]
    assert len(records) == expected > 0
    assert records["wait_weeks"].is_monotonic_decreasing
    assert set(records.columns) >= {"pseudo_id", "age_band", "wait_weeks"}
    assert not {"nhs_number", "given_name", "family_name", "date_of_birth"} & set(records.columns)
    keys = set(records["pseudo_id"])
    others = cur.execute(
        "SELECT DISTINCT person_key FROM fct_referrals WHERE waiting_now AND NOT (service = 'ASD' AND locality = $l) "
        "AND person_key NOT IN (SELECT person_key FROM fct_referrals WHERE waiting_now AND service = 'ASD' AND locality = $l)",
        {"l": clinician.locality}).fetchall()
    assert not keys & {k for (k,) in others}
    for role in (COMMISSIONER, ANALYST, GP):
        assert not any(h.value.startswith("Your list") for h in run_page("waiting_lists", by_role[role]).header)


def test_waiting_well_schemes_follow_the_service(demo):
    at = run_page("waiting_lists", users()[COMMISSIONER], waiting_lists_service="CAMHS")
    text = markdown_text(at)
    assert "Kooth online support" in text and "Understanding Autism parent course" not in text


# ------------------------------------------------------------------------------------ sleep services


def test_melatonin_prescribing_rises_year_on_year(demo):
    analyst = users()[ANALYST]
    overall = queries.run("melatonin_prescribing_by_year", analyst, by="all").df
    assert len(overall) >= 3
    assert sleep_services.rises_every_year(overall)
    # the SEND children's count matches the ground truth for the latest 12 months
    by_status = queries.run("melatonin_prescribing_by_year", analyst, by="send_status").df
    latest = by_status[by_status["year_ending"] == by_status["year_ending"].max()]
    send = latest[latest["group_value"].isin(["EHCP", "SEN support"])]["patients"].sum()
    truth_latest = max(demo["melatonin"]["send_patients_by_year"], key=lambda y: y["period_end"])["send_patients"]
    assert send == pytest.approx(truth_latest, rel=0.05)
    at = run_page("sleep_services", users()[COMMISSIONER])
    assert "Prescribing has risen every year" in markdown_text(at)


def test_map_highlights_the_two_planted_localities(demo):
    planted = sorted(demo["melatonin"]["localities"])
    for role in (COMMISSIONER, ANALYST):
        need = queries.run("melatonin_need_by_locality", users()[role])
        assert sorted(sleep_services.highest_need_localities(need.df)) == planted
        boundaries = sleep_services.load_locality_boundaries(need.version.path)
        assert boundaries is not None, "the marts should ship boundaries.geojson"
        spec = json.dumps(sleep_services.need_map(need.df, boundaries).to_dict())
        outlined = re.search(r'"oneOf": (\[[^\]]*\])', spec).group(1)
        assert sorted(json.loads(outlined)) == planted
    at = run_page("sleep_services", users()[COMMISSIONER])
    summary = next(m.value for m in at.markdown if m.value.startswith("The need for a sleep service"))
    assert all(name in summary for name in planted)


def test_comorbidity_overlap_counts_match_the_marts(demo):
    result = queries.run("melatonin_comorbidity_overlap", users()[ANALYST])
    cur, _ = store.reader().cursor()
    patients, with_autism, autism_and_adhd = cur.execute("""
        WITH p AS (SELECT DISTINCT person_key FROM fct_prescriptions
                   WHERE bnf_chemical = '0401010AD' AND month BETWEEN $s AND $e)
        SELECT count(*), count(*) FILTER (WHERE has_autism), count(*) FILTER (WHERE has_autism AND has_adhd)
        FROM p JOIN dim_person USING (person_key)""",
        {"s": result.filters.period_start, "e": result.filters.period_end}).fetchone()
    cell = result.df.set_index(["condition", "with_condition"])
    assert patients > 0
    assert cell.loc[("Autism", "Autism"), "patients"] == with_autism
    assert cell.loc[("Autism", "ADHD"), "patients"] == autism_and_adhd == cell.loc[("ADHD", "Autism"), "patients"]
    assert (result.df["all_patients"] == patients).all()


# ------------------------------------------------------------------------------------- EHCP journey


def test_ehcp_measures_match_the_casework(demo):
    analyst = users()[ANALYST]
    result = queries.run("ehcp_journey_by_year", analyst)
    latest = result.df.sort_values("year_ending").iloc[-1]
    cur, _ = store.reader().cursor()
    # the latest 12-month period: requests in the 12 calendar months ending with the snapshot month
    requests, within6, decisions = cur.execute("""
        SELECT count(*), count(*) FILTER (WHERE decided_within_6_weeks), count(decision_date)
        FROM fct_ehcp_requests
        WHERE request_date <= $a AND date_trunc('month', request_date) > date_trunc('month', $a) - INTERVAL 12 MONTH
        """, {"a": result.as_of}).fetchone()
    assert latest["requests"] == requests
    assert latest["pct_decided_within_6_weeks"] == pytest.approx(100 * within6 / decisions)
    at = run_page("ehcp_journey", analyst)
    summary = next(m.value for m in at.markdown if m.value.startswith("In the 12 months to"))
    assert f"{latest['requests']:,} requests for an EHC needs assessment were received" in summary
    assert f"{latest['pct_issued_within_20_weeks']:.0f}% within 20 weeks" in summary
    # a commissioner's summary never states a percentage the table hides
    shown = queries.run("ehcp_journey_by_year", users()[COMMISSIONER]).df.sort_values("year_ending").iloc[-1]
    at = run_page("ehcp_journey", users()[COMMISSIONER])
    summary = next(m.value for m in at.markdown if m.value.startswith("In the 12 months to"))
    assert ("within 20 weeks" in summary) == (not pd.isna(shown["pct_issued_within_20_weeks"]))


def test_ehcp_breakdown_choice_changes_the_table(demo):
    at = run_page("ehcp_journey", users()[ANALYST], ehcp_breakdown="primary_need")
    headers = [h.value for h in at.header]
    assert "Plans issued within 20 weeks, by primary need" in headers
