"""Files the portal reads on every page run or query (help, walkthroughs, styles, the live mart manifest),
read and parsed once per change.

Reading, decoding and parsing them each time cost every user's filter change a little (docs/performance.md).
They are keyed by modification time and size, so an edited file is read again. Parsed JSON is shared
between callers: treat it as read-only.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path


def read_text(path: Path) -> str:
    stat = path.stat()
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


def read_json(path: Path):
    stat = path.stat()
    return _parse(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _read(path: str, mtime_ns: int, size: int) -> str:
    return Path(path).read_text(encoding="utf-8")


@lru_cache(maxsize=64)
def _parse(path: str, mtime_ns: int, size: int):
    return json.loads(_read(path, mtime_ns, size))
