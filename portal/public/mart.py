"""Where the public marts live, and how they join the versioned mart store.

The loaded public marts are kept under ``data/public/`` (the lasting copy) and copied into every mart
version, so pages read them through the same DuckDB reader, named queries and version-keyed cache as
every other mart:

* ``python -m portal public load DIR`` writes ``data/public/`` atomically, then publishes a new mart
  version made of the live version's files plus the public marts (:func:`publish_public`);
* a mart build (``portal/marts.py``) calls :func:`include_in_version` before it writes its manifest, so
  a rebuild of the demo carries the public marts forward.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from portal import config, store
from portal.public.loader import LoadResult

MARTS = ("public_indicators", "public_indicator_catalogue", "public_statistical_neighbours")
LOAD_RECORD = "public_load.json"


def public_dir() -> Path:
    return config.data_dir() / "public"


def save(result: LoadResult, source: str) -> Path:
    """Write the three public marts to ``data/public/`` (replacing the previous set in one step)."""
    root = public_dir()
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".public.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    loaded_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    catalogue = result.catalogue.assign(loaded_at=loaded_at)
    for name, df in zip(MARTS, (result.indicators, catalogue, result.neighbours)):
        df.to_parquet(staging / f"{name}.parquet", index=False)
    (staging / LOAD_RECORD).write_text(json.dumps({
        "loaded_at": loaded_at, "source": source, "loaded": result.loaded, "skipped": result.skipped,
        "warnings": result.warnings, "rows": {n: len(d) for n, d in zip(MARTS, (result.indicators, catalogue,
                                                                                 result.neighbours))},
    }, indent=2))
    old = root.parent / f".public.{os.getpid()}.old"
    if root.exists():
        os.replace(root, old)
    os.replace(staging, root)
    shutil.rmtree(old, ignore_errors=True)
    return root


def include_in_version(version_dir: Path) -> dict[str, dict]:
    """Copy the saved public marts into a version folder being built; returns their manifest entries."""
    entries = {}
    root = public_dir()
    for name in MARTS:
        source = root / f"{name}.parquet"
        if source.exists():
            _link_or_copy(source, version_dir / source.name)
            entries[name] = {"rows": _rows(source), "source": "public"}
    return entries


def feed_entry() -> dict:
    """The manifest ``feeds`` entry that dates the public figures (pages show it as their refresh date)."""
    record = load_record()
    return {"public_statistics": {"received_at": record["loaded_at"]}} if record else {}


def publish_public() -> store.MartVersion | None:
    """A new live mart version: the live version's marts plus the saved public marts.

    Returns None when no mart version has been built yet; the public marts then join the first build.
    """
    root = config.marts_dir()
    try:
        live = store.current_version(root)
    except store.NoMartsError:
        return None
    name = "v" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    folder = root / name
    folder.mkdir()
    try:
        for item in live.path.iterdir():
            if item.name == store.MANIFEST_FILE or item.stem in MARTS:
                continue
            if item.is_file():
                _link_or_copy(item, folder / item.name)
            elif item.is_dir():  # a mart built in slices: its part files
                shutil.copytree(item, folder / item.name, copy_function=_link_or_copy)
        manifest = dict(live.manifest)
        marts = {k: v for k, v in manifest.get("marts", {}).items() if k not in MARTS}
        marts.update(include_in_version(folder))
        manifest.update(version=name, marts=marts, public_loaded_from=live.name,
                        built_at=live.manifest.get("built_at", ""))
        manifest["feeds"] = dict(manifest.get("feeds") or {}) | feed_entry()
        (folder / store.MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return store.publish(folder, root)


def load_record() -> dict | None:
    path = public_dir() / LOAD_RECORD
    return json.loads(path.read_text()) if path.exists() else None


def _link_or_copy(source: Path, target: Path) -> None:
    # Mart files are never modified in place, so a hard link is as safe as a copy and costs no space.
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq
    return pq.ParquetFile(path).metadata.num_rows
