"""Health services use (SPEC §3.6) on the small demo (the impact view also on the county demo, when given): every role, the A&E crossover, and the impact view
finding the planted intervention (and nothing on a date with no change)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.conftest import run_page_as
from tests.journey_checks import assert_complete_page, summary_starting, users
from portal import queries
from portal.journeys import health_services as journey
from portal.roles import ANALYST, COMMISSIONER, ROLES


def _history(role: str) -> pd.DataFrame:
    return queries.run("health_activity_series", users()[role]).df


@pytest.mark.parametrize("role", ROLES)
def test_page_renders_for_each_role(on_small_demo, role):
    at = run_page_as("health_services", users()[role])
    assert_complete_page(at, "Health services use", blocks=4, charts=3)
    summary_starting(at, "In the latest")
    summary_starting(at, "From ")  # the impact view's plain-English result


DEMOS = ["on_small_demo", "on_county_demo"]  # the county one runs when a built county demo is given


@pytest.mark.parametrize("demo", DEMOS)
@pytest.mark.parametrize("role", [COMMISSIONER, ANALYST])
def test_impact_view_finds_the_planted_level_change(request, demo, role):
    truth = request.getfixturevalue(demo)["ae_intervention"]
    series = journey.impact_series(_history(role), "SEND", "ae_per_1000")
    impact = journey.run_impact(series, dt.date.fromisoformat(truth["intervention_date"]))
    level = impact.result.level_change
    assert level.holds(truth["true_level_change_per_1000_per_month"]), level
    assert level.excludes_zero and level.estimate < 0


@pytest.mark.parametrize("demo", DEMOS)
@pytest.mark.parametrize("role", [COMMISSIONER, ANALYST])
def test_impact_view_finds_nothing_on_a_date_with_no_change(request, demo, role):
    truth = request.getfixturevalue(demo)["ae_intervention"]
    # the ground truth's advice: analyse a window that ends before the real intervention
    before = dt.date.fromisoformat(truth["intervention_date"]) - dt.timedelta(days=1)
    series = journey.impact_series(_history(role), "SEND", "ae_per_1000", end=before)
    impact = journey.run_impact(series, dt.date.fromisoformat(truth["no_change_date"]))
    level = impact.result.level_change
    assert level.holds(truth["no_change_true_level_change"]) and not level.excludes_zero, level


def test_page_impact_view_on_the_planted_date(on_small_demo):
    truth = on_small_demo["ae_intervention"]
    date = dt.date.fromisoformat(truth["intervention_date"])
    at = run_page_as("health_services", users()[COMMISSIONER], impact_group="SEND", impact_date=date)
    assert not at.exception
    text = summary_starting(at, f"From {date:%B %Y}, A&E attendances per 1,000 children a month for children with SEND fell")
    assert "bigger than chance" in text
    effect = next(t for t in at.get("arrow_table") if "Measure of change" in " ".join(map(str, t.value.columns))
                  or "Measure of change" == t.value.index.name)
    assert effect is not None
    caveats = "\n".join(m.value for m in at.markdown if m.value.startswith("**Things to bear in mind**"))
    assert "Other changes at the same time" in caveats and "Seasonality" in caveats


def test_send_children_went_from_more_to_fewer_ae_visits(on_small_demo):
    """The planted crossover: SEND children used A&E more than others before the change, less after."""
    history = _history(ANALYST)
    text = journey.trend_summary(history, "ae_per_1000")
    assert "That has turned around" in text and "went from more to fewer visits" in text, text


def test_short_window_gives_a_message_not_an_error(on_small_demo):
    history = _history(COMMISSIONER)
    months = sorted(pd.to_datetime(history["month"]).dt.date.unique())
    series = journey.impact_series(history, "SEND", "ae_per_1000", start=months[-5])
    impact = journey.run_impact(series, months[-2])
    assert impact.result is None and "at least 3" in impact.message
