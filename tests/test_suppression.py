"""Small-number suppression (SPEC §5): unit examples and property tests."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.suppression import (
    SUPPRESSED_MARKER, SuppressionSpec, for_display, round_count, suppress, whole_counts,
)

COUNTS_ONLY = SuppressionSpec.from_yaml({"counts": ["n"]})


def _frame(values, **extra):
    return pd.DataFrame({"area": [f"A{i}" for i in range(len(values))], "n": values, **extra})


# ------------------------------------------------------------------------------------------- examples
@pytest.mark.parametrize("raw, shown", [
    (0, 0), (8, 10), (10, 10), (12, 10), (13, 15), (17, 15), (18, 20), (100, 100), (1234, 1235), (1237, 1235),
])
def test_counts_of_eight_or_more_are_rounded_to_nearest_five(raw, shown):
    out, hidden = suppress(_frame([raw, 500, 600]), COUNTS_ONLY)
    assert out.loc[0, "n"] == shown
    assert not hidden.loc[0, "n"]


@pytest.mark.parametrize("raw", range(1, 8))
def test_counts_one_to_seven_are_hidden(raw):
    out, hidden = suppress(_frame([raw, 40, 50]), COUNTS_ONLY)
    assert pd.isna(out.loc[0, "n"])
    assert hidden.loc[0, "n"]


def test_lone_hidden_cell_gets_a_complement_so_the_total_cannot_give_it_away():
    out, hidden = suppress(_frame([5, 9, 23, 100]), COUNTS_ONLY)
    assert hidden["n"].tolist() == [True, True, False, False]  # 9 is the smallest other cell
    assert out["n"].tolist()[2:] == [25, 100]


def test_two_hidden_cells_need_no_complement():
    _, hidden = suppress(_frame([5, 3, 23, 100]), COUNTS_ONLY)
    assert hidden["n"].tolist() == [True, True, False, False]


def test_zero_is_shown_and_never_chosen_as_the_complement():
    out, hidden = suppress(_frame([0, 4, 0, 30, 12]), COUNTS_ONLY)
    assert out.loc[0, "n"] == 0 and not hidden.loc[0, "n"]
    assert hidden["n"].tolist() == [False, True, False, False, True]


def test_groups_are_protected_separately():
    df = pd.DataFrame({"month": ["Jan"] * 3 + ["Feb"] * 3, "area": ["A", "B", "C"] * 2,
                       "n": [3, 50, 60, 20, 30, 40]})
    spec = SuppressionSpec.from_yaml({"counts": ["n"], "group_by": ["month"]})
    _, hidden = suppress(df, spec)
    assert hidden["n"].tolist() == [True, True, False, False, False, False]


def test_cross_tab_is_protected_in_both_directions():
    # rows and columns both have totals: a lone hidden cell in a row or column must get a partner there
    df = pd.DataFrame({"month": ["Jan", "Jan", "Feb", "Feb"], "area": ["A", "B", "A", "B"], "n": [3, 40, 50, 60]})
    spec = SuppressionSpec.from_yaml({"counts": ["n"], "group_by": [["month"], ["area"]]})
    _, hidden = suppress(df, spec)
    for column in ("month", "area"):
        assert all(h != 1 for h in hidden.groupby(df[column])["n"].sum())
    assert hidden["n"].tolist() == [True, True, True, True]


def test_statistics_on_few_people_are_hidden():
    df = _frame([5, 40, 12], median_wait=[30.0, 12.5, 8.0], pct_over=[20.0, 50.0, 10.0])
    spec = SuppressionSpec.from_yaml({"counts": ["n"], "statistics": {"median_wait": "n", "pct_over": ["n"]},
                                      "group_by": ["area"]})
    out, hidden = suppress(df, spec)
    assert pd.isna(out.loc[0, "median_wait"]) and hidden.loc[0, "median_wait"]
    assert out.loc[1, "median_wait"] == 12.5 and out.loc[2, "median_wait"] == 8.0
    assert pd.isna(out.loc[0, "pct_over"])


def test_a_statistic_whose_base_is_a_complement_is_hidden_too():
    # the rate of a complement cell with its denominator would give the count back
    df = _frame([5, 9, 23], rate=[1.0, 2.0, 3.0])
    spec = SuppressionSpec.from_yaml({"counts": ["n"], "statistics": {"rate": "n"}})
    out, hidden = suppress(df, spec)
    assert hidden["rate"].tolist() == [True, True, False]


def test_numeric_columns_stay_numeric_and_the_input_is_untouched():
    df = _frame([5, 40, 12], mean=[1.5, 2.5, 3.5])
    before = df.copy()
    out, _ = suppress(df, SuppressionSpec.from_yaml({"counts": ["n"], "statistics": {"mean": "n"}}))
    assert str(out["n"].dtype) == "Int64" and str(out["mean"].dtype) == "Float64"
    pd.testing.assert_frame_equal(df, before)


def test_display_marks_hidden_cells_and_keeps_missing_data_blank():
    df = _frame([5, 40, 12, None])
    out, hidden = suppress(df, COUNTS_ONLY)
    shown = for_display(out, hidden)
    assert shown["n"].tolist() == [SUPPRESSED_MARKER, 40, SUPPRESSED_MARKER, ""]


def test_spec_refuses_statistics_on_undeclared_counts_and_unknown_keys():
    with pytest.raises(ValueError):
        SuppressionSpec.from_yaml({"counts": ["n"], "statistics": {"median": "people"}})
    with pytest.raises(ValueError):
        SuppressionSpec.from_yaml({"counts": ["n"], "secondary": True})


def test_suppression_names_missing_columns():
    with pytest.raises(ValueError, match="n_waiting"):
        suppress(_frame([1, 2]), SuppressionSpec.from_yaml({"counts": ["n_waiting"]}))


# ----------------------------------------------------------------------------------------- properties
counts = st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(counts)
def test_property_every_shown_count_is_zero_or_a_rounded_count_of_eight_or_more(values):
    out, hidden = suppress(_frame(values), COUNTS_ONLY)
    for raw, shown, is_hidden in zip(values, out["n"], hidden["n"]):
        if 1 <= raw <= 7:
            assert is_hidden and pd.isna(shown)
        elif not is_hidden:
            assert shown % 5 == 0 and abs(shown - raw) <= 2
            assert shown == 0 if raw == 0 else shown >= 10


@settings(max_examples=300, deadline=None)
@given(counts)
def test_property_no_hidden_cell_can_be_recovered_from_the_total(values):
    """Even with the exact total and the exact values of all shown cells, no hidden cell is pinned down.

    The total minus the shown cells gives only the sum of the hidden cells. A hidden cell is pinned down
    unless some other hidden cell is non-zero (then moving one person between them is just as consistent
    with everything shown). The only exception is a total that is itself 1 to 7, which is hidden wherever
    it is shown.
    """
    out, hidden = suppress(_frame(values), COUNTS_ONLY)
    total = sum(values)
    for i, (value, is_hidden) in enumerate(zip(values, hidden["n"])):
        if not is_hidden:
            continue
        others_hidden = sum(v for j, (v, h) in enumerate(zip(values, hidden["n"])) if h and j != i)
        assert others_hidden > 0 or 1 <= total <= 7, (values, hidden["n"].tolist())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Jan", "Feb", "Mar"]), st.sampled_from(["A", "B", "C", "D"]),
                          st.integers(min_value=0, max_value=60)), min_size=1, max_size=12,
                unique_by=lambda t: (t[0], t[1])))
def test_property_cross_tabs_have_no_lone_hidden_cell_in_any_row_or_column(cells):
    df = pd.DataFrame(cells, columns=["month", "area", "n"])
    spec = SuppressionSpec.from_yaml({"counts": ["n"], "group_by": [["month"], ["area"]]})
    _, hidden = suppress(df, spec)
    for column in ("month", "area"):
        for _, rows in df.groupby(column):
            group_hidden = hidden.loc[rows.index, "n"]
            others_nonzero = ((rows["n"] > 0) & ~group_hidden).any()
            assert group_hidden.sum() != 1 or len(rows) == 1 or not others_nonzero


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=40), st.floats(min_value=0, max_value=100)),
                min_size=1, max_size=15))
def test_property_statistics_are_shown_only_when_based_on_eight_or_more(rows):
    df = _frame([n for n, _ in rows], median=[m for _, m in rows])
    spec = SuppressionSpec.from_yaml({"counts": ["n"], "statistics": {"median": "n"}})
    out, hidden = suppress(df, spec)
    for (n, _), shown, hid in zip(rows, out["median"], hidden["median"]):
        if 1 <= n <= 7:
            assert hid and pd.isna(shown)


@given(st.integers(min_value=0, max_value=10**6))
def test_property_rounding_is_to_the_nearest_five(value):
    rounded = round_count(value)
    assert rounded % 5 == 0 and abs(rounded - value) <= 2


# ------------------------------------------------------------------------------------ fast helpers
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["2026-01", "2026-02", None]), st.sampled_from(["A", "B"]),
                          st.integers(0, 3)), max_size=30),
       st.sampled_from([(), ("month",), ("month", "area"), ("area", "bucket")]))
def test_groups_are_the_groups_pandas_makes(rows, partition):
    """The numpy grouping used for secondary suppression holds the same rows as pandas' groupby."""
    from portal.suppression import _groups

    frame = pd.DataFrame(rows, columns=["month", "area", "bucket"])
    ours = {frozenset(group.tolist()) for group in _groups(frame, partition)} - {frozenset()}
    if partition:
        expected = {frozenset(rows.tolist())
                    for rows in frame.groupby(list(partition), dropna=False).indices.values()}
    else:
        expected = {frozenset(range(len(frame)))} - {frozenset()}
    assert ours == expected


