"""LAIT long dataset and data dictionary (real files)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from portal.public import lait
from portal.public.common import PublicDataError, lait_period

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real published data not present")


@pytest.fixture(scope="module")
def loaded():
    return lait.load(REAL / "lait_bds_long.parquet", REAL / "lait_data_dictionary.csv")


def figure(rows, indicator, area_code, period):
    hit = rows[(rows.indicator_id == indicator) & (rows.area_code == area_code) & (rows.period == period)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_sen_ehcp_percentage_england_region_la(loaded):
    rows, _ = loaded
    assert figure(rows, "lait_SEN_TotStat", "E92000001", "2025").value == 5.3
    region = figure(rows, "lait_SEN_TotStat", "E12000004", "2025")
    assert (region.value, region.geography_level, region.area_name) == (4.7, "regional", "East Midlands")
    notts = figure(rows, "lait_SEN_TotStat", "891", "2025")
    assert (notts.value, notts.parent_code) == (2.9, "E12000004")
    assert notts.period_end == dt.date(2025, 8, 31)  # an academic-year indicator labelled by its end year
    assert figure(rows, "lait_SEN_TotStat", "891", "2024").value == pytest.approx(2.3)


def test_dash_is_a_symbol_not_zero_and_london_halves_dropped(loaded):
    rows, _ = loaded
    dashes = rows[rows.symbol == "x"]
    assert len(dashes) > 50_000 and dashes.value.isna().all()
    assert not rows.area_name.isin(["London (Inner)", "London (Outer)"]).any()
    assert set(rows.geography_level) == {"national", "regional", "local_authority"}


def test_catalogue_polarity_from_dictionary(loaded):
    _, catalogue = loaded
    by_id = {c["indicator_id"]: c for c in catalogue}
    assert by_id["lait_SEN_EHC_All_20wks"]["polarity"] == "high"
    assert by_id["lait_SEN_AppealableDec"]["polarity"] == "low"
    assert by_id["lait_SEN_TotStat"]["polarity"] == "neutral"  # no direction is "good"
    assert by_id["lait_SEN_EHC_All_20wks"]["last_updated"] == "2025-06-01"  # Excel day 45809


def test_without_dictionary_the_error_says_what_is_missing():
    with pytest.raises(PublicDataError, match="lait_bds_long.parquet: .*data dictionary"):
        lait.load(REAL / "lait_bds_long.parquet", None)


@pytest.mark.parametrize("label, kind, end", [
    ("2016-17", "Academic Year", dt.date(2017, 8, 31)),
    ("2016-17 (OT)", "Academic Year", dt.date(2017, 8, 31)),
    ("2014-16", "Calendar Year", dt.date(2016, 12, 31)),
    ("2018 (Rev)", "Calendar Year", dt.date(2018, 12, 31)),
    ("2022/23", "Financial Year", dt.date(2023, 3, 31)),
    ("2013/14-15/16", "Academic Year", dt.date(2016, 8, 31)),
    ("0", "Calendar Year", None),
])
def test_lait_period_labels(label, kind, end):
    assert lait_period(label, kind) == end
