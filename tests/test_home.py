"""Home page: headline numbers (named query home_headlines), changes, summary, glossary, and the page
itself for every role (AppTest through the real entry point, signed in through the form)."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from portal import config, glossary, queries, store
from portal.filters import Filters
from portal.journeys import home
from portal.roles import ANALYST, COMMISSIONER, ROLES, User

APP = str(config.REPO_ROOT / "portal" / "app.py")
ANALYST_USER = User("a", "Analyst", ANALYST)
COMMISSIONER_USER = User("c", "Commissioner", COMMISSIONER)


def mart_sql(sql: str, **params):
    """Run SQL straight on the live version's Parquet files, independently of the query layer."""
    version = store.current_version()
    con = duckdb.connect()
    for mart, files in store.mart_files(version.path).items():
        con.execute(f"CREATE VIEW {mart} AS SELECT * FROM {store.parquet_source(files)}")
    return con.execute(sql, params).fetchone()


def test_headlines_match_the_marts_for_analysts(on_small_demo):
    result = queries.run("home_headlines", ANALYST_USER, Filters())
    row = result.df.iloc[0]
    as_of = result.as_of
    latest_month = as_of.replace(day=1)
    ehcp, sen_support = mart_sql(
        "SELECT sum(n_people) FILTER (WHERE send_status = 'EHCP'), sum(n_people) FILTER (WHERE send_status = 'SEN support')"
        " FROM agg_population_month WHERE month = $m", m=latest_month)
    assert (row.ehcp_now, row.sen_support_now) == (ehcp, sen_support)
    waiting, median_wait = mart_sql(
        "SELECT count(*), median(wait_weeks) FROM fct_referrals WHERE waiting_now AND service IN ('ASD', 'ADHD')")
    assert row.nd_waiting_now == waiting
    assert row.nd_median_wait_now == pytest.approx(median_wait, abs=0.01)
    melatonin, = mart_sql(
        "SELECT count(DISTINCT person_key) FROM fct_prescriptions WHERE bnf_chemical = '0401010AD'"
        " AND month > $as_of - INTERVAL 12 MONTH AND month <= $as_of", as_of=as_of)
    assert row.melatonin_now == melatonin
    issued, on_time = mart_sql(
        "SELECT count(*), count(*) FILTER (WHERE issued_within_20_weeks) FROM fct_ehcp_requests"
        " WHERE plan_issued_date > $as_of - INTERVAL 12 MONTH AND plan_issued_date <= $as_of", as_of=as_of)
    assert (row.plans_issued_now, row.on_time_now) == (issued, on_time)
    assert home.as_date(row.before_date) == latest_month - dt.timedelta(days=1)
    # the melatonin story: prescribing rises, so the 12 months to now hold at least as many patients
    assert row.melatonin_now >= row.melatonin_before > 0


def test_headlines_are_suppressed_for_other_roles(on_small_demo):
    exact = queries.run("home_headlines", ANALYST_USER, Filters()).df.iloc[0]
    shown = queries.run("home_headlines", COMMISSIONER_USER, Filters())
    row = shown.df.iloc[0]
    for column in shown.query.suppress.counts:
        value = row[column]
        if 1 <= exact[column] <= 7:
            assert home.is_missing(value), column
        else:
            assert value % 5 == 0 and abs(value - exact[column]) <= 2.5, column
    for column, bases in shown.query.suppress.statistics.items():
        if any(1 <= exact[base] <= 7 for base in bases):
            assert home.is_missing(row[column]), column


def test_filters_narrow_every_headline(on_small_demo):
    everyone = queries.run("home_headlines", ANALYST_USER, Filters()).df.iloc[0]
    locality, = mart_sql("SELECT min(locality) FROM dim_locality")
    one_place = queries.run("home_headlines", ANALYST_USER, Filters(locality=locality)).df.iloc[0]
    for column in ("ehcp_now", "sen_support_now", "nd_waiting_now", "melatonin_now", "plans_issued_now"):
        assert 0 <= one_place[column] <= everyone[column], column
    assert one_place.ehcp_now < everyone.ehcp_now


@pytest.mark.parametrize("hostile", ["x' OR 1=1 --", "Northfield'; DROP TABLE dim_person; --"])
def test_hostile_filter_values_are_refused(on_small_demo, hostile):
    with pytest.raises(queries.QueryError):
        queries.run("home_headlines", ANALYST_USER, {"locality": hostile})


def value(key: str, now, before) -> home.HeadlineValue:
    return home.HeadlineValue(next(h for h in home.HEADLINES if h.key == key), now, before)


def test_summary_says_what_changed_and_never_mentions_hidden_numbers():
    values = [value("ehcp", 300.0, 290.0), value("nd_median_wait", 35.0, 36.5),
              value("sen_support", 475.0, 475.0), value("melatonin", None, 120.0),
              value("pct_on_time", 60.0, None)]
    text = home.changes_summary(values, dt.date(2026, 8, 31), "Eastfield")
    assert text.startswith("Since 31 August 2026 (Eastfield), ")
    assert "number of children and young people with an EHCP rose by 10 to 300" in text
    assert "median wait for an autism or ADHD assessment fell by 1.5 weeks to 35.0 weeks" in text
    assert "No change in the number on SEN support." in text
    assert "melatonin" not in text and "120" not in text and "20 weeks" not in text


def test_summary_when_everything_is_hidden():
    text = home.changes_summary([value("ehcp", None, None)], dt.date(2026, 8, 31))
    assert "not enough data" in text


def test_tiles_format_and_colour_changes():
    assert home.format_value(home.COUNT, None) == "Fewer than 8"
    assert home.format_value(home.WEEKS, 35.04) == "35.0 weeks"
    assert home.format_change(home.COUNT, 0.0) is None
    assert home.format_change(home.PERCENT, -6.2) == "-6 points"
    waits = next(h for h in home.HEADLINES if h.key == "nd_median_wait")
    assert home.change_colour(waits) == "inverse"  # a longer wait shows red


def test_every_headline_term_is_in_the_glossary():
    for headline in home.HEADLINES:
        for term in headline.glossary:
            assert glossary.lookup(term).definition
    assert glossary.lookup("imd").term == "Deprivation quintile"  # other names find the entry
    terms = [entry.term.lower() for entry in glossary.entries()]
    assert len(terms) == len(set(terms))
    with pytest.raises(KeyError):
        glossary.lookup("not a term")


@pytest.fixture
def demo_with_users(small_demo, tmp_path, monkeypatch, portal_users):
    """The small demo's marts under a private data directory, so its users are this test's alone."""
    data = tmp_path / "data"
    (data / "marts").symlink_to(small_demo / "marts", target_is_directory=True)
    queries.clear_cache()
    yield portal_users
    queries.clear_cache()


@pytest.mark.parametrize("role", ROLES)
def test_home_page_for_each_role(demo_with_users, role):
    at = AppTest.from_file(APP, default_timeout=180).run()
    fields = {box.label: box for box in at.text_input}
    fields["Username"].input(demo_with_users[role])
    fields["Password"].input(demo_with_users.password)
    next(button for button in at.button if button.label == "Sign in").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert [m.label for m in at.metric] == [h.tile for h in home.HEADLINES]
    assert any(m.value.startswith("Since ") for m in at.markdown)
    assert "Start here" in [h.value for h in at.header]
    tables = at.table
    assert tables, "the headline numbers must also be shown as a table"
