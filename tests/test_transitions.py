"""Transitions 14-25 (SPEC §3.9) on the small demo: every role, the planted drop at 18, follow-up."""
from __future__ import annotations

import pytest

from tests.conftest import run_page_as
from tests.journey_checks import assert_complete_page, summary_starting, users
from portal import queries
from portal.journeys import transitions as journey
from portal.roles import ANALYST, COMMISSIONER, ROLES


@pytest.mark.parametrize("role", ROLES)
def test_page_renders_for_each_role(on_small_demo, role):
    at = run_page_as("transitions", users()[role])
    assert_complete_page(at, "Transitions (14 to 25)", blocks=2, charts=2)
    summary_starting(at, "For young people with SEND, GP consultations fall from")


def test_drop_at_18_matches_ground_truth(on_small_demo):
    truth = on_small_demo["transition"]
    df = queries.run("transition_contacts_by_age", users()[ANALYST]).df
    for measure, name in (("gp_per_person_year", "gp"), ("ae_per_person_year", "ae")):
        change = journey.drop_at_18(df, measure, "SEND")
        assert change["at_17"] == pytest.approx(truth[f"{name}_per_person_year_age_17"], rel=0.02)
        assert change["at_19"] == pytest.approx(truth[f"{name}_per_person_year_age_19"], rel=0.02)
    gp = journey.drop_at_18(df, "gp_per_person_year", "SEND")
    assert gp["change_pct"] < -30  # the planted drop-off
    # commissioners see the same drop from rounded figures
    shown = journey.drop_at_18(queries.run("transition_contacts_by_age", users()[COMMISSIONER]).df,
                               "gp_per_person_year", "SEND")
    assert shown["change_pct"] == pytest.approx(gp["change_pct"], abs=3)


def test_followup_counts_add_up(on_small_demo):
    df = queries.run("transition_followup", users()[ANALYST], by="year").df
    assert (df["left_without_follow_up"] <= df["left_childrens_services"]).all()
    assert (df["left_childrens_services"] <= df["young_people"]).all()
    text = journey.followup_summary(df, "year")
    assert text.startswith(f"Of {int(df['left_childrens_services'].sum()):,} young people with SEND")


def test_no_send_filter_explains_itself(on_small_demo):
    from portal.filters import Filters

    df = queries.run("transition_contacts_by_age", users()[COMMISSIONER], Filters(send_status="No SEND")).df
    assert journey.age_summary(df).startswith("Choose a SEND status other than")


def test_page_breakdown_choice(on_small_demo):
    at = run_page_as("transitions", users()[COMMISSIONER], transitions_followup_by="locality",
                     transitions_measure="ae_per_person_year")
    assert not at.exception
    assert "A&E attendances per person a year, by age" in [h.value for h in at.header]
    summary_starting(at, "Of ")