@pytest.mark.parametrize("column", [
    pd.Series([0, 3, 12], dtype="int64"),
    pd.Series([0.0, float("nan"), 12.5]),
    pd.Series([0, None, 12], dtype="Int64"),
    pd.Series(["0", "3", None], dtype=object),
])
def test_counts_read_as_floats_whatever_their_type(column):
    from portal.suppression import _as_floats

    expected = pd.to_numeric(column).to_numpy(dtype="float64", na_value=float("nan"))
    assert _as_floats(column).tolist() == pytest.approx(expected.tolist(), nan_ok=True)


def test_unsuppressed_whole_counts_are_integers_and_nothing_else_changes():
    spec = SuppressionSpec(counts=("items", "person_years", "already_int"))
    raw = pd.DataFrame({"area": ["a", "b", "c"], "items": [9158.0, float("nan"), 3.0],
                        "person_years": [57180.8, 2.0, 1.0], "already_int": [1, 2, 3], "rate": [1.0, 2.0, 3.0]},
                       index=[7, 8, 9])
    out = whole_counts(raw, spec)
    assert str(out["items"].dtype) == "Int64" and out["items"].tolist()[0::2] == [9158, 3]
    assert pd.isna(out["items"][1])
    assert out["person_years"].dtype == "float64" and out["already_int"].dtype == "int64"
    assert out["rate"].dtype == "float64"  # not a count
    assert list(out.index) == [0, 1, 2] and raw["items"].dtype == "float64"  # the input is untouched
