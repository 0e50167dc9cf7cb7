"""Plain-English number formatting shared by the journey summaries.

Suppressed cells arrive as missing values (see portal/suppression.py); these helpers never print them
as numbers, so a summary cannot reveal what a table hides.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


# How the breakdown choosers name the standard dimensions. Each journey lists the ones its queries allow (their
# `by` parameter), in the order its chooser offers them.
DIMENSION_LABELS: dict[str, str] = {
    "locality": "Locality",
    "age_band": "Age band",
    "sex": "Sex",
    "ethnicity": "Ethnicity",
    "imd_quintile": "Deprivation quintile (1 = most deprived)",
    "send_status": "SEND status",
    "primary_need": "Primary need",
}


def breakdowns(*names: str, labels: dict[str, str] | None = None) -> dict[str, str]:
    """A breakdown chooser's options: ``names`` in order, each with its label from ``labels`` (for a journey's
    own choices, or its own wording) or else the standard dimension's."""
    labels = labels or {}
    return {name: labels.get(name) or DIMENSION_LABELS[name] for name in names}


def is_missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_count(value) -> str:
    """A count with thousands separators, or 'fewer than 8' when it is hidden (counts of 1 to 7 are)."""
    if is_missing(value):
        return "fewer than 8"
    return f"{int(round(float(value))):,}"


def fmt_number(value, decimals: int = 0) -> str:
    if is_missing(value):
        return "not shown"
    value = float(value)
    if decimals == 0:
        return f"{int(round(value)):,}"
    return f"{value:,.{decimals}f}"


def fmt_pct(value, decimals: int = 0) -> str:
    """A percentage given as 0-100."""
    if is_missing(value):
        return "not shown"
    text = f"{float(value):.{decimals}f}%"
    return text


def pct(numerator, denominator) -> float:
    """numerator / denominator as 0-100, or NaN when either is missing or the denominator is 0."""
    if is_missing(numerator) or is_missing(denominator) or float(denominator) == 0:
        return math.nan
    return 100.0 * float(numerator) / float(denominator)


