"""Text files the portal shows on every page run (help, walkthroughs, styles), read once per change.

A page run reads several of these; reading and decoding them each time cost every user's filter change a
little (docs/performance.md). They are keyed by modification time and size, so an edited file is read again.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path


def read_text(path: Path) -> str:
    stat = path.stat()
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _read(path: str, mtime_ns: int, size: int) -> str:
    return Path(path).read_text(encoding="utf-8")
