"""GP cohort finder: the definition, the named query over real Parquet marts, practice scope, audit.

Two data sets: a hand-made practice list whose every row is chosen to test one rule (boundaries, never
reviewed, other practice), and the synthetic demo, whose ground truth lists, per practice, the children with
an EHCP and asthma and no asthma review in 12 months.
"""
from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from portal import cohorts, config, ops, queries, store
from portal.cohorts import CohortDefinition, CohortError
from portal.roles import ANALYST, COMMISSIONER, GP, User
from tests.apptest_helpers import shown_tables

AS_OF = date(2026, 10, 31)
GP_A = User("gp.a", "Dr A", GP, practice_code="P001")
GP_B = User("gp.b", "Dr B", GP, practice_code="P002")
RECALL = CohortDefinition("EHCP", ("asthma",), "asthma_review", 12)

# person_key, practice, send_status, events [(concept, date)]
PEOPLE = [
    ("k1", "P001", "EHCP", [("asthma", "2019-03-01"), ("asthma_review", "2025-06-01")]),   # overdue
    ("k2", "P001", "EHCP", [("asthma", "2019-03-01"), ("asthma_review", "2026-03-01")]),   # reviewed
    ("k3", "P001", "EHCP", [("asthma", "2022-01-10")]),                                    # never reviewed
    ("k4", "P001", "SEN support", [("asthma", "2020-05-05")]),                             # not EHCP
    ("k5", "P001", "EHCP", [("adhd", "2021-02-02")]),                                      # no asthma
    ("k6", "P002", "EHCP", [("asthma", "2018-07-07")]),                                    # other practice
    ("k7", "P001", "EHCP", [("asthma", "2018-01-01"), ("asthma_review", "2025-10-31")]),   # exactly 12 months
    ("k8", "P001", "EHCP", [("asthma", "2018-01-01"), ("asthma_review", "2025-11-01")]),   # just inside
    ("k9", "P001", "No SEND", [("asthma", "2018-01-01"), ("obesity", "2024-01-01")]),
]
GIRLS = {"k3", "k4"}


def _publish_handmade_marts() -> None:
    people = pd.DataFrame([{
        "person_key": key, "practice_code": practice, "small_area_code": "E01000001", "age": 9,
        "locality": "Eastfield", "age_band": "5-10", "sex": "Female" if key in GIRLS else "Male",
        "ethnicity": "White", "imd_quintile": 2, "send_status": send,
        "primary_need": "None" if send == "No SEND" else "SLCN",
        **{f"has_{concept}": any(c == concept for c, _ in events) for concept in cohorts.CONDITIONS},
    } for key, practice, send, events in PEOPLE])
    events = pd.DataFrame([{
        "person_key": key, "practice_code": practice, "event_date": pd.Timestamp(day).date(),
        "snomed_code": "0", "concept": concept,
    } for key, practice, _send, evs in PEOPLE for concept, day in evs])
    identifiable = pd.DataFrame([{
        "person_key": key, "nhs_number": f"999000000{n}", "given_name": f"Given{n}", "family_name": f"Family{n}",
        "date_of_birth": date(2017, 1, n), "practice_code": practice,
    } for n, (key, practice, _s, _e) in enumerate(PEOPLE, start=1)])
    version = config.marts_dir() / "v20261101T000000"
    version.mkdir(parents=True)
    people.to_parquet(version / "dim_person.parquet")
    events.to_parquet(version / "fct_gp_events.parquet")
    pd.DataFrame({"locality": ["Eastfield"]}).to_parquet(version / "dim_locality.parquet")
    pd.DataFrame({"practice_code": ["P001", "P002"], "practice_name": ["Oak Surgery", "Elm Practice"],
                  "locality": ["Eastfield", "Eastfield"]}).to_parquet(version / "dim_practice.parquet")
    (version / "manifest.json").write_text(json.dumps({
        "version": version.name, "built_at": "2026-11-01T00:00:00", "as_of": AS_OF.isoformat(),
        "marts": {"dim_person": {"rows": len(people)}}}))
    config.identifiable_dir().mkdir(parents=True)
    identifiable.to_parquet(config.identifiable_dir() / "persons.parquet")
    store.publish(version)


@pytest.fixture
def handmade(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path))
    _publish_handmade_marts()
    return tmp_path


