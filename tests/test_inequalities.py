"""Inequalities (SPEC §3.8) on the small demo: every role, rates with intervals against the area rate."""
from __future__ import annotations

import pytest

from tests.conftest import run_page_as
from tests.journey_checks import assert_complete_page, summary_starting, users
from portal import queries
from portal.analysis import rates
from portal.filters import Filters
from portal.journeys import inequalities as journey
from portal.roles import ANALYST, COMMISSIONER, ROLES


@pytest.mark.parametrize("role", ROLES)
def test_page_renders_for_each_role(on_small_demo, role):
    at = run_page_as("inequalities", users()[role])
    assert_complete_page(at, "Inequalities", blocks=1, charts=1)
    summary_starting(at, "Across the area, the rate of having an EHCP is")


@pytest.mark.parametrize("measure", list(journey.MEASURES))
def test_every_measure_and_breakdown_runs(on_small_demo, measure):
    for by in journey.BREAKDOWNS_FOR[measure]:
        result = queries.run(journey.MEASURES[measure].query, users()[COMMISSIONER], by=by)
        table, area = journey.representation_table(result.df, measure)
        assert area > 0
        shown = table.dropna(subset=["rate"])
        assert (shown["ci_low"] <= shown["rate"]).all() and (shown["rate"] <= shown["ci_high"]).all()
        assert set(table["representation"]) <= set(journey.REPRESENTATION_ORDER)


def test_area_rate_and_ehcp_share_match_the_marts(on_small_demo):
    truth = on_small_demo["prevalence_age_5_15"]["ehcp_pct"]
    result = queries.run("inequalities_ehcp", users()[ANALYST], Filters(age_band="5-10"), by="sex")
    table, area = journey.representation_table(result.df, "ehcp")
    assert area == pytest.approx(result.df["events"].sum() / result.df["population"].sum() * 100)
    assert 0.5 * truth < area < 2 * truth  # pupils 5-10 alone: same order as the 5-15 truth


def test_ae_rates_by_send_status_show_who_is_over_represented(on_small_demo):
    result = queries.run("inequalities_ae", users()[ANALYST], Filters(period="All years"), by="send_status")
    table, area = journey.representation_table(result.df, "ae")
    by = table.set_index("group")
    # over the whole history children with SEND used A&E more than the area as a whole (before the change)
    assert by.loc["EHCP", "rate"] > 0 and by.loc["No SEND", "representation"] in (rates.SIMILAR, rates.UNDER)
    # annual rate = 12 x monthly rate
    monthly = result.df["events"].sum() / result.df["person_months"].sum() * 1000
    assert area == pytest.approx(12 * monthly)


def test_hidden_counts_give_no_rate_and_show_the_marker(on_small_demo):
    raw = queries.run("inequalities_ehcp", users()[ANALYST], by="ethnicity").df
    shown = queries.run("inequalities_ehcp", users()[COMMISSIONER], by="ethnicity").df
    small = raw["events"].between(1, 7)
    if not small.any():
        pytest.skip("no small group in this build")
    table, _ = journey.representation_table(shown, "ehcp")
    assert table.loc[small.to_numpy(), "rate"].isna().all()
    assert (table.loc[small.to_numpy(), "representation"] == rates.NOT_SHOWN).all()
    display = journey.display_table(table, "ehcp", "ethnicity")
    assert (display == "*").any().any()


def test_page_follows_the_chosen_measure_and_groups(on_small_demo):
    at = run_page_as("inequalities", users()[COMMISSIONER], inequalities_measure="ae", inequalities_by="imd_quintile")
    assert not at.exception
    assert [h.value for h in at.header][0] == "A&E attendances by deprivation quintile, against the area"
    summary_starting(at, "Across the area, the rate of A&E attendances is")


@pytest.mark.parametrize("area_rate, label_side", [(4.9, "right"), (4.6, "left")])
def test_the_chart_spans_the_intervals_not_from_zero_and_keeps_the_area_label_inside(area_rate, label_side):
    # from zero, national intervals of 4.8 to 5.0 per 100 sat in the chart's last few pixels, and the area's
    # label ran off its right edge
    import pandas as pd

    table = pd.DataFrame({"group": ["Asian", "White"], "rate": [4.9, 4.8], "ci_low": [4.8, 4.75],
                          "ci_high": [5.0, 4.85], "representation": [rates.SIMILAR, rates.SIMILAR]})
    spec = journey.chart(table, area_rate, "ehcp", "ethnicity").to_dict()
    scales = [layer["encoding"]["x"].get("scale") for layer in spec["layer"]]
    assert all(scale == {"zero": False, "nice": True} for scale in scales), scales
    # the label sits on the side of the dashed line with more room: ending at the line when the line is near
    # the right-hand end of the axis, starting at it otherwise
    assert spec["layer"][3]["mark"]["align"] == label_side
