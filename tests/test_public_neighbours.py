"""DfE statistical neighbours (real file)."""
from __future__ import annotations

from pathlib import Path

import pytest

from portal.public import neighbours
from portal.public.common import PublicDataError

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real published data not present")


def test_nottinghamshire_neighbours_in_order():
    table = neighbours.load(REAL / "lait_statistical_neighbours_may2025.csv")
    notts = table[table.area_code == "891"].sort_values("neighbour_rank")
    assert list(notts.neighbour_name) == ["Derbyshire", "Suffolk", "Somerset", "Kent", "Norfolk", "Warwickshire",
                                          "Leicestershire", "North Somerset", "Staffordshire", "Lancashire"]
    assert list(notts.neighbour_code[:2]) == ["830", "935"]
    assert notts.iloc[0].closeness == "Extremely close"
    assert table.groupby("area_code").size().eq(10).all()
    assert table.area_code.nunique() == 158


def test_bad_neighbour_code_is_named(tmp_path):
    lines = (REAL / "lait_statistical_neighbours_may2025.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",308,", ",Havering,", 1)
    bad = tmp_path / "sn.csv"
    bad.write_text("\n".join(lines))
    with pytest.raises(PublicDataError, match="sn.csv: Barking and Dagenham: neighbour SN1 'Havering'"):
        neighbours.load(bad)
