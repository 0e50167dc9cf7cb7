"""explore-education-statistics CSVs: real DfE files from ../shared/real-data, and malformed copies."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from portal.public import ees
from portal.public.common import PublicDataError, ees_period

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real published data not present")


def load(name):
    path = REAL / name
    return ees.load(path, ees.match_spec(ees.header(path)))


def figure(rows, indicator, area_code, period):
    hit = rows[(rows.indicator_id == indicator) & (rows.area_code == area_code) & (rows.period == period)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_caseload_published_figures_national_regional_and_la():
    rows, catalogue = load("ehcp2025_caseload.csv")  # starts with a byte-order mark
    assert figure(rows, "ehcp_plans_in_place", "E92000001", "2024/25").value == 638745
    region = figure(rows, "ehcp_plans_in_place", "E12000004", "2024/25")
    assert (region.value, region.area_name, region.geography_level) == (47444, "East Midlands", "regional")
    notts = figure(rows, "ehcp_plans_in_place", "891", "2024/25")
    assert (notts.value, notts.area_name, notts.parent_code) == (5422, "Nottinghamshire", "E12000004")
    assert notts.period_end == dt.date(2025, 8, 31)
    assert figure(rows, "ehcp_plans_in_place", "E92000001", "2018/19").value == 353995
    # Only the all-plans rows: one figure per indicator, area and year.
    assert not rows.duplicated(["indicator_id", "area_code", "period"]).any()
    assert {c["indicator_id"] for c in catalogue} == set(rows.indicator_id)


def test_timeliness_calendar_years_and_polarity():
    rows, catalogue = load("ehcp2025_timeliness_20_week.csv")
    assert figure(rows, "ehcp_pct_issued_20_weeks", "E92000001", "2019").value == 58.7
    assert figure(rows, "ehcp_pct_issued_20_weeks", "E12000001", "2019").value == 67.3
    assert figure(rows, "ehcp_pct_issued_20_weeks", "891", "2024").value == 37.5
    assert figure(rows, "ehcp_pct_issued_20_weeks", "891", "2024").period_end == dt.date(2024, 12, 31)
    assert {c["indicator_id"]: c["polarity"] for c in catalogue}["ehcp_pct_issued_20_weeks"] == "high"


def test_symbols_x_and_c_stand_instead_of_numbers():
    rows, _ = load("ehcp2025_requests.csv")
    assert figure(rows, "ehcp_requests", "E92000001", "2019").value == 82329
    withheld = figure(rows, "ehcp_requests_pct_decided_6_weeks", "E92000001", "2019")
    assert withheld.symbol == "x" and withheld.value != withheld.value  # NaN, never 0
    rows, _ = load("cin_sen_la.csv")
    rutland = figure(rows, "cin_pct_ehcp", "857", "2021/22")
    assert rutland.symbol == "c" and rutland.value != rutland.value
    # London boroughs are given "Inner London" as region in this file; their region is London.
    assert figure(rows, "cin_pct_ehcp", "201", "2021/22").parent_code == "E12000007"


def test_older_sen2_file_quoted_with_padded_numbers_and_z():
    rows, _ = load("sen2_mi_2014_2022.csv")
    assert figure(rows, "ehcp_pct_issued_20_weeks", "E92000001", "2014").value == 61.5
    assert rows.value.notna().sum() > 2000


@pytest.mark.parametrize("code, ident, label, end", [
    ("202425", "Academic year", "2024/25", dt.date(2025, 8, 31)),
    ("2024", "Calendar year", "2024", dt.date(2024, 12, 31)),
    ("202324", "Financial year", "2023-24", dt.date(2024, 3, 31)),
    ("2023", "October", "October 2023", dt.date(2023, 10, 31)),
])
def test_time_period_codes(code, ident, label, end):
    assert ees_period(code, ident, Path("f.csv")) == (label, end)


def test_bad_period_code_is_named():
    with pytest.raises(PublicDataError, match="f.csv: time_period '202426'"):
        ees_period("202426", "Academic year", Path("f.csv"))


def test_unexpected_text_in_a_value_names_file_and_column(tmp_path):
    original = (REAL / "ehcp2025_timeliness_20_week.csv").read_text(encoding="utf-8-sig").splitlines()
    original[1] = original[1].replace(",58.7,", ",about 58,")
    bad = tmp_path / "timeliness.csv"
    bad.write_text("\n".join(original[:50]), encoding="utf-8-sig")
    with pytest.raises(PublicDataError, match=r"timeliness.csv: column 'pc_plans_issued_within_20_weeks' holds 'about 58'"):
        ees.load(bad, ees.match_spec(ees.header(bad)))


def test_missing_column_is_named(tmp_path):
    lines = (REAL / "ehcp2025_caseload.csv").read_text(encoding="utf-8-sig").splitlines()[:20]
    bad = tmp_path / "caseload.csv"
    bad.write_text("\n".join(l.replace("time_identifier", "period_kind", 1) for l in lines), encoding="utf-8")
    spec = ees.match_spec(ees.header(REAL / "ehcp2025_caseload.csv"))
    with pytest.raises(PublicDataError, match="caseload.csv: is missing the column.*time_identifier"):
        ees.load(bad, spec)
