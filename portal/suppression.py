"""Small-number suppression for aggregate outputs (SPEC §5), applied once in the query layer.

Rules, for every role except the unsuppressed ones (``portal.roles.UNSUPPRESSED_ROLES``, i.e. analysts):

1. **Counts** (columns listed under ``suppress.counts`` in a query file): a value from 1 to 7 is
   suppressed; every other value is rounded to the nearest 5 (0 stays 0). This is NHS England's rule for
   HES/ECDS outputs.
2. **Statistics** (``suppress.statistics: {column: base}``): a mean, median, rate or percentage is
   suppressed when the number of people it is based on is 1 to 7. ``base`` names the count column (or a
   list of count columns) holding that number, read *before* rounding. A statistic whose base is
   suppressed by rule 3 is suppressed too, because a rate and its denominator would give the count back.
3. **Secondary suppression** (``suppress.group_by``): the rows of one group add up to a total that may
   be shown beside them (the area total, the month total, ...). If a group holds exactly one suppressed
   cell in a count column, its value would be total minus the others, so the smallest other non-zero
   cell of that group is suppressed as well. ``group_by: [month]`` makes one group per month;
   ``group_by: []`` (or leaving it out) makes the whole output one group; ``group_by: [[month],
   [locality]]`` protects totals in both directions (rows and columns of a cross-tab) and repeats until
   no group has a lone suppressed cell.

How a suppressed cell looks (the same everywhere):

* In ``QueryResult.df`` a suppressed cell is a missing value (``<NA>``) in a numeric column, so charts
  and computed summaries omit it naturally and no code can use the hidden number by accident. Numeric
  columns stay numeric (nullable ``Int64``/``Float64``).
* ``QueryResult.suppressed_cells`` is a boolean frame of the same shape saying which cells were hidden
  (as opposed to missing in the data).
* Tables and downloads show :data:`SUPPRESSED_MARKER` in those cells, with :data:`SUPPRESSED_NOTE`
  as a visible note; :func:`for_display` builds that frame, and both the on-screen table and the
  CSV/Excel downloads are made from it, so they agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

SUPPRESSED_MARKER = "*"
SUPPRESSED_NOTE = (
    "* Fewer than 8 people: hidden to protect privacy. "
    "Other counts are rounded to the nearest 5, so totals may not add up exactly."
)
LOWEST_SHOWN = 8  # counts 1..7 are hidden
ROUND_TO = 5


@dataclass(frozen=True)
class SuppressionSpec:
    """The ``suppress:`` block of a query file."""

    counts: tuple[str, ...] = ()
    statistics: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Each entry is one partition of the rows into groups (a tuple of column names; () = whole output).
    group_by: tuple[tuple[str, ...], ...] = ((),)

    @classmethod
    def from_yaml(cls, block: dict | None) -> "SuppressionSpec":
        block = block or {}
        unknown = set(block) - {"counts", "statistics", "group_by"}
        if unknown:
            raise ValueError(f"unknown keys in suppress: {sorted(unknown)}")
        counts = tuple(block.get("counts") or ())
        statistics = {}
        for column, base in (block.get("statistics") or {}).items():
            bases = (base,) if isinstance(base, str) else tuple(base)
            missing = [b for b in bases if b not in counts]
            if missing:
                raise ValueError(f"statistic {column!r} is based on {missing}, which are not listed in counts")
            statistics[column] = bases
        group_by = block.get("group_by")
        if group_by is None or group_by == []:
            partitions: tuple[tuple[str, ...], ...] = ((),)
        elif all(isinstance(g, str) for g in group_by):
            partitions = (tuple(group_by),)
        else:
            partitions = tuple(tuple(g) for g in group_by)
        return cls(counts=counts, statistics=statistics, group_by=partitions)

    def columns(self) -> set[str]:
        return set(self.counts) | set(self.statistics) | {c for g in self.group_by for c in g}


def round_count(value: float) -> int:
    """Round a count to the nearest 5 (halves go up, though integer counts never fall on a half)."""
    return int(math.floor(value / ROUND_TO + 0.5) * ROUND_TO)


def is_small(value) -> bool:
    """True for a count that must be hidden (1 to 7)."""
    return value is not None and not pd.isna(value) and 0 < value < LOWEST_SHOWN


def suppress(df: pd.DataFrame, spec: SuppressionSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the rules to an aggregate output.

    Returns ``(shown, hidden)``: the frame to show (suppressed cells missing, counts rounded) and a
    boolean frame marking the cells that were hidden. The input is not changed.

    Runs on every uncached query, so it works on numpy arrays rather than cell by cell (a page's filter
    change runs several queries; see docs/performance.md).
    """
    missing = spec.columns() - set(df.columns)
    if missing:
        raise ValueError(f"suppression refers to columns the query does not return: {sorted(missing)}")
    raw = df.reset_index(drop=True)
    counts = {c: _as_floats(raw[c]) for c in dict.fromkeys(spec.counts)}
    hidden = {c: _small(v) for c, v in counts.items()}  # 1. primary suppression of small counts

    # 3. secondary suppression, until every group has zero or at least two hidden cells per count column
    partitions = [_groups(raw, partition) for partition in spec.group_by]
    changed = True
    while changed:
        changed = False
        for groups in partitions:
            for rows in groups:
                for column in counts:
                    if _protect_lone_cell(counts[column], hidden[column], np.sort(rows)):
                        changed = True

    shown_columns = {c: raw[c] for c in raw.columns}
    hidden_columns = {c: np.zeros(len(raw), dtype=bool) for c in raw.columns}
    # 2. statistics based on few people, or on a hidden count
    for column, bases in spec.statistics.items():
        small_base = np.zeros(len(raw), dtype=bool)
        for base in bases:
            small_base |= _small(counts[base]) | hidden[base]
        values = _as_floats(raw[column])
        missing = np.isnan(values)
        hidden_columns[column] = small_base & ~missing
        blank = missing | hidden_columns[column]
        shown_columns[column] = pd.arrays.FloatingArray(np.where(blank, 0.0, values), blank)
    for column, values in counts.items():
        hidden_columns[column] = hidden[column]
        rounded = np.floor(values / ROUND_TO + 0.5) * ROUND_TO
        keep = ~np.isnan(values) & ~hidden[column]
        shown_columns[column] = pd.arrays.IntegerArray(np.where(keep, rounded, 0).astype("int64"), ~keep)
    shown = pd.DataFrame(shown_columns, index=raw.index)
    hidden_frame = pd.DataFrame(hidden_columns, index=raw.index)
    return shown, hidden_frame


