"""Loader for explore-education-statistics (EES) CSV files, the format every DfE release uses.

Quirks handled: a byte-order mark before the first header; the standard geography columns
(``geographic_level``, ``country_code``, ``region_code``/``region_name``, ``old_la_code``/``new_la_code``/
``la_name``); ``time_period`` codes such as ``202425`` (academic year 2024/25) or ``2024`` read with
``time_identifier``; the symbols ``c``, ``x``, ``z``, ``low`` and ``u`` in place of numbers; numbers with
stray spaces. Breakdown rows (by age, sex, ...) are dropped: the comparison is of all children.

Local authorities are keyed by their three-digit DfE number (``old_la_code``), the code every DfE
source, the statistical neighbours table and LAIT share.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from portal.public import specs
from portal.public.common import (
    ENGLAND_CODE, ENGLAND_NAME, PublicDataError, ees_period, frame, parse_column, region_for,
)

STANDARD_COLUMNS = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name"]
LEVELS = {"national": "national", "regional": "regional", "local authority": "local_authority"}


def read_csv_text(path: Path) -> pd.DataFrame:
    """A CSV as text cells, BOM removed, headers trimmed; unreadable files raise a clear error."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PublicDataError(path, "is not UTF-8 text; save it as CSV (UTF-8)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PublicDataError(path, f"is not a readable CSV ({exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def header(path: Path) -> list[str]:
    """The column names of a CSV without reading it all (for recognising the file)."""
    try:
        return list(read_csv_head(path).columns)
    except PublicDataError:
        return []


def read_csv_head(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, nrows=5, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PublicDataError(path, f"is not a readable CSV ({exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def match_spec(columns: list[str]) -> dict | None:
    """The configured EES file whose signature columns this header contains, if any."""
    present = set(columns)
    for spec in specs.specs()["ees"]:
        if set(spec["signature"]) <= present:
            return spec
    return None


def load(path: Path, spec: dict) -> tuple[pd.DataFrame, list[dict]]:
    """Rows for the mart and catalogue entries from one EES CSV described by ``spec``."""
    df = read_csv_text(path)
    missing = [c for c in STANDARD_COLUMNS + [i["column"] for i in spec["indicators"]] if c not in df.columns]
    if missing:
        raise PublicDataError(path, f"is missing the column(s) {', '.join(missing)}")
    for column, wanted in (spec.get("total_rows") or {}).items():
        if column not in df.columns:
            raise PublicDataError(path, f"is missing the column {column!r}")
        df = df[df[column].str.strip() == wanted]
    if df.empty:
        raise PublicDataError(path, "has no rows for all children (only breakdowns, or no data)")

    level = df["geographic_level"].str.strip().str.lower().map(LEVELS)
    df = df[level.notna()].assign(geography_level=level[level.notna()])
    for col in ("region_code", "region_name", "old_la_code", "la_name"):
        if col not in df.columns:
            df[col] = ""
    la = df["geography_level"] == "local_authority"
    if (df.loc[la, "old_la_code"].str.strip() == "").any():
        raise PublicDataError(path, "has local authority rows without an old_la_code (the 3-digit DfE number)")
    reg = df["geography_level"] == "regional"
    if (df.loc[reg, "region_code"].str.strip() == "").any():
        raise PublicDataError(path, "has regional rows without a region_code")
    # Inner and Outer London (E13...) are sub-regional totals; London itself is the region compared.
    df = df[~(reg & df["region_code"].str.strip().str.startswith("E13"))]
    la = df["geography_level"] == "local_authority"
    reg = df["geography_level"] == "regional"
    # Some files give London authorities' region as Inner or Outer London: the region is London.
    regions = {n: region_for(n) for n in df["region_name"].unique()}
    df = df.assign(
        region_code=[regions[n][0] if regions[n] else c.strip() for n, c in zip(df["region_name"], df["region_code"])],
        region_name=[regions[n][1] if regions[n] else n.strip() for n in df["region_name"]],
    )

    periods = {
        key: ees_period(key[0], key[1], path)
        for key in df[["time_period", "time_identifier"]].drop_duplicates().itertuples(index=False, name=None)
    }
    pairs = list(zip(df["time_period"], df["time_identifier"]))
    base = pd.DataFrame({
        "period": [periods[p][0] for p in pairs],
        "period_end": [periods[p][1] for p in pairs],
        "geography_level": df["geography_level"].to_numpy(),
    }, index=df.index)
    base["area_code"] = ENGLAND_CODE
    base["area_name"] = ENGLAND_NAME
    base.loc[reg, "area_code"] = df.loc[reg, "region_code"].str.strip()
    base.loc[reg, "area_name"] = df.loc[reg, "region_name"].str.strip()
    base.loc[reg, "parent_code"] = ENGLAND_CODE
    base.loc[reg, "parent_name"] = ENGLAND_NAME
    base.loc[la, "area_code"] = df.loc[la, "old_la_code"].str.strip().str.zfill(3)
    base.loc[la, "area_name"] = df.loc[la, "la_name"].str.strip()
    base.loc[la, "parent_code"] = df.loc[la, "region_code"].str.strip()
    base.loc[la, "parent_name"] = df.loc[la, "region_name"].str.strip()
    base["source"] = spec["publication"]

    published = _published_date(path)
    parts, catalogue = [], []
    for ind in spec["indicators"]:
        value, symbol = parse_column(df[ind["column"]], path, ind["column"])
        parts.append(base.assign(indicator_id=ind["id"], indicator_name=ind["name"], value=value, symbol=symbol))
        catalogue.append({
            "indicator_id": ind["id"], "indicator_name": ind["name"], "topic": spec.get("topic"),
            "definition": ind["definition"], "unit": ind["unit"], "polarity": ind["polarity"],
            "source": spec["publication"], "publisher": spec["publisher"], "source_url": spec.get("source_url"),
            "period_type": ", ".join(sorted(df["time_identifier"].str.strip().unique())),
            "caveats": specs.caveat(spec.get("caveats")), "decimal_places": 1 if ind["unit"] == "%" else 0,
            "last_updated": published,
        })
    return frame(pd.concat(parts, ignore_index=True)), catalogue


def _published_date(path: Path) -> str | None:
    """The publication date that ``public fetch`` saved beside a downloaded file, if any."""
    sidecar = path.with_suffix(".meta.json")
    try:
        return str(json.loads(sidecar.read_text()).get("published") or "")[:10] or None
    except (OSError, ValueError):
        return None
