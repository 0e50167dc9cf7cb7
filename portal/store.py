"""The published marts: which version is live, and a DuckDB view of it.

Layout under ``marts_dir()``::

    v20261122T101500123456/   one folder per published version
        manifest.json          {"version": ..., "built_at": ..., "marts": {name: {"rows": n, ...}}}
        <mart>.parquet         one file per mart, or
        <mart>/part-<n>.parquet    a mart built in slices of people: one file per slice, read as one
    CURRENT                    the name of the live version folder, replaced atomically

A build writes a complete new folder and only then replaces ``CURRENT`` with ``os.replace`` (atomic on
POSIX), so a reader sees the old version or the new one, never a mix. Old folders are kept for a while
so queries already running against them finish.

Readers share one in-memory DuckDB database per process. Each version gets its own schema of views over
its Parquet files; a query runs on a cursor whose ``search_path`` points at the live version's schema, so
table names in SQL stay plain (``fct_referrals``), and a publish never changes a query half-way through.
Cursors are lent from a small pool (``pooled_cursor``) rather than made for each query: a new DuckDB
connection's first query costs about 3 ms more than the same query on a connection that has run one
before, a quarter of a typical page query at county scale. Each cursor serves one thread at a time.
"""
from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from portal import config, sqltext, textfiles

CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
_VERSION_RE = re.compile(r"^v\d{8}T\d{6,12}$")
_MART_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
# How the ingest and the build write Parquet (COPY ... TO ... (options)). zstd at level 1 rather than DuckDB's 3:
# a national GP events slice wrote in 14.6 s against 15.9 s, 1% smaller, and read as fast.
PARQUET_COPY_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"


class NoMartsError(RuntimeError):
    """No mart version has been published yet."""


class MartsUnavailableError(RuntimeError):
    """The live version is present but cannot be read (missing or corrupt file)."""


@dataclass(frozen=True)
class MartVersion:
    name: str
    path: Path
    manifest: dict

    @property
    def built_at(self) -> str:
        return self.manifest.get("built_at", "")

    @property
    def schema(self) -> str:
        return self.name  # version names match _VERSION_RE, so they are safe identifiers


def mart_files(folder: Path) -> dict[str, list[Path]]:
    """Every mart in a version folder and the Parquet files that hold it: ``<mart>.parquet``, or the parts in
    ``<mart>/`` of a mart built in slices (joining the national slices into one file cost the build about
    50 s, and a query reads the parts as fast as one file)."""
    found: dict[str, list[Path]] = {}
    for item in sorted(folder.iterdir()):
        if not _MART_NAME_RE.fullmatch(item.stem):
            continue
        if item.is_file() and item.suffix == ".parquet":
            found[item.stem] = [item]
        elif item.is_dir() and item.suffix == "" and (parts := sorted(item.glob("part-*.parquet"))):
            found[item.name] = parts
    return found


def parquet_source(files: list[Path]) -> str:
    """The ``read_parquet`` of a mart's files, as SQL (paths are quoted, never user input)."""
    return "read_parquet([" + ", ".join(sqltext.path_literal(f) for f in files) + "])"


def current_version(root: Path | None = None) -> MartVersion:
    root = root or config.marts_dir()
    pointer = root / CURRENT_FILE
    try:
        name = textfiles.read_text(pointer).strip()  # every query asks: read again only when replaced
    except FileNotFoundError:
        raise NoMartsError(f"No marts have been built yet in {root}. Run: python -m portal build-demo") from None
    if not _VERSION_RE.match(name):
        raise MartsUnavailableError(f"The live mart pointer {pointer} holds an unexpected value.")
    path = root / name
    try:
        manifest = textfiles.read_json(path / MANIFEST_FILE)  # parsed once: every query asks for it
    except (OSError, ValueError) as exc:
        raise MartsUnavailableError(f"The live mart version {name} has no readable manifest.") from exc
    return MartVersion(name=name, path=path, manifest=manifest)


def publish(version_dir: Path, root: Path | None = None, keep: int = 5) -> MartVersion:
    """Make a fully written version folder live, atomically, and prune old versions."""
    root = root or config.marts_dir()
    if version_dir.parent.resolve() != root.resolve() or not _VERSION_RE.match(version_dir.name):
        raise ValueError(f"{version_dir} is not a version folder inside {root}")
    if not (version_dir / MANIFEST_FILE).exists():
        raise ValueError(f"{version_dir} has no manifest; refusing to publish a half-built version")
    tmp = root / f".{CURRENT_FILE}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(version_dir.name)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT_FILE)
    _fsync_dir(root)
    prune(root, keep=keep)
    return current_version(root)


