"""EHCP journey: the SEN2 summaries and charts from (suppressed) query frames."""
from __future__ import annotations

import pandas as pd

from portal.journeys import ehcp_journey as journey


def _by_year():
    return pd.DataFrame({
        "year_ending": pd.to_datetime(["2025-10-01", "2026-10-01"]).date,
        "requests": [400, 455], "decisions": [390, 440], "decided_to_assess": [300, 320],
        "decided_within_6_weeks": [300, 380], "pct_decided_within_6_weeks": [76.9, 86.4],
        "plans_issued": [250, 270], "issued_within_20_weeks": [150, 130], "pct_issued_within_20_weeks": [60.0, 48.1],
        "plans_issued_no_exception": [230, 250], "issued_within_20_weeks_no_exception": [150, 130],
        "pct_issued_within_20_weeks_no_exception": [65.2, 52.0],
    })


def _reviews():
    return pd.DataFrame({"group_value": ["Eastfield", "Westmere"], "plans_in_place": [600, 400],
                         "reviews_held": [500, 300], "reviews_due_next_3_months": [100, 90],
                         "reviews_overdue": [60, 100], "pct_overdue": [10.0, 25.0]})


def _ceased():
    return pd.DataFrame({"cease_reason": ["needs_met", "moved", "other"], "plans_ceased": [40, 85, pd.NA]})


def test_summary_states_the_sen2_measures_and_the_change():
    text = journey.journey_summary(_by_year(), _reviews(), _ceased())
    assert text.startswith("In the 12 months to Oct 2026, 455 requests for an EHC needs assessment were received "
                           "and 86% of decisions were made within 6 weeks.")
    assert "270 new plans were issued, 48% within 20 weeks (52% leaving out exceptions), down from 60% the year before." in text
    assert "Of about 1,000 plans in place, 160 have an overdue annual review; the share overdue is highest for Westmere (25%)." in text
    assert "\u201cMoved to another area\u201d (85 plans)" in text


def test_summary_skips_hidden_percentages():
    by_year = _by_year()
    by_year.loc[1, ["pct_issued_within_20_weeks", "pct_issued_within_20_weeks_no_exception"]] = pd.NA
    text = journey.journey_summary(by_year, _reviews().iloc[0:0], _ceased().iloc[0:0])
    assert "270 new plans were issued." in text and "within 20 weeks" not in text


def test_breakdown_names_the_groups_with_fewest_plans_on_time():
    breakdown = pd.DataFrame({"group_value": ["ASD", "SEMH", "SLCN", "PD"],
                              "pct_issued_within_20_weeks": [35.0, 42.0, 70.0, pd.NA], "plans_issued": [80, 50, 40, 3]})
    assert journey.slowest_groups(breakdown) == ["ASD", "SEMH"]
    assert journey.breakdown_sentence(breakdown, "primary_need") == (
        "By primary need, the smallest shares of plans issued within 20 weeks were in ASD (35%) and SEMH (42%).")


def test_tables_label_years_and_round():
    table = journey.table(_by_year(), ["year_label", "requests", "pct_decided_within_6_weeks"])
    assert table.columns.tolist() == ["12 months to", "Requests received", "% decided within 6 weeks"]
    assert table.iloc[1].tolist() == ["Oct 2026", 455, 86.4]


def test_charts_draw_every_shown_measure():
    spec = journey.timeliness_chart(_by_year()).to_dict()
    assert spec["mark"]["type"] == "line"
    data = journey._long(_by_year(), journey.TIMELINESS_MEASURES, "percent")
    assert len(data) == 6 and set(data["measure"]) == set(journey.TIMELINESS_MEASURES.values())
    assert journey.disputes_sentence(pd.DataFrame({"year_ending": ["2026-10-01"], "mediations": [12], "tribunals": [pd.NA]})) == (
        "In the 12 months to Oct 2026 there were 12 mediations and fewer than 8 tribunal appeals.")


def _melted(by_year, measures, value_name):
    """What the charts' long data was built with before (pandas' melt), to compare with."""
    data = journey.with_year_labels(by_year)
    long = data.melt(id_vars=["year_ending", "year_label"], value_vars=list(measures), var_name="measure",
                     value_name=value_name).dropna(subset=[value_name])
    long["measure"] = long["measure"].map(measures)
    long[value_name] = long[value_name].astype(float)
    return long


def test_the_charts_long_data_is_what_melting_the_table_gives():
    shown = _by_year()
    hidden = shown.astype({"requests": "Int64", "plans_issued": "Int64", "decided_to_assess": "Int64"})
    hidden.loc[0, "requests"] = pd.NA
    hidden.loc[1, ["plans_issued", "decided_to_assess"]] = pd.NA
    nothing = hidden.assign(requests=pd.NA, plans_issued=pd.NA, decided_to_assess=pd.NA)
    for frame in (shown, hidden, nothing, shown.assign(year_ending=pd.to_datetime(shown["year_ending"]))):
        for measures, value_name in ((journey.TIMELINESS_MEASURES, "percent"), (journey.VOLUME_MEASURES, "number")):
            expected = _melted(frame, measures, value_name)
            got = journey._long(frame, measures, value_name)
            pd.testing.assert_frame_equal(got, expected, check_index_type=True)
            assert type(got.index) is type(expected.index)
