"""Shared vocabulary of the published-statistics loaders: the tidy columns, symbols, periods and regions.

Every loader turns its file into rows of ``INDICATOR_COLUMNS``. Published files stand a symbol in place of
a number where a figure is withheld or meaningless; the symbol is kept in ``symbol`` and ``value`` is NULL,
so a chart never shows a withheld figure as zero.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd

INDICATOR_COLUMNS = [
    "indicator_id", "indicator_name", "period", "period_end", "geography_level",
    "area_code", "area_name", "parent_code", "parent_name", "value", "symbol", "source",
]
CATALOGUE_COLUMNS = [
    "indicator_id", "indicator_name", "topic", "definition", "unit", "polarity", "source", "publisher",
    "source_url", "period_type", "last_updated", "caveats", "decimal_places", "loaded_at",
]
NEIGHBOUR_COLUMNS = ["area_code", "area_name", "neighbour_rank", "neighbour_code", "neighbour_name", "closeness"]
GEOGRAPHY_LEVELS = ("national", "regional", "local_authority", "icb", "provider")
POLARITIES = ("high", "low", "neutral")  # high: a higher value is better; neutral: no judgement

# The explore-education-statistics symbols (see each release's data guidance) and what they mean in plain
# English. Other publishers' markers are mapped onto these so the page explains one vocabulary.
SYMBOLS = {
    "c": "confidential: withheld to protect people's privacy",
    "x": "not available",
    "z": "not applicable",
    "low": "fewer than half a unit, so it rounds to 0",
    "u": "low reliability",
}

ENGLAND_CODE = "E92000001"
ENGLAND_NAME = "England"
# The nine English regions (ONS codes) as DfE files name them; keys are lower-cased for matching.
REGIONS = {
    "north east": ("E12000001", "North East"),
    "north west": ("E12000002", "North West"),
    "yorkshire and the humber": ("E12000003", "Yorkshire and The Humber"),
    "east midlands": ("E12000004", "East Midlands"),
    "west midlands": ("E12000005", "West Midlands"),
    "east of england": ("E12000006", "East of England"),
    "london": ("E12000007", "London"),
    "south east": ("E12000008", "South East"),
    "south west": ("E12000009", "South West"),
    # LAIT splits London; an LA in either half belongs to the London region.
    "inner london": ("E12000007", "London"),
    "outer london": ("E12000007", "London"),
}

_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class PublicDataError(ValueError):
    """A published file could not be read; the message names the file and what is wrong."""

    def __init__(self, path: Path | str, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path.name}: {problem}")


def region_for(name: str | None) -> tuple[str, str] | None:
    """The (code, name) of an English region from any of the spellings publishers use."""
    if not name:
        return None
    key = re.sub(r"\s+", " ", str(name)).strip().lower()
    key = re.sub(r"^london \((inner|outer)\)$", r"\1 london", key)
    return REGIONS.get(key)


def parse_cell(raw, path: Path, column: str, symbol_map: dict[str, str | None] | None = None):
    """One published cell as (value, symbol).

    ``symbol_map`` maps a publisher's markers onto our symbols (``None`` means "this marker is zero").
    Thousands separators, percent signs and stray spaces are tolerated; anything else is an error naming
    the file, column and text, because a silent NULL would hide a changed format.
    """
    if raw is None or (isinstance(raw, float) and pd.isna(raw)):
        return None, "x"
    text = str(raw).strip()
    if text == "":
        return None, "x"
    mapping = {k: k for k in SYMBOLS}
    mapping.update(symbol_map or {})
    if text in mapping:
        symbol = mapping[text]
        return (0.0, None) if symbol is None else (None, symbol)
    cleaned = text.replace(",", "").rstrip("%").strip()
    if _NUMBER_RE.match(cleaned):
        return float(cleaned), None
    raise PublicDataError(path, f"column {column!r} holds {text!r}, which is neither a number nor a known symbol")


def parse_column(values: pd.Series, path: Path, column: str, symbol_map=None) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`parse_cell` over a column of text: returns (value, symbol) series."""
    text = values.astype("string").str.strip()
    cleaned = text.str.replace(",", "", regex=False).str.rstrip("%").str.strip()
    numeric = pd.to_numeric(cleaned.where(cleaned.str.match(_NUMBER_RE.pattern).fillna(False)), errors="coerce")
    value = numeric.astype("float64")
    symbol = pd.Series(pd.NA, index=values.index, dtype="string")
    rest = value.isna()
    if rest.any():
        parsed = [parse_cell(None if pd.isna(v) else v, path, column, symbol_map) for v in text[rest]]
        value.loc[rest] = [float("nan") if p[0] is None else p[0] for p in parsed]
        symbol.loc[rest] = [p[1] for p in parsed]
    return value, symbol