def list_versions(root: Path | None = None) -> list[str]:
    root = root or config.marts_dir()
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _VERSION_RE.match(p.name))


def prune(root: Path, keep: int = 5) -> None:
    """Delete all but the newest ``keep`` complete versions, never the live one."""
    import shutil

    live = (root / CURRENT_FILE).read_text().strip() if (root / CURRENT_FILE).exists() else None
    versions = list_versions(root)
    for name in versions[:-keep] if keep else versions:
        if name != live:
            shutil.rmtree(root / name, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MartReader:
    """One DuckDB database per process over the live mart version; hand out a cursor per query."""

    def __init__(self, root: Path | None = None):
        self._root = root
        self._db = duckdb.connect(":memory:")
        # Keep each mart file's Parquet footer instead of reading and parsing it again in every query: 3% off
        # the pages' queries (county). DuckDB still checks that the file is unchanged, and a publish writes a
        # new version folder anyway. (Set here, not in connect's config, which refuses it before the Parquet
        # reader is loaded.)
        self._db.execute("SET GLOBAL parquet_metadata_cache = true")
        self._lock = threading.Lock()
        self._attached: set[str] = set()
        self._idle: list[tuple[duckdb.DuckDBPyConnection, str]] = []  # (cursor, the schema it points at)

    @property
    def root(self) -> Path:
        return self._root or config.marts_dir()

    def version(self) -> MartVersion:
        return current_version(self.root)

    def cursor(self, version: MartVersion | None = None) -> tuple[duckdb.DuckDBPyConnection, MartVersion]:
        """A fresh cursor whose search_path is the live version's schema (or the one given)."""
        version = version or self.version()
        self._ensure_views(version)
        cur = self._db.cursor()
        cur.execute(f"SET search_path = '{version.schema}'")  # version name validated by _VERSION_RE
        return cur, version

    IDLE_CURSORS = 8  # more than the threads that query at once in a server process (sessions + query-ahead)

    @contextmanager
    def pooled_cursor(self, version: MartVersion | None = None) -> Iterator[tuple[duckdb.DuckDBPyConnection,
                                                                                 MartVersion]]:
        """A cursor lent for one query, as ``cursor()`` gives, and taken back for the next one.

        Only for queries that leave nothing behind on their connection (a temporary view would outlive the
        query: use ``cursor()`` and close it). A cursor whose query raised is closed, not lent again.
        """
        version = version or self.version()
        self._ensure_views(version)
        with self._lock:
            cur, schema = self._idle.pop() if self._idle else (None, None)
        if cur is None:
            cur, schema = self.cursor(version)[0], version.schema
        try:
            if schema != version.schema:
                cur.execute(f"SET search_path = '{version.schema}'")  # version name validated by _VERSION_RE
            yield cur, version
        except BaseException:
            cur.close()
            raise
        with self._lock:
            if len(self._idle) < self.IDLE_CURSORS:
                self._idle.append((cur, version.schema))
                return
        cur.close()

    def _ensure_views(self, version: MartVersion) -> None:
        if version.name in self._attached:
            return
        with self._lock:
            if version.name in self._attached:
                return
            marts = mart_files(version.path)
            if not marts:
                raise MartsUnavailableError(f"The live mart version {version.name} has no mart files.")
            cur = self._db.cursor()
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {version.schema}")
            for mart, files in marts.items():
                try:
                    cur.execute(f"CREATE OR REPLACE VIEW {version.schema}.{mart} AS "
                                f"SELECT * FROM {parquet_source(files)}")
                except duckdb.Error as exc:
                    raise MartsUnavailableError(
                        f"The mart {mart} in version {version.name} cannot be read: {exc}"
                    ) from exc
            self._attached.add(version.name)


_reader: MartReader | None = None
_reader_lock = threading.Lock()


def reader() -> MartReader:
    """The process-wide reader (re-created if the data directory changes, as it does in tests)."""
    global _reader
    with _reader_lock:
        if _reader is None or _reader.root != config.marts_dir():
            _reader = MartReader(config.marts_dir())
        return _reader
