"""The pandas side of the benchmark: every script answers at small scale, and without filters that narrow by
SEND status or age (where the scripts take details at the snapshot rather than at the event) its counts agree
with the portal's query."""
from __future__ import annotations

import pytest

from bench import pandas_side, query_latency
from portal import queries, store
from portal.filters import Filters, as_of_date, resolve_period
from portal.roles import ANALYST, User

pytestmark = pytest.mark.timeout(600)

# a count each script should reproduce, by question
MAIN_COUNT = {
    "waits_by_service": "n_waiting",
    "waiting_trend_by_month": "n_waiting",
    "people_by_locality": "n_people",
    "ehcp_annual_reviews": "plans_in_place",
    "education_attainment_by_group": "pupils",
    "education_absence_by_group": "pupils",
    "health_activity_by_month": "ae_attendances",
    "health_activity_by_group": "gp_contacts",
    "inequalities_ae": "events",
    "inequalities_long_waits": "events",
    "transition_contacts_by_age": "gp_contacts",
    "survey_scores_by_group": "responses",
    "home_headlines": "ehcp_now",
}


def _quiet(message):
    pass


def test_every_pandas_script_answers(on_small_demo):
    names = sorted(pandas_side.QUESTIONS)
    timings = query_latency.measure(names, runs=3, cold_runs=0, progress=_quiet)
    result = pandas_side.run(timings, progress=_quiet)
    assert result.problems == {}
    assert set(result.runs) == set(names)


def test_pandas_counts_agree_with_the_portal(on_small_demo):
    as_of = as_of_date(store.reader().version())
    feeds = pandas_side.load(pandas_side.feeds_location(), as_of)
    start, end = resolve_period("Last 3 years", as_of)
    filters = Filters(period="Last 3 years", period_start=start, period_end=end)
    user = User("bench-analyst", "Bench", ANALYST)
    for name, column in MAIN_COUNT.items():
        portal = queries.run(name, user, filters).df
        mine = pandas_side.QUESTIONS[name](feeds, pandas_side.applicable(name, filters), {})
        assert mine[column].sum() == pytest.approx(portal[column].sum(), rel=0.05), name