def _nhs(result) -> list[str]:
    return sorted(result.df["nhs_number"])


def _nhs_of(*keys) -> list[str]:
    index = {key: f"999000000{n}" for n, (key, *_rest) in enumerate(PEOPLE, start=1)}
    return sorted(index[k] for k in keys)


# --- the definition ---------------------------------------------------------------------------------

def test_definition_reads_in_plain_english_and_round_trips():
    assert RECALL.describe() == ("children and young people with an EHCP, with asthma, and no asthma review "
                                 "recorded in the last 12 months")
    assert CohortDefinition("Any", ("adhd", "autism")).describe() == "children and young people, with ADHD and autism"
    assert CohortDefinition.from_dict(json.loads(json.dumps(RECALL.to_dict()))) == RECALL
    assert RECALL.query_params() == {"cohort_send_status": "EHCP", "conditions": ["asthma"],
                                     "no_event": "asthma_review", "no_event_months": 12}


@pytest.mark.parametrize("kwargs, message", [
    ({"send_status": "everyone"}, "SEND status"),
    ({"conditions": ("asthma'; DROP TABLE x; --",)}, "Unknown condition"),
    ({"no_event": "flu_jab"}, "Unknown event"),
    ({"no_event_months": 7}, "number of months"),
])
def test_definition_refuses_values_outside_the_lists(kwargs, message):
    with pytest.raises(CohortError, match=message):
        CohortDefinition(**kwargs)


def test_every_choice_offered_is_accepted_by_the_query():
    spec = queries.load_query(cohorts.QUERY_NAME)
    assert set(spec.params["cohort_send_status"].allowed) == set(cohorts.SEND_CHOICES)
    assert set(spec.params["conditions"].allowed) == set(cohorts.CONDITIONS)
    assert set(spec.params["no_event"].allowed) == {"none", *cohorts.EVENTS}
    assert set(spec.params["no_event_months"].allowed) == set(cohorts.MONTH_CHOICES)
    assert spec.output == "identifiable" and spec.scope == "practice" and spec.roles == (GP,)


# --- the query over real Parquet ------------------------------------------------------------------------

def test_recall_cohort_follows_each_rule(handmade):
    result = cohorts.run_cohort(GP_A, RECALL, audit=False)
    # k1 overdue, k3 never reviewed, k7 reviewed exactly 12 months ago (not within the last 12 months).
    assert _nhs(result) == _nhs_of("k1", "k3", "k7")
    assert list(result.df.columns) == list(cohorts.LIST_COLUMNS)
    by_nhs = result.df.set_index("nhs_number")
    assert pd.isna(by_nhs.loc[_nhs_of("k3")[0], "last_event_date"])  # never reviewed comes first
    assert result.df.iloc[0]["nhs_number"] == _nhs_of("k3")[0]
    assert str(by_nhs.loc[_nhs_of("k1")[0], "last_event_date"])[:10] == "2025-06-01"
    assert by_nhs.loc[_nhs_of("k1")[0], "last_event"] == "asthma_review"
    assert by_nhs.loc[_nhs_of("k1")[0], "name"] == "Given1 Family1"


def test_other_cohort_shapes(handmade):
    run = lambda d: _nhs(cohorts.run_cohort(GP_A, d, audit=False))  # noqa: E731
    assert run(CohortDefinition("Any", ("asthma",))) == _nhs_of("k1", "k2", "k3", "k4", "k7", "k8", "k9")
    assert run(CohortDefinition("Any", ("asthma", "obesity"))) == _nhs_of("k9")
    assert run(CohortDefinition("EHCP or SEN support", ("asthma",), "asthma_review", 12)) == _nhs_of(
        "k1", "k3", "k4", "k7")
    # k2 was reviewed 8 months ago: outside a 6-month window.
    assert run(CohortDefinition("EHCP", (), "asthma_review", 6)) == _nhs_of("k1", "k2", "k3", "k5", "k7", "k8")
    assert run(CohortDefinition("No SEND")) == _nhs_of("k9")


def test_global_filters_narrow_the_list(handmade):
    from portal.filters import default_filters
    version = store.current_version()
    boys = default_filters(version).__class__(sex="Male")
    result = cohorts.run_cohort(GP_A, RECALL, boys, audit=False)
    assert _nhs(result) == _nhs_of("k1", "k7")  # k3 is a girl


