"""Loader for NHS England's community health services waiting lists for children and young people.

The file is DfE's derived monthly series: one row per organisation, month and service, with the total
waiting, the numbers waiting 18-52 and over 52 weeks, and the percentage waiting over 18 weeks. Quirks: the
first column is an R row number; ``NA`` where a provider did not submit; England's row has no
organisation type in January and is typed "Organisation" until May; regions appear in two spellings
(``EAST OF ENGLAND``); providers are typed "Organisation" until May and "Provider" after; ICBs are named
without "NHS ... Integrated Care Board" and in varying case. ICB and NHS region codes come from the ONS
sub-ICB to ICB lookup, which must sit in the same folder.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from portal.public import specs
from portal.public.common import ENGLAND_CODE, ENGLAND_NAME, PublicDataError, frame, parse_column
from portal.public.ees import read_csv_text

COLUMNS = ["Organisation Type", "Organisation Name", "formattedDate", "Therapy", "Total waiting list",
           "Waiting >52 weeks", "Percentage waiting more than 18 weeks"]
LOOKUP_COLUMNS = ["ICB22CD", "ICB22NM", "NHSER22CD", "NHSER22NM"]
SYMBOLS = {"NA": "x"}


def is_waits(columns) -> bool:
    return {"Organisation Type", "Organisation Name", "Therapy", "Total waiting list"} <= set(columns)


def is_icb_lookup(columns) -> bool:
    return set(LOOKUP_COLUMNS) <= {re.sub(r"\d{2}", "22", c) for c in columns}


def _key(name: str) -> str:
    name = re.sub(r"^NHS\s+", "", str(name).strip(), flags=re.I)
    name = re.sub(r"\s+Integrated Care Board$", "", name, flags=re.I)
    return re.sub(r"\s+", " ", name).casefold()


def load_lookup(path: Path) -> tuple[dict, dict]:
    """ICB and NHS region (code, official name) keyed by a case-folded short name."""
    df = read_csv_text(path)
    df.columns = [re.sub(r"\d{2}", "22", c) for c in df.columns]  # the lookup's year changes with each edition
    missing = [c for c in LOOKUP_COLUMNS if c not in df.columns]
    if missing:
        raise PublicDataError(path, f"is missing the column(s) {', '.join(missing)}")
    icbs, regions = {}, {}
    for row in df.drop_duplicates("ICB22CD").to_dict("records"):
        icbs[_key(row["ICB22NM"])] = (row["ICB22CD"], row["ICB22NM"], row["NHSER22CD"], row["NHSER22NM"])
        regions[_key(row["NHSER22NM"])] = (row["NHSER22CD"], row["NHSER22NM"])
    return icbs, regions


def load(path: Path, lookup_path: Path | None) -> tuple[pd.DataFrame, list[dict]]:
    if lookup_path is None:
        raise PublicDataError(path, "is NHS waiting-list data but the ONS sub-ICB to ICB lookup (which gives ICBs "
                                    "and NHS regions their codes) is not in the same folder")
    icbs, regions = load_lookup(lookup_path)
    spec = specs.specs()["nhs_waits"]
    df = read_csv_text(path)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise PublicDataError(path, f"is missing the column(s) {', '.join(missing)}")
    unknown = sorted(set(df["Therapy"].str.strip()) - set(spec["services"]))
    if unknown:
        raise PublicDataError(path, f"has services the portal does not know: {', '.join(unknown)}")

    kind = df["Organisation Type"].str.strip().str.lower()
    name = df["Organisation Name"].str.strip()
    base = pd.DataFrame(index=df.index)
    month = pd.to_datetime(df["formattedDate"].str.strip(), format="%Y-%m-%d", errors="coerce")
    if month.isna().any():
        raise PublicDataError(path, f"has a formattedDate that is not a date: {df.loc[month.isna(), 'formattedDate'].iloc[0]!r}")
    base["period"] = month.dt.strftime("%B %Y")
    base["period_end"] = (month + pd.offsets.MonthEnd(0)).dt.date
    base["source"] = spec["publication"]
    national = name.str.casefold() == "england"
    region = (kind == "region") & ~national
    icb = (kind == "icb") & ~national
    provider = kind.isin(["organisation", "provider"]) & ~national
    other = ~(national | region | icb | provider)
    if other.any():
        raise PublicDataError(path, f"has an Organisation Type {df.loc[other, 'Organisation Type'].iloc[0]!r} "
                                    "that is not National, Region, ICB, Provider or Organisation")
    base["geography_level"] = "provider"
    base.loc[national, ["geography_level", "area_code", "area_name"]] = ["national", ENGLAND_CODE, ENGLAND_NAME]
    base.loc[provider, "area_code"] = name[provider]
    base.loc[provider, "area_name"] = name[provider]
    for idx in df.index[region]:
        found = regions.get(_key(name[idx]))
        if not found:
            raise PublicDataError(path, f"names an NHS region {name[idx]!r} that is not in the ICB lookup")
        base.loc[idx, ["geography_level", "area_code", "area_name", "parent_code", "parent_name"]] = \
            ["regional", found[0], found[1], ENGLAND_CODE, ENGLAND_NAME]
    for idx in df.index[icb]:
        found = icbs.get(_key(name[idx]))
        if not found:
            raise PublicDataError(path, f"names an ICB {name[idx]!r} that is not in the ICB lookup")
        base.loc[idx, ["geography_level", "area_code", "area_name", "parent_code", "parent_name"]] = \
            ["icb", found[0], found[1], found[2], found[3]]

    parts, catalogue = [], []
    services = df["Therapy"].str.strip()
    for service, slug in spec["services"].items():
        rows = services == service
        for measure in spec["measures"]:
            value, symbol = parse_column(df.loc[rows, measure["column"]], path, measure["column"], SYMBOLS)
            ind_id = f"nhs_waits_{slug}_{measure['suffix']}"
            ind_name = measure["name"].format(service=service.capitalize())
            parts.append(base[rows].assign(indicator_id=ind_id, indicator_name=ind_name, value=value, symbol=symbol))
            catalogue.append({
                "indicator_id": ind_id, "indicator_name": ind_name, "topic": spec["topic"],
                "definition": measure["definition"].format(service_lower=service.lower()),
                "unit": measure["unit"], "polarity": measure["polarity"], "source": spec["publication"],
                "publisher": spec["publisher"], "source_url": spec["source_url"], "period_type": "Month",
                "caveats": specs.caveat("nhs_waits"), "decimal_places": 1 if measure["unit"] == "%" else 0,
            })
    out = pd.concat(parts, ignore_index=True)
    # A month's region rows appear twice, in two spellings; one is enough.
    out = out.drop_duplicates(["indicator_id", "geography_level", "area_code", "period"])
    return frame(out), catalogue
