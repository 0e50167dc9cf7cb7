"""Education page (SPEC §3.5) on the small demo: every role, the planted attainment gap, suppression."""
from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import run_page_as
from tests.journey_checks import assert_complete_page, summary_starting, users
from portal import queries
from portal.filters import Filters
from portal.journeys import education
from portal.roles import ANALYST, COMMISSIONER, ROLES

ALL_YEARS = Filters(period="All years")


@pytest.mark.parametrize("role", ROLES)
def test_page_renders_for_each_role(on_small_demo, role):
    at = run_page_as("education", users()[role])
    assert_complete_page(at, "Education", blocks=5, charts=4)
    summary_starting(at, "In ")


def test_attainment_gap_matches_ground_truth(on_small_demo):
    truth = on_small_demo["attainment"]
    result = queries.run("education_attainment_by_group", users()[ANALYST], ALL_YEARS, by="all")
    wide = education.gaps(result.df, ["group_value"]).iloc[0]
    for status in ("EHCP", "SEN support", "No SEND"):
        assert wide[f"mean_{status}"] == pytest.approx(truth["mean_attainment8"][status], abs=0.01)
    assert wide["gap_EHCP"] == pytest.approx(truth["gap_ehcp_vs_no_send"], abs=0.01)
    # commissioners see the same averages (means are not rounded, only hidden for tiny groups)
    shown = queries.run("education_attainment_by_group", users()[COMMISSIONER], ALL_YEARS, by="all")
    assert education.gaps(shown.df, ["group_value"]).iloc[0]["gap_EHCP"] == pytest.approx(wide["gap_EHCP"])


def test_summary_states_the_gap_for_the_latest_year(on_small_demo):
    result = queries.run("education_attainment_by_year", users()[COMMISSIONER])
    gaps = education.gaps(result.df, ["academic_year"]).dropna(subset=["gap_EHCP"]).iloc[-1]
    text = education.attainment_summary(result.df)
    assert text.startswith(f"In {gaps['academic_year']}, pupils with no SEN averaged")
    assert f"Pupils with an EHCP averaged {gaps['mean_EHCP']:.1f}, {gaps['gap_EHCP']:.1f} points below." in text


def test_pupils_with_ehcp_miss_more_school(on_small_demo):
    result = queries.run("education_absence_by_year", users()[ANALYST])
    latest = result.df[result.df["academic_year"] == result.df["academic_year"].max()].set_index("send_status")
    assert latest.loc["EHCP", "absence_rate"] > latest.loc["No SEND", "absence_rate"]
    assert latest.loc["EHCP", "pct_persistently_absent"] > latest.loc["No SEND", "pct_persistently_absent"]


def test_small_groups_hidden_for_commissioners(on_small_demo):
    raw = queries.run("education_attainment_by_group", users()[ANALYST], by="primary_need").df
    shown = queries.run("education_attainment_by_group", users()[COMMISSIONER], by="primary_need").df
    small = raw["pupils"].between(1, 7)
    assert small.any()
    assert shown.loc[small, "pupils"].isna().all() and shown.loc[small, "mean_attainment8"].isna().all()
    assert (shown["pupils"].dropna() % 5 == 0).all()
    table = education.gap_table(shown, ["group_value"], {"group_value": "Primary need"})
    assert (table == "*").any().any()


def test_breakdown_and_measure_choices_change_the_page(on_small_demo):
    at = run_page_as("education", users()[COMMISSIONER], education_gap_breakdown="locality",
                     education_absence_measure="pct_persistently_absent")
    assert not at.exception
    headers = [h.value for h in at.header]
    assert "Attainment gap by locality" in headers
    assert "% persistently absent (missing 10% or more) for the whole area" in headers


def test_gaps_one_row_per_key_in_order_with_the_first_shown_average():
    """The same rows as a pandas pivot table with aggfunc="first" (which the row-by-row version replaced):
    keys sorted, a hidden average skipped for a later shown one, a status with no rows left missing."""
    df = pd.DataFrame({
        "group_value": ["South", "North", "North", "North", "South", "South"],
        "send_status": ["No SEND", "EHCP", "EHCP", "No SEND", "EHCP", "SEN support"],
        "pupils": pd.array([90, None, 12, 200, None, 30], dtype="Int64"),
        "mean_attainment8": pd.array([50.0, None, 20.0, 48.0, None, 35.5], dtype="Float64"),
    })
    wide = education.gaps(df, ["group_value"])
    assert list(wide["group_value"]) == ["North", "South"]
    north, south = wide.iloc[0], wide.iloc[1]
    assert north["mean_EHCP"] == 20.0 and north["gap_EHCP"] == 28.0
    assert pd.isna(north["mean_SEN support"]) and pd.isna(north["gap_SEN support"])
    assert pd.isna(south["mean_EHCP"]) and pd.isna(south["gap_EHCP"])
    assert south["gap_SEN support"] == 14.5
    reference = df.pivot_table(index="group_value", columns="send_status", values="mean_attainment8",
                               aggfunc="first", dropna=False).reindex(columns=education.STATUSES)
    for status in education.STATUSES:
        assert wide[f"mean_{status}"].astype("float64").tolist() == pytest.approx(
            pd.to_numeric(reference[status]).astype("float64").tolist(), nan_ok=True)
