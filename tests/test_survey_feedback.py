"""Survey feedback (SPEC §3.7) on the small demo: every role, lowest scores in the planted locality,
comments shown only redacted and only from groups big enough, searchable and grouped by theme."""
from __future__ import annotations

import re

import duckdb
import pytest

from tests.conftest import run_page_as
from tests.journey_checks import assert_complete_page, summary_starting, users
from portal import queries
from portal.filters import Filters
from portal.journeys import survey_feedback as journey
from portal.roles import ANALYST, COMMISSIONER, ROLES

ALL_YEARS = Filters(period="All years")


@pytest.mark.parametrize("role", ROLES)
def test_page_renders_for_each_role(on_small_demo, role):
    at = run_page_as("survey_feedback", users()[role])
    assert_complete_page(at, "Survey feedback", blocks=4, charts=3)
    summary_starting(at, "Families give the lowest scores in")


def test_lowest_scores_are_in_the_planted_locality(on_small_demo):
    expected = on_small_demo["survey"]["lowest_scoring_locality"]
    for role in (COMMISSIONER, ANALYST):
        result = queries.run("survey_scores_by_group", users()[role], ALL_YEARS, by="locality")
        assert journey.lowest_group(result.df)["group"] == expected
        assert journey.scores_summary(result.df, "locality").startswith(f"Families give the lowest scores in {expected}")
    exact = queries.run("survey_scores_by_group", users()[ANALYST], ALL_YEARS, by="locality").df.set_index("group_value")
    for locality, mean in on_small_demo["survey"]["mean_score_by_locality"].items():
        assert exact.loc[locality, "mean_score"] == pytest.approx(mean, abs=1e-3)


def _mart(small_demo, sql: str):
    version = (small_demo / "marts" / "CURRENT").read_text().strip()
    path = small_demo / "marts" / version / "fct_survey_responses.parquet"
    return duckdb.sql(sql.replace("MART", f"read_parquet('{path}')")).df()


def test_comments_shown_are_redacted_and_never_withheld(on_small_demo, small_demo):
    shown = queries.run("survey_comments", users()[COMMISSIONER], ALL_YEARS).df
    assert len(shown) == 50
    planted = on_small_demo["survey"]["planted_identifiers"]
    leaks = [p for p in planted for c in shown["comment"] if p["value"] in c]
    assert leaks == []
    withheld = _mart(small_demo, "SELECT count(*) AS n FROM MART WHERE comment_withheld")["n"].iloc[0]
    assert withheld > 0, "the small demo should have comments withheld from small groups"
    # every comment shown comes from a service x locality x quarter with 8 or more responses
    sizes = _mart(small_demo, "SELECT service, locality, quarter, count(*) AS n FROM MART GROUP BY ALL")
    sizes["label"] = sizes["quarter"].map(lambda q: f"{q.year} Q{(q.month - 1) // 3 + 1}")
    merged = shown.merge(sizes, left_on=["service", "locality", "quarter"], right_on=["service", "locality", "label"])
    assert len(merged) == len(shown) and (merged["n"] >= 8).all()


def test_tags_appear_where_identifiers_were(on_small_demo):
    everything = queries.run("survey_comments", users()[COMMISSIONER], ALL_YEARS, search="[").df
    assert len(everything) > 0
    assert all(re.search(r"\[(name|NHS number|date|phone|email|address)\]", c) for c in everything["comment"])


def test_search_and_theme_filter_comments(on_small_demo):
    user = users()[COMMISSIONER]
    found = queries.run("survey_comments", user, ALL_YEARS, search="WAITING").df
    assert len(found) > 0 and found["comment"].str.lower().str.contains("waiting").all()
    themed = queries.run("survey_comments", user, ALL_YEARS, theme="staff").df
    assert len(themed) > 0 and (themed["theme"] == "staff").all()
    themes = queries.run("survey_comment_themes", user, ALL_YEARS, service="all", search="").df
    assert {"waiting times", "staff", "communication"} <= set(themes["theme"])
    # a search that is SQL-looking is only ever a bound value
    odd = queries.run("survey_comments", user, ALL_YEARS, search="'; DROP TABLE x; --").df
    assert odd.empty


def test_page_search_box_narrows_the_comments(on_small_demo):
    at = run_page_as("survey_feedback", users()[COMMISSIONER], survey_search="bus")
    assert not at.exception
    themes = summary_starting(at, "The most common theme in comments mentioning")
    assert "\u201cbus\u201d" in themes