def whole_counts(df: pd.DataFrame, spec: SuppressionSpec) -> pd.DataFrame:
    """The output as the unsuppressed roles see it: the same values, with each count column that holds only
    whole numbers as a nullable integer, the type :func:`suppress` gives every other role.

    DuckDB returns a sum of integers as a 128-bit integer, which arrives in pandas as a float, so an analyst's
    table showed "9,158.0" items where everyone else saw "9,160". A count column with a fraction in it (a
    sum of person-years) stays as it is."""
    out = df.reset_index(drop=True)
    for column in dict.fromkeys(spec.counts):
        if column not in out.columns or out[column].dtype.kind != "f":
            continue
        values = out[column].to_numpy(dtype="float64", na_value=np.nan)
        known = ~np.isnan(values)
        if np.array_equal(values[known], np.round(values[known])) and np.all(np.abs(values[known]) < 2**53):
            out[column] = pd.arrays.IntegerArray(np.where(known, values, 0).astype("int64"), ~known)
    return out


def _as_floats(series: pd.Series) -> np.ndarray:
    values = series.to_numpy()
    if values.dtype.kind in "iuf":  # what DuckDB returns for counts: no parsing needed
        return values.astype("float64")
    return pd.to_numeric(series, errors="raise").to_numpy(dtype="float64", na_value=np.nan, copy=True)


def _groups(raw: pd.DataFrame, partition: tuple[str, ...]) -> list[np.ndarray]:
    """Row positions of each group of ``partition`` (missing values form a group of their own).

    The same groups as ``raw.groupby(list(partition), dropna=False).indices``, in another order (the
    groups are disjoint, so the order does not change the outcome) and in a fifth of the time."""
    if not partition:
        return [np.arange(len(raw))]
    key = np.zeros(len(raw), dtype="int64")
    for column in partition:
        codes, uniques = pd.factorize(raw[column], use_na_sentinel=False)
        key = key * (len(uniques) + 1) + codes
    order = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
    return np.split(order, starts[1:])


def _small(values: np.ndarray) -> np.ndarray:
    """True for a count that must be hidden (1 to 7); missing values are not small."""
    with np.errstate(invalid="ignore"):
        return (values > 0) & (values < LOWEST_SHOWN)


def _protect_lone_cell(values: np.ndarray, hidden: np.ndarray, rows: np.ndarray) -> bool:
    """If exactly one cell of these rows is hidden, hide the smallest other non-zero cell (in place)."""
    if len(rows) < 2:
        return False
    hidden_here = hidden[rows]
    if int(hidden_here.sum()) != 1:
        return False
    here = values[rows]
    with np.errstate(invalid="ignore"):
        candidates = ~hidden_here & ~np.isnan(here) & (here > 0)
    if not candidates.any():
        # Every other cell is zero or missing: a total would reveal the hidden cell, so nothing else to
        # hide helps; hiding zeros still leaves total = hidden cell. The total itself must be suppressed
        # by its own query, which it is, since it equals a count of 1..7.
        return False
    positions = rows[candidates]
    hidden[positions[np.argsort(here[candidates], kind="stable")[0]]] = True
    return True


def for_display(shown: pd.DataFrame, hidden: pd.DataFrame | None) -> pd.DataFrame:
    """The frame tables and downloads show: hidden cells replaced by :data:`SUPPRESSED_MARKER`.

    Columns with a hidden cell become text columns (numbers stay as they are shown); other columns keep
    their type so sorting in the table still works.
    """
    out = shown.copy()
    if hidden is None or not bool(hidden.to_numpy().any()):
        return out
    hidden = hidden.reindex(index=out.index, columns=out.columns, fill_value=False)
    for column in out.columns:
        mask = hidden[column]
        if mask.any():
            text = out[column].astype(object).where(out[column].notna(), "")
            out[column] = text.mask(mask, SUPPRESSED_MARKER)
    return out


def any_hidden(hidden: pd.DataFrame | None) -> bool:
    return hidden is not None and bool(hidden.to_numpy().any())


def hidden_cells(hidden: pd.DataFrame) -> Iterable[tuple[int, str]]:
    """(row position, column) of every hidden cell, e.g. for JSON output."""
    for column in hidden.columns:
        for position in hidden.index[hidden[column]]:
            yield int(position), column
