"""Loader for DfE's Local Authority Interactive Tool (LAIT) long dataset and its data dictionary.

The long dataset has one row per indicator (``Short Desc``), period (``Years``) and area (``LA and
Regions``), values as text (``-`` where there is no figure, some in scientific notation). England and the
regions are rows too, told apart by LAIT's own area numbers (970 England, 980-990 regions). The data
dictionary gives each indicator's title, polarity (``High``/``Low`` is the good direction), unit, period
type and last update (an Excel day number).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from portal.public.common import (
    ENGLAND_CODE, ENGLAND_NAME, PublicDataError, frame, lait_period, parse_column, region_for,
)
from portal.public.ees import read_csv_text

DATA_COLUMNS = ["Short Desc", "Years", "LA and Regions", "Values", "LA Number", "Region"]
DICTIONARY_COLUMNS = ["Measure_short", "Topic", "Measure", "Chart_title", "Polarity", "y_axis_name",
                      "Description", "Last Update", "Year_Type"]
LAIT_ENGLAND = 970
LAIT_REGIONS = range(980, 991)
LAIT_LONDON_HALVES = (987, 988)  # Inner and Outer London: sub-regional totals with no place in the comparison
SOURCE = "DfE Local Authority Interactive Tool (LAIT)"
SOURCE_URL = "https://www.gov.uk/government/publications/local-authority-interactive-tool-lait"
SYMBOLS = {"-": "x"}


def read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise PublicDataError(path, f"is not a readable Parquet file ({exc})") from None
        df.columns = [str(c).strip() for c in df.columns]
        return df
    return read_csv_text(path)


def is_data(columns) -> bool:
    return {"Short Desc", "LA and Regions", "Values"} <= set(columns)


def is_dictionary(columns) -> bool:
    return {"Measure_short", "Polarity", "Year_Type"} <= set(columns)


def _excel_date(text) -> str | None:
    try:
        return (dt.date(1899, 12, 30) + dt.timedelta(days=int(float(text)))).isoformat()
    except (TypeError, ValueError):
        return None


def load_dictionary(path: Path) -> pd.DataFrame:
    df = read_csv_text(path)
    missing = [c for c in DICTIONARY_COLUMNS if c not in df.columns]
    if missing:
        raise PublicDataError(path, f"is missing the column(s) {', '.join(missing)}")
    df = df[df["Measure_short"].str.strip() != ""]
    return df.drop_duplicates("Measure_short").set_index("Measure_short")


def catalogue(dictionary: pd.DataFrame, short_codes) -> list[dict]:
    entries = []
    for code in sorted(short_codes):
        row = dictionary.loc[code]
        axis = str(row["y_axis_name"]).strip()
        polarity = {"high": "high", "low": "low"}.get(str(row["Polarity"]).strip().lower(), "neutral")
        entries.append({
            "indicator_id": f"lait_{code}",
            "indicator_name": (str(row["Chart_title"]).strip() or str(row["Measure"]).strip()),
            "topic": str(row["Topic"]).strip() or None,
            "definition": " ".join(str(row["Description"]).split()) or str(row["Measure"]).strip(),
            "unit": "%" if "%" in axis else (axis or "value"),
            "polarity": polarity,
            "source": SOURCE,
            "publisher": str(row.get("Data Owner (DO) /Supplier and Contact Details", "DfE")).strip() or "DfE",
            "source_url": (str(row.get("Hyperlink(s)", "")).split()[0:1] or [SOURCE_URL])[0],
            "period_type": str(row["Year_Type"]).strip() or None,
            "last_updated": _excel_date(row["Last Update"]),
            "caveats": "Taken from LAIT, which gathers figures from many DfE and other releases; "
                       "see the source release for footnotes.",
            "decimal_places": pd.to_numeric(row.get("dps"), errors="coerce"),
        })
    return entries


def load(path: Path, dictionary_path: Path | None) -> tuple[pd.DataFrame, list[dict]]:
    if dictionary_path is None:
        raise PublicDataError(path, "is LAIT data but the LAIT data dictionary (lait_data_dictionary.csv, which "
                                    "gives each indicator's name and polarity) is not in the same folder")
    dictionary = load_dictionary(dictionary_path)
    df = read_table(path)
    missing = [c for c in DATA_COLUMNS if c not in df.columns]
    if missing:
        raise PublicDataError(path, f"is missing the column(s) {', '.join(missing)}")
    df = df.astype({"Short Desc": "string", "Years": "string", "LA and Regions": "string", "Region": "string"})
    df["Short Desc"] = df["Short Desc"].str.strip()
    unknown = sorted(set(df["Short Desc"].dropna()) - set(dictionary.index))
    if unknown:
        raise PublicDataError(path, f"has indicators missing from the data dictionary: {', '.join(unknown[:5])}")

    number = pd.to_numeric(df["LA Number"], errors="coerce")
    if number.isna().any():
        raise PublicDataError(path, "has rows without an LA Number")
    df = df[~number.isin(LAIT_LONDON_HALVES)]
    number = number.loc[df.index].astype(int)

    value, symbol = parse_column(df["Values"], path, "Values", SYMBOLS)
    year_type = df["Short Desc"].map(dictionary["Year_Type"])
    period_keys = pd.Series(list(zip(df["Years"].str.strip(), year_type)), index=df.index)
    ends = {key: lait_period(*key) for key in set(period_keys)}
    period_end = period_keys.map(ends)
    no_period = period_end.isna()
    if (no_period & value.notna()).any():
        bad = df.loc[no_period & value.notna(), "Years"].iloc[0]
        raise PublicDataError(path, f"has a figure for the period {bad!r}, which is not a period LAIT uses")
    keep = ~no_period  # LAIT's "0" period only ever holds "-"

    out = pd.DataFrame({
        "indicator_id": "lait_" + df["Short Desc"],
        "indicator_name": df["Short Desc"].map(dictionary["Chart_title"]).str.strip(),
        "period": df["Years"].str.strip(),
        "period_end": period_end,
        "area_name": df["LA and Regions"].str.strip(),
        "value": value,
        "symbol": symbol,
        "source": SOURCE,
    })
    is_england = number == LAIT_ENGLAND
    is_region = number.isin(LAIT_REGIONS)
    is_la = ~is_england & ~is_region
    out["geography_level"] = "local_authority"
    out.loc[is_region, "geography_level"] = "regional"
    out.loc[is_england, "geography_level"] = "national"
    out["area_code"] = number.map(lambda n: f"{n:03d}")
    out.loc[is_england, ["area_code", "area_name"]] = [ENGLAND_CODE, ENGLAND_NAME]
    regions = {name: region_for(name) for name in set(out.loc[is_region, "area_name"]) | set(df["Region"].dropna())}
    unknown_regions = sorted(n for n in set(out.loc[is_region, "area_name"]) if not regions.get(n))
    if unknown_regions:
        raise PublicDataError(path, f"names regions that are not English regions: {', '.join(unknown_regions)}")
    out.loc[is_region, "area_code"] = out.loc[is_region, "area_name"].map(lambda n: regions[n][0])
    out.loc[is_region, "area_name"] = out.loc[is_region, "area_name"].map(lambda n: regions[n][1])
    out.loc[is_region, ["parent_code", "parent_name"]] = [ENGLAND_CODE, ENGLAND_NAME]
    la_region = df.loc[is_la, "Region"].map(lambda n: regions.get(n) or (None, None))
    out.loc[is_la, "parent_code"] = la_region.map(lambda r: r[0])
    out.loc[is_la, "parent_name"] = la_region.map(lambda r: r[1])
    out = out[keep]
    return frame(out), catalogue(dictionary, out["indicator_id"].str.removeprefix("lait_").unique())
