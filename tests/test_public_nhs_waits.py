"""NHS England community health waits for children (real file) with the ONS ICB lookup."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from portal.public import nhs_waits
from portal.public.common import PublicDataError

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real published data not present")
LOOKUP = REAL / "lookup_subicb_icb_nhser_jul2022.csv"


@pytest.fixture(scope="module")
def rows():
    return nhs_waits.load(REAL / "nhs_cyp_community_health_waits_2023.csv", LOOKUP)[0]


def figure(rows, indicator, area_code, period):
    hit = rows[(rows.indicator_id == indicator) & (rows.area_code == area_code) & (rows.period == period)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_england_every_month_whatever_its_organisation_type(rows):
    slt = "nhs_waits_speech_and_language_waiting"
    assert figure(rows, slt, "E92000001", "January 2023").value == 67774   # type blank
    assert figure(rows, slt, "E92000001", "March 2023").value == 73316     # typed "Organisation"
    assert figure(rows, slt, "E92000001", "October 2023").value == 67790   # typed "National"
    pct = figure(rows, "nhs_waits_speech_and_language_pct_over_18_weeks", "E92000001", "October 2023")
    assert pct.value == pytest.approx(39.73, abs=0.01) and pct.period_end == dt.date(2023, 10, 31)


def test_icb_gets_its_ons_code_and_nhs_region(rows):
    icb = figure(rows, "nhs_waits_speech_and_language_pct_over_18_weeks", "E54000060", "January 2023")
    assert icb.geography_level == "icb"
    assert icb.area_name == "NHS Nottingham and Nottinghamshire Integrated Care Board"
    assert icb.parent_name == "Midlands" and icb.value == pytest.approx(11.83, abs=0.01)
    assert rows[rows.geography_level == "icb"].area_code.nunique() == 42


def test_regions_in_two_spellings_count_once(rows):
    regional = rows[(rows.geography_level == "regional") & (rows.indicator_id == "nhs_waits_audiology_waiting")]
    assert regional.groupby("period").area_code.nunique().eq(7).all()
    assert not regional.duplicated(["area_code", "period"]).any()


def test_not_submitted_is_a_symbol(rows):
    audiology = figure(rows, "nhs_waits_audiology_waiting", "E54000060", "January 2023")
    assert audiology.symbol == "x" and audiology.value != audiology.value


def test_lookup_is_required():
    with pytest.raises(PublicDataError, match="nhs_cyp_community_health_waits_2023.csv: .*ICB lookup"):
        nhs_waits.load(REAL / "nhs_cyp_community_health_waits_2023.csv", None)
