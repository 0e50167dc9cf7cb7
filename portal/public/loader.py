"""Load every recognised published file in a folder into the three public marts.

Files are recognised by their contents (columns, header rows), not their names. A recognised file that
is malformed stops the load with a :class:`PublicDataError` naming the file and the fault, so a bad file
never half-replaces good figures; files that are not published statistics the portal knows are listed
as skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from portal.public import ees, lait, neighbours, nhs_waits, tribunal
from portal.public.common import (
    CATALOGUE_COLUMNS, GEOGRAPHY_LEVELS, NEIGHBOUR_COLUMNS, PublicDataError, catalogue_frame, frame,
)

SUFFIXES = {".csv", ".parquet"}


@dataclass
class LoadResult:
    indicators: pd.DataFrame
    catalogue: pd.DataFrame
    neighbours: pd.DataFrame
    loaded: list[str] = field(default_factory=list)     # "file: what it gave"
    skipped: list[str] = field(default_factory=list)    # "file: why"
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Loaded {len(self.indicators):,} figures for {self.catalogue.shape[0]} indicators."]
        lines += [f"  loaded  {item}" for item in self.loaded]
        lines += [f"  skipped {item}" for item in self.skipped]
        lines += [f"  warning {item}" for item in self.warnings]
        return "\n".join(lines)


def _kind(path: Path) -> tuple[str, dict | None]:
    """What a file is: ees / lait / lait_dictionary / neighbours / nhs_waits / icb_lookup / tribunal / None."""
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq
            columns = pq.read_schema(path).names
        except Exception:
            raise PublicDataError(path, "is not a readable Parquet file") from None
        return ("lait", None) if lait.is_data(columns) else (None, None)
    columns = ees.header(path)
    spec = ees.match_spec(columns)
    if spec and "time_period" in columns:
        return "ees", spec
    if "time_period" in columns and "geographic_level" in columns:
        return "ees_unconfigured", None
    for kind, test in (("lait", lait.is_data), ("lait_dictionary", lait.is_dictionary),
                       ("neighbours", neighbours.is_neighbours), ("nhs_waits", nhs_waits.is_waits),
                       ("icb_lookup", nhs_waits.is_icb_lookup)):
        if test(columns):
            return kind, None
    if tribunal.is_tribunal(path):
        return "tribunal", None
    return None, None


def load_folder(folder: Path) -> LoadResult:
    return load_folders([folder])


def load_folders(folders: list[Path]) -> LoadResult:
    """Load the recognised files of one or more folders together (e.g. API downloads plus LAIT)."""
    files = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise PublicDataError(folder, "is not a folder")
        # .meta.json files are what `public fetch` saves beside each download; the EES loader reads them.
        files += sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(".meta.json"))
    folder = Path(folders[0])
    kinds: dict[str, list[tuple[Path, dict | None]]] = {}
    skipped = []
    for path in files:
        if path.suffix.lower() not in SUFFIXES:
            skipped.append(f"{path.name}: not a CSV or Parquet file")
            continue
        kind, spec = _kind(path)
        if kind is None:
            skipped.append(f"{path.name}: not a published statistics file the portal recognises")
        elif kind == "ees_unconfigured":
            skipped.append(f"{path.name}: an explore-education-statistics file with no indicators configured "
                           "in portal/public/indicators.yaml")
        else:
            kinds.setdefault(kind, []).append((path, spec))
    for single in ("lait_dictionary", "icb_lookup"):
        if len(kinds.get(single, [])) > 1:
            names = ", ".join(p.name for p, _ in kinds[single])
            raise PublicDataError(folder, f"holds more than one {single.replace('_', ' ')} ({names}); keep one")

    parts, catalogue, loaded, warnings = [], [], [], []

    def add(path, rows, entries, priority):
        parts.append(rows.assign(_priority=priority))
        catalogue.extend(dict(e, _priority=priority) for e in entries)
        loaded.append(f"{path.name}: {len(rows):,} figures, {rows['indicator_id'].nunique()} indicator(s)")

    for path, spec in kinds.get("ees", []):
        rows, entries = ees.load(path, spec)
        add(path, rows, entries, spec.get("priority", 1))
    dictionary = (kinds.get("lait_dictionary") or [(None, None)])[0][0]
    for path, _ in kinds.get("lait", []):
        rows, entries = lait.load(path, dictionary)
        add(path, rows, entries, 0)
    if dictionary is not None and not kinds.get("lait"):
        skipped.append(f"{dictionary.name}: LAIT data dictionary, but no LAIT data file beside it")
    lookup = (kinds.get("icb_lookup") or [(None, None)])[0][0]
    for path, _ in kinds.get("nhs_waits", []):
        rows, entries = nhs_waits.load(path, lookup)
        add(path, rows, entries, 1)
    if lookup is not None:
        loaded.append(f"{lookup.name}: ICB and NHS region codes")

    neighbour_frames = []
    for path, _ in kinds.get("neighbours", []):
        table = neighbours.load(path)
        neighbour_frames.append(table)
        loaded.append(f"{path.name}: statistical neighbours for {table['area_code'].nunique()} local authorities")
    neighbour_table = (pd.concat(neighbour_frames, ignore_index=True).drop_duplicates(["area_code", "neighbour_rank"])
                       if neighbour_frames else pd.DataFrame(columns=NEIGHBOUR_COLUMNS))

    # Names to codes for the tribunal table, whose own code column cannot be trusted.
    la_codes = {}
    for part in parts:
        las = part[part["geography_level"] == "local_authority"]
        for code, name, region in las[["area_code", "area_name", "parent_code"]].drop_duplicates().itertuples(index=False):
            la_codes.setdefault(tribunal.name_key(name), (code, region))
    for code, name in neighbour_table[["area_code", "area_name"]].drop_duplicates().itertuples(index=False):
        la_codes.setdefault(tribunal.name_key(name), (code, None))
    for path, _ in kinds.get("tribunal", []):
        rows, entries, notes = tribunal.load(path, la_codes)
        add(path, rows, entries, 1)
        warnings.extend(notes)

    if not parts and neighbour_table.empty:
        raise PublicDataError(folder, "holds no published statistics file the portal recognises "
                                      "(see docs/public-data.md for the files it loads)")
    indicators = (pd.concat(parts, ignore_index=True) if parts else frame([]).assign(_priority=0))
    # Where two releases give the same figure (e.g. an older collection's overlapping years), the newer wins.
    indicators = (indicators.sort_values("_priority", ascending=False, kind="stable")
                  .drop_duplicates(["indicator_id", "geography_level", "area_code", "period_end"])
                  .drop(columns="_priority").sort_values(["indicator_id", "period_end", "geography_level", "area_code"])
                  .reset_index(drop=True))
    cat = (pd.DataFrame(catalogue).sort_values("_priority", ascending=False, kind="stable")
           .drop_duplicates("indicator_id").drop(columns="_priority").sort_values("indicator_id"))
    cat = catalogue_frame(cat.to_dict("records"))
    check(indicators, cat, folder)
    return LoadResult(frame(indicators), cat, neighbour_table, loaded, skipped, warnings)


def check(indicators: pd.DataFrame, catalogue: pd.DataFrame, where: Path) -> None:
    """The mart's own promises, checked before anything is published."""
    bad_levels = set(indicators["geography_level"].dropna()) - set(GEOGRAPHY_LEVELS)
    if bad_levels or indicators["geography_level"].isna().any():
        raise PublicDataError(where, f"produced unknown geography levels {sorted(bad_levels)}")
    if indicators["area_code"].isna().any():
        raise PublicDataError(where, "produced figures without an area code")
    both = indicators["value"].notna() & indicators["symbol"].notna()
    neither = indicators["value"].isna() & indicators["symbol"].isna()
    if both.any() or neither.any():
        raise PublicDataError(where, "produced figures that are both a number and a symbol, or neither")
    uncatalogued = set(indicators["indicator_id"]) - set(catalogue["indicator_id"])
    if uncatalogued:
        raise PublicDataError(where, f"has indicators with no catalogue entry: {sorted(uncatalogued)[:5]}")
    assert list(catalogue.columns) == CATALOGUE_COLUMNS
