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
    """
    missing = spec.columns() - set(df.columns)
    if missing:
        raise ValueError(f"suppression refers to columns the query does not return: {sorted(missing)}")
    raw = df.reset_index(drop=True)
    hidden = pd.DataFrame(False, index=raw.index, columns=raw.columns)

    # 1. primary suppression of small counts
    for column in spec.counts:
        hidden[column] = raw[column].map(is_small).astype(bool)

    # 3. secondary suppression, until every group has zero or at least two hidden cells per count column
    changed = True
    while changed:
        changed = False
        for partition in spec.group_by:
            groups = [raw.index] if not partition else raw.groupby(list(partition), dropna=False).groups.values()
            for rows in groups:
                rows = list(rows)
                for column in spec.counts:
                    if _protect_lone_cell(raw, hidden, rows, column):
                        changed = True

    # 2. statistics based on few people, or on a hidden count
    for column, bases in spec.statistics.items():
        small_base = pd.Series(False, index=raw.index)
        for base in bases:
            small_base |= raw[base].map(is_small).astype(bool) | hidden[base]
        hidden[column] = small_base & raw[column].notna()

    shown = raw.copy()
    for column in spec.counts:
        values = pd.to_numeric(raw[column], errors="raise")
        rounded = values.map(lambda v: pd.NA if pd.isna(v) else round_count(v)).astype("Int64")
        shown[column] = rounded.mask(hidden[column])
    for column in spec.statistics:
        values = pd.to_numeric(raw[column], errors="raise").astype("Float64")
        shown[column] = values.mask(hidden[column])
    return shown, hidden


def _protect_lone_cell(raw: pd.DataFrame, hidden: pd.DataFrame, rows: list, column: str) -> bool:
    """If exactly one cell of ``column`` in these rows is hidden, hide the smallest other non-zero cell."""
    if len(rows) < 2:
        return False
    hidden_here = hidden.loc[rows, column]
    if int(hidden_here.sum()) != 1:
        return False
    values = pd.to_numeric(raw.loc[rows, column], errors="coerce")
    candidates = values[~hidden_here & values.notna() & (values > 0)]
    if candidates.empty:
        # Every other cell is zero or missing: a total would reveal the hidden cell, so nothing else to
        # hide helps; hiding zeros still leaves total = hidden cell. The total itself must be suppressed
        # by its own query, which it is, since it equals a count of 1..7.
        return False
    hidden.loc[candidates.sort_values(kind="stable").index[0], column] = True
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
