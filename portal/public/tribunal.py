"""Loader for the SEND Tribunal appeal-rate table (a supporting file of DfE's EHC plans release).

It is a report, not a tidy file: a title, a header on two rows (years, then measures with footnote
numbers stuck to them), region section rows in capitals, numbers with thousands separators and ``%``,
``-`` for none, ``..`` not available, ``x`` unavailable, ``~`` suppressed, footnote digits after some
authority names (``Dorset6``) and an "LA code" column that is wrong for some rows (Nottinghamshire shows
928). Authorities are therefore matched on their name to codes from the other DfE files.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from portal.public import specs
from portal.public.common import ENGLAND_CODE, ENGLAND_NAME, PublicDataError, frame, parse_column, region_for

SYMBOLS = {"-": None, "..": "x", "~": "c", "x": "x"}


def _first_lines(path: Path, n: int = 8) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PublicDataError(path, "is not UTF-8 text") from None
    return list(csv.reader(io.StringIO(text)))[:n] if n else list(csv.reader(io.StringIO(text)))


def is_tribunal(path: Path) -> bool:
    try:
        lines = _first_lines(path)
    except PublicDataError:
        return False
    return any(row[:2] == ["Local Authority", "LA code"] for row in lines) and \
        any("appeal rate" in " ".join(row).lower() for row in lines)


def name_key(name: str) -> str:
    """A local authority name reduced for matching across publishers' spellings."""
    name = re.sub(r"\d+(,\d+)*$", "", str(name).strip())  # footnote markers
    name = name.casefold().replace("&", " and ")
    return re.sub(r"[^a-z]+", " ", name).strip()


def load(path: Path, la_codes: dict[str, tuple[str, str]]) -> tuple[pd.DataFrame, list[dict], list[str]]:
    """Rows, catalogue and warnings. ``la_codes`` maps :func:`name_key` names to (code, region code)."""
    rows = _first_lines(path, 0)
    try:
        top = next(i for i, row in enumerate(rows) if row[:2] == ["Local Authority", "LA code"])
    except StopIteration:
        raise PublicDataError(path, "has no header row starting 'Local Authority, LA code'") from None
    years_row, measures_row = rows[top], rows[top + 1]
    columns, year = {}, None
    for idx in range(2, len(measures_row)):
        if idx < len(years_row) and re.fullmatch(r"\d{4}", years_row[idx].strip()):
            year = years_row[idx].strip()
        measure = re.sub(r"[\d,]+$", "", measures_row[idx].strip()).strip()
        if year and measure and not measure.lower().startswith("in development"):
            columns[idx] = (year, measure)
    if not columns:
        raise PublicDataError(path, "has no year and measure columns under its header")
    wanted = {i["measure"]: i for i in specs.specs()["tribunal"]["indicators"]}
    found_measures = {m for _, m in columns.values()}
    missing = sorted(set(wanted) - found_measures)
    if missing:
        raise PublicDataError(path, f"has no {', '.join(missing)} columns")

    records, warnings, region = [], [], None
    for row in rows[top + 2:]:
        label = row[0].strip() if row else ""
        if not label or label.lower().startswith(("sources", "notes", "england total excluding")):
            if label.lower().startswith("sources"):
                break
            continue
        if label.isupper() and not any(c.strip() for c in row[1:]):
            region = region_for(label)
            continue
        if label.lower().startswith("england total"):
            level, code, name, parent = "national", ENGLAND_CODE, ENGLAND_NAME, (None, None)
        else:
            name = re.sub(r"\d+(,\d+)*$", "", label).strip()
            match = la_codes.get(name_key(name))
            if match:
                code = match[0]
            else:
                code = row[1].strip().zfill(3) if row[1].strip().isdigit() else None
                warnings.append(f"{path.name}: {name!r} matched no local authority by name; "
                                f"{'used the table code ' + code if code else 'no code in the table, row skipped'}")
                if code is None:
                    continue
            level, parent = "local_authority", region or (None, None)
        for idx, (year, measure) in columns.items():
            if measure in wanted and idx < len(row):
                records.append({"geography_level": level, "area_code": code, "area_name": name,
                                "parent_code": parent[0], "parent_name": parent[1], "period": year,
                                "period_end": f"{year}-12-31", "measure": measure, "raw": row[idx]})
    df = pd.DataFrame(records)
    value, symbol = parse_column(df["raw"], path, "values", SYMBOLS)
    tribunal = specs.specs()["tribunal"]
    df = df.assign(value=value, symbol=symbol, source=tribunal["publication"],
                   indicator_id=df["measure"].map(lambda m: wanted[m]["id"]),
                   indicator_name=df["measure"].map(lambda m: wanted[m]["name"]))
    catalogue = [{
        "indicator_id": i["id"], "indicator_name": i["name"], "topic": tribunal["topic"],
        "definition": i["definition"], "unit": i["unit"], "polarity": i["polarity"],
        "source": tribunal["publication"], "publisher": tribunal["publisher"], "source_url": tribunal["source_url"],
        "period_type": "Calendar year", "caveats": specs.caveat("tribunal"),
        "decimal_places": 1 if i["unit"] == "%" else 0,
    } for i in wanted.values()]
    return frame(df), catalogue, warnings