def test_each_practice_sees_only_its_own_patients(handmade):
    a = _nhs(cohorts.run_cohort(GP_A, RECALL, audit=False))
    b = _nhs(cohorts.run_cohort(GP_B, RECALL, audit=False))
    assert b == _nhs_of("k6") and not set(a) & set(b)


@pytest.mark.parametrize("smuggled", [{"practice_code": "P002"}, {"practice": "P002"}, {"scope": "P002"}])
def test_practice_cannot_be_chosen_by_the_caller(handmade, smuggled):
    with pytest.raises(queries.ScopeViolation):
        queries.run(cohorts.QUERY_NAME, GP_A, None, **RECALL.query_params(), **smuggled)


@pytest.mark.parametrize("user", [User("c", "C", COMMISSIONER), User("a", "A", ANALYST),
                                  User("x", "X", GP, practice_code=None)])
def test_other_roles_and_unlinked_gps_get_nothing(handmade, user):
    with pytest.raises((PermissionError, queries.ForbiddenQuery)):
        cohorts.run_cohort(user, RECALL)
    with pytest.raises(queries.ForbiddenQuery):
        queries.run(cohorts.QUERY_NAME, user, None, **RECALL.query_params())


# --- audit ---------------------------------------------------------------------------------------------

def test_every_view_and_export_is_audited_with_definition_and_rows(handmade):
    result = cohorts.run_cohort(GP_A, RECALL)
    cohorts.record_export(GP_A, RECALL, len(result.df), "csv")
    view, export = reversed([e for e in ops.audit_events(limit=10) if e["event"].startswith("cohort_")])
    assert (view["event"], view["username"], view["detail"]["rows"]) == ("cohort_view", "gp.a", 3)
    assert view["detail"]["cohort"] == RECALL.to_dict() and view["detail"]["practice_code"] == "P001"
    assert view["detail"]["cohort_text"] == RECALL.describe()
    assert (export["event"], export["detail"]["rows"], export["detail"]["format"]) == ("cohort_export", 3, "csv")
    assert view["at"] and export["at"] >= view["at"]


# --- saved definitions ----------------------------------------------------------------------------------

def test_saved_definitions_are_shared_within_the_practice_only(handmade):
    colleague = User("gp.a2", "Dr A2", GP, practice_code="P001")
    cohorts.save_definition(GP_A, "Asthma recall (EHCP)", RECALL)
    mine = cohorts.saved_definitions(colleague)
    assert [(s.name, s.definition) for s in mine] == [("Asthma recall (EHCP)", RECALL)]
    assert cohorts.saved_definitions(GP_B) == []
    # Saving again under the same name replaces it.
    other = CohortDefinition("SEN support", ("obesity",))
    cohorts.save_definition(colleague, "Asthma recall (EHCP)", other)
    assert [s.definition for s in cohorts.saved_definitions(GP_A)] == [other]
    assert not cohorts.delete_definition(GP_B, mine[0].id)  # another practice cannot delete it
    assert cohorts.delete_definition(GP_A, mine[0].id)
    assert cohorts.saved_definitions(GP_A) == []
    with pytest.raises(CohortError):
        cohorts.save_definition(GP_A, "<script>", RECALL)


# --- the page (AppTest) -------------------------------------------------------------------------------------

PAGE = str(config.PAGES_DIR / "gp_cohort_finder.py")


def _page(user: User):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["portal_user"] = user
    return at.run()


def _listed(at) -> list[str]:
    tables = shown_tables(at)
    return sorted(tables[0]["NHS number"].astype(str)) if tables else []


def test_page_shows_the_practice_list_with_chart_summary_and_audit(handmade):
    at = _page(GP_A)
    assert not at.exception
    assert _listed(at) == _nhs_of("k1", "k3", "k7")
    assert len(at.get("arrow_vega_lite_chart")) == 1
    summary = next(m.value for m in at.markdown if "match this cohort" in m.value)
    assert summary.startswith("3 people registered with Oak Surgery (P001) match this cohort")
    assert "1 of them has never had an asthma review recorded" in summary
    assert [b.proto.label for b in at.get("download_button")] == [
        "Download CSV: cohort list", "Download Excel: cohort list"]
    assert any("What does this mean?" in e.proto.label for e in at.expander)
    views = [e for e in ops.audit_events(event="cohort_view")]
    assert len(views) == 1 and views[0]["username"] == "gp.a" and views[0]["detail"]["rows"] == 3


