"""How do we compare?: the named queries over the real published figures, the journey logic, the page."""
from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from portal import config, queries
from portal.journeys import compare as journey
from portal.roles import ROLES, User

AREA_LAS, AREA_ICB = ["891", "892"], "E54000060"
PAGE = str(config.PAGES_DIR / "compare.py")


def user(role="commissioner"):
    extra = {"gp": {"practice_code": "P001"}, "clinician": {"service": "ASD", "locality": "Northfield"}}
    return User(f"test-{role}", f"Test {role}", role, **extra.get(role, {}))


def benchmarks(ids, role="commissioner", las=AREA_LAS, icb=AREA_ICB):
    return queries.run("compare_benchmarks", user(role), None, indicator_ids=ids, la_codes=las, icb_code=icb)


@pytest.fixture
def catalogue(public_marts):
    available = queries.run("compare_indicators_available", user(), None, area_codes=AREA_LAS + [AREA_ICB])
    return journey.indicators(available.df)


def test_latest_figures_against_england_region_and_neighbours(catalogue):
    indicator = catalogue["ehcp_pct_issued_20_weeks"]
    df = benchmarks([indicator.id]).df
    table = journey.latest_table(df, indicator, "891").set_index("Area")
    assert table.loc["Nottinghamshire", "Value"] == 37.5
    assert table.loc["England", "Value"] == 45.9
    assert table.loc["East Midlands", "Compared as"] == "Region" and table.loc["East Midlands", "Value"] == 38.0
    # the ten DfE neighbours, and their average (35.7+25.4+33.5+32.3+55.7+21.2+4.3+63.0+35.3+17.3)/10
    assert (table["Compared as"] == "Statistical neighbour").sum() == 10
    assert table.loc["Statistical neighbours (average)", "Value"] == 32.4
    assert table.loc["Nottinghamshire", "Rank"] == "100th best of 153 local authorities"
    summary = journey.indicator_summary(df, indicator, "891")
    assert summary.startswith("Nottinghamshire, 2024: 37.5% (new EHC plans issued within 20 weeks).")
    assert "worse than England (45.9%), worse than East Midlands (38.0%) and better than the average" in summary
    assert "up 5.2 points from 2023 (better)" in summary


def test_polarity_low_and_no_polarity(catalogue):
    tribunal = catalogue["send_tribunal_appeal_rate"]
    df = benchmarks([tribunal.id]).df
    assert tribunal.polarity == "low"
    assert "better than England (3.2%)" in journey.indicator_summary(df, tribunal, "891")   # 3.1% < 3.2%
    share = catalogue["lait_SEN_TotStat"]
    text = journey.indicator_summary(benchmarks([share.id]).df, share, "891")
    assert "lower than England (5.3%)" in text and "better than" not in text and "worse than" not in text
    assert "151st highest of 153 local authorities" in text


def test_icb_is_compared_with_england_and_its_nhs_region(catalogue):
    waits = catalogue["nhs_waits_speech_and_language_pct_over_18_weeks"]
    df = benchmarks([waits.id]).df
    assert journey.focus_options(df, waits.id, AREA_LAS + [AREA_ICB], {AREA_ICB: "N and N ICB"}) == [(AREA_ICB, "N and N ICB")]
    assert journey.focus_options(df, waits.id, AREA_LAS + [AREA_ICB]) == [
        (AREA_ICB, "NHS Nottingham and Nottinghamshire Integrated Care Board")]
    table = journey.latest_table(df, waits, AREA_ICB)
    assert list(table["Compared as"]) == ["Our area", "England", "Region"]
    assert table.Value.tolist() == [25.4, 39.7, 38.1] and table.Period.iloc[0] == "October 2023"
    assert table.Rank.iloc[0] == "12th best of 37 ICBs"


def test_trend_table_is_the_query_figures_in_period_order(catalogue):
    indicator = catalogue["ehcp_pct_issued_20_weeks"]
    df = benchmarks([indicator.id]).df
    trend = journey.trend_table(df, indicator, "891")
    assert trend.Period.tolist() == [str(y) for y in range(2014, 2025)]
    own = df[(df.comparator == "area") & (df.area_code == "891")].set_index("period").value
    assert trend.set_index("Period")["Nottinghamshire"].to_dict() == own.round(1).to_dict()
    assert list(trend.columns) == ["Period", "Nottinghamshire", "England", "East Midlands",
                                   "Statistical neighbours (average)"]


def test_withheld_figure_is_explained_not_shown_as_zero(catalogue, public_marts):
    cin = queries.run("compare_indicators_available", user(), None, area_codes=["857"]).df
    indicator = journey.indicators(cin)["cin_pct_ehcp"]
    df = benchmarks([indicator.id], las=["857"], icb="").df      # Rutland 2021/22 is published as "c"
    text = journey.indicator_summary(df, indicator, "857")
    assert "was not published: confidential" in text
    row = journey.latest_table(df, indicator, "857").iloc[0]
    assert pd.isna(row.Value) and row.Note.startswith("confidential")