def join_names(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    names = [str(n) for n in names]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def rounded_for_display(table: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """Fractional numbers rounded for reading; text cells (such as the suppression marker) left alone."""
    out = table.copy()

    def tidy(value):
        if isinstance(value, float) and not math.isnan(value) and not float(value).is_integer():
            return round(value, decimals)
        return value

    for column in out.columns:
        if out[column].dtype.kind == "f" or str(out[column].dtype) == "Float64":
            out[column] = out[column].round(decimals)
        elif out[column].dtype == object:
            out[column] = out[column].map(tidy)
    return out


def filters_phrase(filters, leave_out: tuple[str, ...] = ("locality",)) -> str:
    """The sidebar filters in force as a short phrase, without the period and the filters left out
    (for pages whose figures the period or locality does not apply to); '' when none is set."""
    from portal.filters import FILTER_COLUMNS

    chosen = {name: getattr(filters, name) for name in FILTER_COLUMNS if name not in leave_out}
    chosen = {name: value for name, value in chosen.items() if value is not None}
    if not chosen:
        return ""
    return type(filters)(**chosen).describe().rsplit(" · ", 1)[0].replace(" · ", ", ")


def count_axis(max_count, title: str, **kwargs):
    """An Altair axis for small whole-number counts: one tick per whole number up to about ten ticks, so a
    chart of 2 never shows ticks 0, 0.5, 1 labelled '0, 1, 1'."""
    import altair as alt

    top = int(max_count) if not is_missing(max_count) and max_count > 0 else 1
    step = max(1, math.ceil(top / 10))
    return alt.Axis(title=title, values=list(range(0, top + step, step)), format="d", **kwargs)


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows as dicts, like ``frame.to_dict("records")`` (hidden figures stay missing), in a tenth of its
    time: the pages' sentences read a few dozen rows each, and pandas boxes every cell one at a time."""
    columns = list(frame.columns)
    return [dict(zip(columns, values)) for values in zip(*(frame[column].tolist() for column in columns))]


def melted(frame: pd.DataFrame, id_vars: list[str], value_vars: list[str], var_name: str,
           value_name: str) -> pd.DataFrame:
    """``frame.melt(id_vars, value_vars, var_name, value_name).dropna(subset=[value_name])``: one row per row
    of ``frame`` and value column with a figure. The same frame, dtypes and row numbering included (the
    numbering travels with a chart's data), built directly: pandas' melt costs about 2 ms even for a few
    rows, and the pages draw several long-form charts on every run."""
    count = len(frame)
    values = (pd.concat([frame[column] for column in value_vars], ignore_index=True)  # melt's value dtype
              if value_vars else pd.Series([], dtype=float))
    keep = values.notna().to_numpy()
    rows = np.tile(np.arange(count), len(value_vars))[keep]
    data = {column: frame[column].take(rows).reset_index(drop=True) for column in id_vars}
    data[var_name] = pd.Series(np.repeat(np.array(value_vars, dtype=object), count)[keep], dtype=object)
    data[value_name] = values[keep].reset_index(drop=True)
    long = pd.DataFrame(data)
    if not keep.all():
        long.index = pd.Index(np.flatnonzero(keep), dtype="int64")
    return long


def drawable(chart):
    """The chart, or None when it has nothing to draw (every value hidden or no rows).

    An empty Vega mark is an unlabelled graphic to a screen reader (axe-core's svg-img-alt), and an
    empty frame tells a sighted reader nothing; the block then shows its table and summary only.
    """
    if chart is None:
        return None
    layers = getattr(chart, "layer", None) or [chart]
    for layer in layers:
        data = getattr(layer, "data", None)
        if data is None or not hasattr(data, "__len__") or len(data) > 0:
            return chart  # inline GeoJSON or data set at the top level: assume drawable
    return None


# A chart drawn to the page's width is fitted into its height whole, its x axis and the legend below it
# included (about 110 pixels), so a chart of bars grouped by colour is that tall plus room for each bar.
# Heights of a minimum, or so many pixels a row plus 40, left the bars of a single group (the whole area,
# the pages' opening breakdown) 3 pixels thick.
BAR_ROOM = 24
GROUPED_BAR_CHART_FURNITURE = 130


def grouped_bar_chart_height(bars: int) -> int:
    """The height of a horizontal bar chart with ``bars`` bars in groups (``yOffset``) and a colour legend."""
    return BAR_ROOM * bars + GROUPED_BAR_CHART_FURNITURE


def labelled_heatmap(data: pd.DataFrame, value: str, x, y, colour_title: str, scheme: str, white_from: float,
                     tooltip: list, label_format: str = "{:.0f}"):
    """A grid of coloured cells, each with its value written in it (so the colour is never the only way to
    read it); a hidden cell reads "*" as in the tables, never "null". ``x`` and ``y`` are Altair channel
    objects.

    The text turns white on the darker cells to keep its contrast. The colour scale runs from the smallest
    value shown to the largest, so which cells are dark depends on this data's range, not on a fixed value:
    white from ``white_from`` of the way along it (a fixed 30% left every label dark when the county's
    largest overlap was 17%, written in dark grey on the darkest purple)."""
    import altair as alt

    from portal.theme import colour_if

    data = data.copy()
    data[value] = data[value].astype("Float64")
    data["label"] = data[value].map(lambda v: "*" if is_missing(v) else label_format.format(float(v)))
    base = alt.Chart(data).encode(x=x, y=y)
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", title=colour_title, scale=alt.Scale(scheme=scheme)), tooltip=tooltip)
    shown = data[value].dropna()
    white_above = float(shown.min() + white_from * (shown.max() - shown.min())) if len(shown) else 0.0
    text = base.mark_text(fontSize=13).encode(
        text=alt.Text("label:N"),
        color=colour_if(f"datum.{value} > {white_above!r}", "white", "#212B32"),
    )
    return cells + text