def test_page_runs_a_new_definition_from_the_form(handmade):
    at = _page(GP_A)
    at.selectbox(key="cohort_send_status").select("Any")
    at.checkbox(key="cohort_condition_obesity").check()
    at.selectbox(key="cohort_no_event").select("(no event rule)")
    next(b for b in at.button if b.proto.label == "Find children").click()
    at.run()
    assert _listed(at) == _nhs_of("k9")
    last = ops.audit_events(event="cohort_view")[0]["detail"]
    assert last["cohort"] == {"send_status": "Any", "conditions": ["asthma", "obesity"], "no_event": None,
                              "no_event_months": 12}


def test_page_ignores_a_practice_smuggled_into_the_session(handmade):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["portal_user"] = GP_A
    at.session_state["cohort_definition"] = {**RECALL.to_dict(), "practice_code": "P002", "practice": "P002"}
    at.run()
    assert _listed(at) == _nhs_of("k1", "k3", "k7") and _nhs_of("k6")[0] not in _listed(at)


def test_page_saves_a_definition_for_the_practice(handmade):
    at = _page(GP_A)
    at.text_input[0].input("Asthma recall")
    next(b for b in at.button if b.proto.label == "Save cohort").click()
    at.run()
    assert [s.name for s in cohorts.saved_definitions(GP_A)] == ["Asthma recall"]
    assert at.selectbox(key="cohort_saved_choice").options == ["Asthma recall"]


@pytest.mark.parametrize("user", [User("c", "C", COMMISSIONER), User("a", "A", ANALYST)])
def test_page_refuses_other_roles_even_if_opened_directly(handmade, user):
    from portal import navigation

    assert "gp-cohort-finder" not in [p.url_path for p in navigation.pages_for(user.role)]
    at = _page(user)
    assert not shown_tables(at) and not at.get("arrow_vega_lite_chart")
    assert any("only for GP practice users" in e.value for e in at.error)
    assert ops.audit_events(event="cohort_view") == []


# --- the synthetic demo's ground truth ------------------------------------------------------------------------

@pytest.fixture
def demo_dir(small_demo, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(small_demo))
    queries.clear_cache()
    return small_demo


def _check_recall_against_ground_truth(data_dir, scale: str) -> None:
    truth = json.loads((data_dir / "feeds" / scale / "ground_truth.json").read_text())["asthma_review_gap"]
    cursor, _version = store.reader().cursor()
    practices = [row[0] for row in cursor.execute("SELECT practice_code FROM dim_practice ORDER BY 1").fetchall()]
    assert set(truth["by_practice"]) <= set(practices) and truth["total"] > 0
    seen: dict[str, set[str]] = {}
    for practice in practices:
        gp = User(f"gp-{practice}", "GP", GP, practice_code=practice)
        listed = cohorts.run_cohort(gp, RECALL, audit=False).df
        expected = truth["by_practice"].get(practice, {}).get("nhs_numbers", [])
        assert sorted(listed["nhs_number"].astype(str)) == sorted(expected), practice
        seen[practice] = set(listed["nhs_number"].astype(str))
    assert sum(len(s) for s in seen.values()) == truth["total"]
    # no child appears on two practices' lists
    assert len(set().union(*seen.values())) == truth["total"]


def test_recall_cohort_is_exactly_the_ground_truth_for_every_practice(demo_dir):
    _check_recall_against_ground_truth(demo_dir, "small")


def test_recall_cohort_matches_the_county_demo(monkeypatch):
    """The county demo takes about half an hour to build, so this runs against one already built:
    SEND_PORTAL_COUNTY_DATA_DIR=<its data directory> (python -m portal build-demo --scale county)."""
    import os
    from pathlib import Path

    county = os.environ.get("SEND_PORTAL_COUNTY_DATA_DIR")
    if not county:
        pytest.skip("set SEND_PORTAL_COUNTY_DATA_DIR to a built county demo to run this")
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", county)
    queries.clear_cache()
    _check_recall_against_ground_truth(Path(county), "county")
