"""Home page (SPEC §3.1): the headline numbers, what changed since a month earlier, data freshness.

Everything here works on a ``home_headlines`` result (one row, suppressed as the role requires):
suppressed cells are missing values, so nothing below can show or hint at a hidden number.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from portal import freshness
from portal.journeys.common import is_missing, join_names

COUNT, WEEKS, PERCENT = "count", "weeks", "percent"


@dataclass(frozen=True)
class Headline:
    key: str           # column stem: <key>_now and <key>_before in the query output
    label: str         # table label (in full)
    tile: str          # tile label (short enough not to be cut off in a third of the page)
    kind: str          # COUNT, WEEKS or PERCENT
    lower_is_better: bool | None  # for the colour of the change; None = neither direction is "better"
    glossary: tuple[str, ...]     # glossary terms that explain it
    phrase: str        # "children and young people with an EHCP" (for sentences)


HEADLINES = (
    Headline("ehcp", "Children and young people with an EHCP", "With an EHCP", COUNT, None,
             ("EHCP",), "number of children and young people with an EHCP"),
    Headline("sen_support", "Children and young people on SEN support", "On SEN support", COUNT, None,
             ("SEN support",), "number on SEN support"),
    Headline("awaiting_assessment", "Requests waiting for an EHC needs assessment", "Awaiting EHC assessment",
             COUNT, True, ("EHC needs assessment",), "number of requests waiting for an EHC needs assessment"),
    Headline("nd_median_wait", "Median wait so far for autism or ADHD assessment", "Autism/ADHD median wait",
             WEEKS, True, ("Neurodevelopmental assessment", "Median"),
             "median wait for an autism or ADHD assessment"),
    Headline("pct_on_time", "EHCPs issued within 20 weeks (last 12 months)", "EHCPs within 20 weeks",
             PERCENT, False, ("20-week timescale",), "share of EHCPs issued within 20 weeks"),
    Headline("melatonin", "Patients prescribed melatonin (last 12 months)", "On melatonin (12 months)", COUNT,
             None, ("Melatonin",), "number of children and young people prescribed melatonin"),
)


@dataclass(frozen=True)
class HeadlineValue:
    headline: Headline
    now: float | None      # None when hidden (small numbers) or not available
    before: float | None

    @property
    def change(self) -> float | None:
        if self.now is None or self.before is None:
            return None
        return self.now - self.before


def _value(row: pd.Series, column: str) -> float | None:
    value = row.get(column)
    return None if is_missing(value) else float(value)


def headline_values(df: pd.DataFrame) -> list[HeadlineValue]:
    row = df.iloc[0] if len(df) else pd.Series(dtype=object)
    return [HeadlineValue(h, _value(row, f"{h.key}_now"), _value(row, f"{h.key}_before")) for h in HEADLINES]


def format_value(kind: str, value: float | None) -> str:
    if value is None:
        return "Fewer than 8" if kind == COUNT else "Too few to show"
    if kind == COUNT:
        return f"{int(round(value)):,}"
    if kind == WEEKS:
        return f"{value:.1f} weeks"
    return f"{value:.0f}%"


def format_change(kind: str, change: float | None) -> str | None:
    """The change for a tile, e.g. '+5', '-0.5 weeks', '+3 points'; None when there is nothing to compare
    or no change worth an arrow."""
    if change is None or _is_steady(kind, change):
        return None
    if kind == COUNT:
        return f"{int(round(change)):+,}"
    if kind == WEEKS:
        return f"{change:+.1f} weeks"
    return f"{change:+.0f} points"


def change_colour(headline: Headline) -> str:
    """Streamlit's delta_color: red for a change in the worse direction, grey when neither is better."""
    if headline.lower_is_better is None:
        return "off"
    return "inverse" if headline.lower_is_better else "normal"


def headline_table(display_df: pd.DataFrame, now_date: dt.date, before_date: dt.date) -> pd.DataFrame:
    """The accessible table (and download) of the tiles: one row per headline, hidden cells as shown."""
    row = display_df.iloc[0] if len(display_df) else pd.Series(dtype=object)
    now_heading = f"Now ({now_date:%d %b %Y})"
    before_heading = f"A month earlier ({before_date:%d %b %Y})"
    rows = []
    for headline in HEADLINES:
        rows.append({
            "Measure": headline.label,
            now_heading: _table_cell(headline.kind, row.get(f"{headline.key}_now")),
            before_heading: _table_cell(headline.kind, row.get(f"{headline.key}_before")),
        })
    return pd.DataFrame(rows)


def _table_cell(kind: str, value):
    if isinstance(value, str) or value is None:  # the suppression marker, or nothing
        return value if value is not None else ""
    if is_missing(value):
        return ""
    if kind == COUNT:
        return f"{int(round(float(value))):,}"
    if kind == WEEKS:
        return f"{float(value):.1f}"
    return f"{float(value):.1f}%"


def changes_summary(values: list[HeadlineValue], before_date: dt.date, filters_phrase: str = "") -> str:
    """One plain-English paragraph on what changed since a month earlier, from the numbers shown."""
    changed, steady = [], []
    for value in values:
        if value.change is None:
            continue
        kind, phrase = value.headline.kind, value.headline.phrase
        if _is_steady(kind, value.change):
            steady.append(phrase)
            continue
        direction = "rose" if value.change > 0 else "fell"
        size = abs(value.change)
        if kind == COUNT:
            amount = f"by {int(round(size)):,} to {format_value(kind, value.now)}"
        elif kind == WEEKS:
            amount = f"by {size:.1f} weeks to {format_value(kind, value.now)}"
        else:
            amount = f"by {size:.0f} percentage points to {format_value(kind, value.now)}"
        changed.append(f"the {phrase} {direction} {amount}")
    since = f"Since {before_date:%-d %B %Y}"
    scope = f" ({filters_phrase})" if filters_phrase else ""
    if not changed and not steady:
        return (f"{since}{scope}, there is not enough data to compare: numbers based on fewer than 8 people "
                "are hidden.")
    sentences = []
    if changed:
        text = join_names(changed)
        sentences.append(f"{since}{scope}, {text}.")
    if steady:
        lead = "No change in" if changed else f"{since}{scope}, there was no change in"
        sentences.append(f"{lead} {join_names(['the ' + phrase for phrase in steady])}.")
    return " ".join(sentences)


def _is_steady(kind: str, change: float) -> bool:
    # Counts are rounded to 5 for most roles, and small moves in a median or a share are noise.
    return abs(change) < {COUNT: 1, WEEKS: 0.05, PERCENT: 0.5}[kind]


def freshness_rows(feed_refresh: dict[str, str]) -> pd.DataFrame:
    """The source feeds behind the headlines with the date each was last received, oldest first."""
    oldest_first = sorted(feed_refresh.items(), key=lambda item: item[1])  # ISO days sort as dates
    return pd.DataFrame([{"Feed": freshness.feed_title(feed), "Last received": freshness.received_text(day)}
                         for feed, day in oldest_first], columns=["Feed", "Last received"])


def as_date(value) -> dt.date:
    return pd.Timestamp(value).date()
