"""SEND Tribunal appeal-rate table: multi-row header, separators, symbols, misaligned codes (real file)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from portal.public import tribunal
from portal.public.common import PublicDataError

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real published data not present")
TABLE = REAL / "ehcp2025_send_tribunal_appeal_rate_2014_2024.csv"
DFE_CODES = {tribunal.name_key("Nottinghamshire"): ("891", "E12000004"),
             tribunal.name_key("Nottingham"): ("892", "E12000004")}


def figure(rows, indicator, area_name, period):
    hit = rows[(rows.indicator_id == indicator) & (rows.area_name == area_name) & (rows.period == period)]
    assert len(hit) == 1, hit
    return hit.iloc[0]


def test_england_totals_with_thousands_separators_and_percent():
    rows, catalogue, _ = tribunal.load(TABLE, DFE_CODES)
    assert figure(rows, "send_tribunal_appeals", "England", "2024").value == 22276
    assert figure(rows, "send_tribunal_appeal_rate", "England", "2024").value == 3.2
    assert figure(rows, "send_tribunal_appeal_rate", "England", "2014").value == 1.6
    assert {c["indicator_id"]: c["polarity"] for c in catalogue}["send_tribunal_appeal_rate"] == "low"


def test_authorities_matched_by_name_not_the_misaligned_code():
    rows, _, warnings = tribunal.load(TABLE, DFE_CODES)
    notts = figure(rows, "send_tribunal_appeal_rate", "Nottinghamshire", "2024")
    assert notts.area_code == "891"  # the table prints 928 (Northamptonshire's number)
    assert (notts.value, notts.parent_code) == (3.1, "E12000004")
    assert figure(rows, "send_tribunal_appeals", "Nottinghamshire", "2024").value == 184
    # Without a DfE name match the table's own code is used, and the load says so.
    assert any("Darlington" in w and "841" in w for w in warnings)


def test_dash_means_none_and_dots_not_available():
    rows, _, _ = tribunal.load(TABLE, {})
    darlington = figure(rows, "send_tribunal_appeals", "Darlington", "2014")
    assert darlington.value == 0 and darlington.symbol is pd.NA
    cumberland = figure(rows, "send_tribunal_appeals", "Cumberland", "2014")  # "Cumberland8": footnote stripped
    assert cumberland.symbol == "x"
    assert figure(rows, "send_tribunal_appeal_rate", "Surrey", "2024").value == 6.0


def test_not_the_table_gives_a_clear_error(tmp_path):
    bad = tmp_path / "appeals.csv"
    bad.write_text("Local Authority,LA code\n,,\n")
    with pytest.raises(PublicDataError, match="appeals.csv: has no year and measure columns"):
        tribunal.load(bad, {})
