"""Helpers shared by the journey pages (portal/journeys/common.py)."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from portal.journeys.common import DIMENSION_LABELS, breakdowns, melted, records


def _frames():
    months = pd.to_datetime(["2026-01-31", "2026-02-28", "2026-03-31"])
    counts = pd.DataFrame({"month": months, "a": pd.array([5, pd.NA, 7], dtype="Int64"),
                           "b": pd.array([1, 2, 3], dtype="Int64")})
    yield counts                                                          # some figures hidden
    yield counts.assign(a=pd.array([5, 6, 7], dtype="Int64"))             # none hidden
    yield counts.assign(a=pd.NA, b=pd.NA).astype({"a": "Int64", "b": "Int64"})  # all hidden
    yield counts.assign(a=[1.5, None, 2.0], b=[1, 2, 3])                  # numpy float and int: float
    yield counts.assign(a=pd.array([1.5, None, 2.0], dtype="Float64"))    # nullable float and int
    yield counts.iloc[0:0]                                                # no rows
    yield pd.DataFrame({"group": pd.array(["x", "y"], dtype="string"), "label": ["X", "Y"],
                        "a": [None, 1.0], "b": [2.0, None]})              # text ids, extension dtype


def test_melted_without_value_columns_is_empty_as_melt_is():
    frame = pd.DataFrame({"Period": ["2024", "2025"]})
    expected = frame.melt(id_vars="Period", var_name="Series", value_name="Value").dropna(subset=["Value"])
    pd.testing.assert_frame_equal(melted(frame, ["Period"], [], "Series", "Value"), expected)


@pytest.mark.parametrize("frame", list(_frames()))
def test_melted_is_melt_then_dropna(frame):
    ids = [c for c in frame.columns if c not in ("a", "b")]
    expected = frame.melt(id_vars=ids, value_vars=["a", "b"], var_name="measure", value_name="n").dropna(subset=["n"])
    got = melted(frame, ids, ["a", "b"], "measure", "n")
    pd.testing.assert_frame_equal(got, expected)
    assert type(got.index) is type(expected.index)


@pytest.mark.parametrize("frame", list(_frames()))
def test_records_are_the_rows_as_to_dict_gives_them(frame):
    expected = frame.to_dict("records")
    got = records(frame)
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected):
        assert list(mine) == list(theirs)
        for column in mine:
            assert (pd.isna(mine[column]) and pd.isna(theirs[column])) or mine[column] == theirs[column]


def test_a_breakdown_chooser_offers_its_names_in_order_with_the_standard_labels_unless_given_its_own():
    chooser = breakdowns("year", "locality", "send_status", labels={"year": "Year they turned 18",
                                                                    "send_status": "SEND status before 18"})
    assert list(chooser.items()) == [("year", "Year they turned 18"), ("locality", DIMENSION_LABELS["locality"]),
                                     ("send_status", "SEND status before 18")]
    assert breakdowns("imd_quintile") == {"imd_quintile": "Deprivation quintile (1 = most deprived)"}


def test_a_breakdown_that_is_neither_a_standard_dimension_nor_labelled_is_a_mistake_caught_at_import():
    with pytest.raises(KeyError):
        breakdowns("locality", "shoe_size")


def _label_colours(data: pd.DataFrame) -> dict[float, str]:
    """The colour each cell's label is drawn in, worked out from the heat map's spec as Vega would."""
    import altair as alt

    from portal.journeys.common import labelled_heatmap

    chart = labelled_heatmap(data, "pct", x=alt.X("col:N"), y=alt.Y("row:N"), colour_title="%", scheme="purples",
                             white_from=0.6, tooltip=[])
    colour = chart.to_dict()["layer"][1]["encoding"]["color"]
    field, threshold = re.fullmatch(r"datum\.(\w+) > (\S+)", colour["condition"]["test"]).groups()
    return {v: colour["condition"]["value"] if v > float(threshold) else colour["value"]
            for v in data[field].dropna()}


@pytest.mark.parametrize("values", [[1, 2, 4, 7, 11, 13, 17], [20, 35, 50, 70, 90], [0.5, 0.6, 0.9]])
def test_heat_map_labels_are_white_on_the_darker_cells_whatever_the_range_of_values(values):
    # the colour scale runs from the smallest value shown to the largest: a fixed cut (once 30%) left every
    # label dark grey on the darkest purple when the largest value was 17%
    data = pd.DataFrame({"row": ["a"] * len(values) + ["b"], "col": [str(v) for v in values] + ["hidden"],
                         "pct": [*values, None]})  # a hidden cell has no value and no part in the range
    colours = _label_colours(data)
    assert colours[max(values)] == "white" and colours[min(values)] == "#212B32"
    low, high = min(values), max(values)
    assert all(colour == ("white" if (v - low) / (high - low) > 0.6 else "#212B32") for v, colour in colours.items())
