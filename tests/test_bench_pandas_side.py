"""The pandas side of the benchmark: every script answers at small scale, and without filters that narrow by
SEND status or age (where the scripts take details at the snapshot rather than at the event) its counts agree
with the portal's query; feeds too large for the machine's memory are refused before they are read, and the
report says why pandas was not measured."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench import pandas_side, pg, query_latency, runner
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


def test_feeds_whose_frames_would_not_fit_in_memory_are_refused(on_small_demo):
    folder = pandas_side.feeds_location()
    on_disk = pandas_side.feed_bytes(folder)
    with pytest.raises(pandas_side.FeedsTooLarge, match=r"GiB of files; read into pandas frames they would take "
                                                         r"about .* GiB this machine has free"):
        pandas_side.check_fits_in_memory(folder, available=on_disk * 2)
    pandas_side.check_fits_in_memory(folder, available=on_disk * 10)  # room enough: no complaint


def test_the_side_by_side_says_why_pandas_was_not_measured(on_small_demo, monkeypatch, tmp_path):
    monkeypatch.setattr(pandas_side.psutil, "virtual_memory", lambda: SimpleNamespace(available=1024))
    monkeypatch.setattr(pandas_side, "load", lambda *args: pytest.fail("the feeds were read"))
    monkeypatch.setattr(pg, "available", lambda: False)  # the PostgreSQL side has tests of its own
    timings = query_latency.measure(["survey_scores_by_group"], runs=2, cold_runs=0, progress=_quiet)
    findings = runner.Findings()
    options = runner.BenchOptions(scales=["small"], parts=["compare"], data_root=tmp_path)

    runner._part_compare(options, "small", timings, findings)

    [table] = findings.tables
    assert "pandas: not measured, because the raw feeds are" in table.note
    assert table.rows[0][2] == "–"
    [(target, measured, verdict, scale)] = findings.checks
    assert target.startswith("every page's queries ≥ 10x faster than pandas")
    assert measured.startswith("pandas not measured: the raw feeds are") and verdict == "not measured"