def test_scorecard_and_its_summary(catalogue):
    ids = [i for i in journey.headline_ids() if i in catalogue]
    card = journey.scorecard(benchmarks(ids).df, catalogue, ids, AREA_LAS + [AREA_ICB])
    notts = card[card.Area == "Nottinghamshire"].set_index("indicator_id")
    assert notts.loc["ehcp_pct_issued_20_weeks", "Compared with England"] == "worse than"
    assert notts.loc["ehcp_requests_pct_decided_6_weeks", "Compared with England"] == "better than"
    summary = journey.scorecard_summary(card, "Nottingham and Nottinghamshire")
    assert summary.startswith("Nottinghamshire is better than England on 3 and worse on 2 of the 5 headline")
    assert "Furthest behind" in summary


def test_published_figures_are_never_rounded_or_hidden(public_marts):
    for role in ("commissioner", "analyst"):
        df = benchmarks(["ehcp_plans_in_place", "send_tribunal_appeals"], role=role).df
        notts = df[(df.comparator == "area") & (df.area_code == "891")].set_index(["indicator_id", "period"]).value
        assert notts.loc[("ehcp_plans_in_place", "2024/25")] == 5422     # not rounded to 5420
        assert notts.loc[("send_tribunal_appeals", "2014")] == 47


@pytest.mark.parametrize("value, other, polarity, expected", [
    (40, 45, "high", "worse than"), (50, 45, "high", "better than"), (2.0, 3.0, "low", "better than"),
    (3.04, 3.0, "low", "the same as"), (5, 4, "neutral", "higher than"), (None, 4, "high", "no figure to compare with"),
])
def test_verdict(value, other, polarity, expected):
    indicator = journey.Indicator("x", "X", "%", polarity, 1)
    assert journey.verdict(value, other, indicator) == expected


def test_ordinals():
    assert [journey.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


# --- the page ------------------------------------------------------------------------------------------

def page_as(role: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["portal_user"] = user(role)
    return at.run()


def tables(at) -> list[pd.DataFrame]:
    """Every table on the page (short ones are HTML tables, long ones grids), first column as a column."""
    frames = []
    for element in list(at.table) + list(at.dataframe):
        value = element.value
        value = getattr(value, "data", value)  # a Styler holds its frame in .data
        frames.append(value.reset_index() if value.index.name else value)
    return frames


@pytest.mark.parametrize("role", ROLES)
def test_page_for_every_role(public_marts, role):
    at = page_as(role)
    assert not at.exception, [e.message for e in at.exception]
    headers = [h.value for h in at.header]
    assert "Headline indicators at a glance" in headers and "Look at one indicator" in headers
    assert len(at.get("arrow_vega_lite_chart")) == 3
    assert any("Nottinghamshire is better than England on" in m.value for m in at.markdown)
    assert any("filters in the sidebar do not change them" in i.value for i in at.info)
    assert len(at.get("download_button")) == 6
    assert len(tables(at)) == 3


def test_page_follows_the_chosen_indicator_and_area(public_marts):
    at = page_as("commissioner")
    at.selectbox(key="compare_topic").set_value("EHC plan timeliness").run()
    assert at.selectbox(key="compare_indicator").value == "ehcp_pct_issued_20_weeks"
    at.radio(key="compare_focus").set_value("892").run()
    assert not at.exception
    assert any(m.value.startswith("Nottingham, 2024: 29.9%") for m in at.markdown)
    table = tables(at)[1]
    assert table.iloc[0]["Area"] == "Nottingham" and table.iloc[0]["Value"] == 29.9


def test_page_without_public_data_says_how_to_load_it(tiny_marts):
    at = page_as("commissioner")
    assert not at.exception
    assert any("python -m portal public load FOLDER" in w.value for w in at.warning)
    assert not at.get("arrow_vega_lite_chart")


def test_trend_summary_for_an_icb_named_by_the_area_file(catalogue):
    waits = catalogue["nhs_waits_speech_and_language_pct_over_18_weeks"]
    trend = journey.trend_table(benchmarks([waits.id]).df, waits, AREA_ICB)
    text = journey.trend_summary(trend, waits, "N and N ICB")
    assert text.startswith("N and N ICB: 11.8% in January 2023 and 25.4% in October 2023 (10 published periods).")
    assert "England went from 35.1% to 39.7%" in text and text.endswith("Overall, worse.")


def test_the_chosen_indicator_and_area_are_in_the_url_to_share(public_marts):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["portal_user"] = user()
    at.query_params["indicator"] = "send_tribunal_appeal_rate"
    at.query_params["area"] = "892"
    at.run()
    assert not at.exception
    assert at.selectbox(key="compare_topic").value == "Disputes"
    assert at.selectbox(key="compare_indicator").value == "send_tribunal_appeal_rate"
    assert at.radio(key="compare_focus").value == "892"
    assert any(m.value.startswith("Nottingham, 2024: 2.5%") for m in at.markdown)
    at.radio(key="compare_focus").set_value("891").run()
    assert at.query_params["area"] == ["891"] and at.query_params["indicator"] == ["send_tribunal_appeal_rate"]