_MONTHS = {m.lower(): i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
     "November", "December"], start=1)}


def _month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def ees_period(time_period: str, time_identifier: str, path: Path) -> tuple[str, dt.date]:
    """An explore-education-statistics (time_period, time_identifier) pair as (label, period end date).

    ``202425`` with "Academic year" is 2024/25 (ends 31 August 2025); "Financial year" 2024-25 ends
    31 March 2025; "Calendar year" ``2024`` ends 31 December 2024; a month name with a year ends that month.
    """
    code = str(time_period).strip()
    ident = str(time_identifier).strip().lower()
    if ident in ("academic year", "financial year", "tax year") and re.fullmatch(r"\d{6}", code):
        start = int(code[:4])
        if int(code[4:]) != (start + 1) % 100:
            raise PublicDataError(path, f"time_period {code!r} is not a valid {time_identifier} code")
        if ident == "academic year":
            return f"{start}/{code[4:]}", dt.date(start + 1, 8, 31)
        if ident == "financial year":
            return f"{start}-{code[4:]}", dt.date(start + 1, 3, 31)
        return f"{start}-{code[4:]}", dt.date(start + 1, 4, 5)
    if ident == "calendar year" and re.fullmatch(r"\d{4}", code):
        return code, dt.date(int(code), 12, 31)
    if ident in _MONTHS and re.fullmatch(r"\d{4}", code):
        month = _MONTHS[ident]
        return f"{time_identifier.strip()} {code}", _month_end(int(code), month)
    raise PublicDataError(path, f"time period {code!r} with time_identifier {time_identifier!r} is not understood")


def lait_period(label: str, year_type: str | None) -> dt.date | None:
    """The end date of a LAIT ``Years`` label, or None when the label names no period (LAIT's ``0``)."""
    text = str(label).strip()
    base = re.sub(r"\s*\(.*\)\s*$", "", text)
    kind = (year_type or "").lower()
    m = re.fullmatch(r"(\d{4})", base)
    if m:
        year = int(m.group(1))
        if "academic" in kind:  # LAIT labels an academic year by the year it ends
            return dt.date(year, 8, 31)
        if "financial" in kind:
            return dt.date(year, 3, 31)
        return dt.date(year, 12, 31)
    m = re.fullmatch(r"(\d{4})[-/](\d{2})", base)
    if m:
        start, end2 = int(m.group(1)), int(m.group(2))
        if end2 == (start + 1) % 100:  # one academic or financial year, e.g. 2023-24 or 2023/24
            return dt.date(start + 1, 3, 31) if "financial" in kind else dt.date(start + 1, 8, 31)
        return dt.date(2000 + end2, 12, 31)  # a rolling range of calendar years, e.g. 2014-16
    m = re.fullmatch(r"\d{4}/\d{2}-(\d{2})/(\d{2})", base)  # a range of academic years, e.g. 2013/14-15/16
    if m:
        return dt.date(2000 + int(m.group(2)), 8, 31)
    return None


def frame(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Rows as a DataFrame with exactly the mart's columns and types."""
    df = pd.DataFrame(rows)
    for column in INDICATOR_COLUMNS:
        if column not in df:
            df[column] = pd.NA
    df = df[INDICATOR_COLUMNS].copy()
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype("float64")
    df["period_end"] = pd.to_datetime(df["period_end"]).dt.date
    for column in INDICATOR_COLUMNS:
        if column not in ("value", "period_end"):
            df[column] = df[column].astype("string")
    return df


def catalogue_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for column in CATALOGUE_COLUMNS:
        if column not in df:
            df[column] = pd.NA
    df = df[CATALOGUE_COLUMNS].copy()
    df["decimal_places"] = pd.to_numeric(df["decimal_places"], errors="coerce").astype("Int64")
    for column in CATALOGUE_COLUMNS:
        if column != "decimal_places":
            df[column] = df[column].astype("string")
    bad = set(df["polarity"].dropna()) - set(POLARITIES)
    if bad:
        raise ValueError(f"unknown polarity {sorted(bad)}")
    return df
