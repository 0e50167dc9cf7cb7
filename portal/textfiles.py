"""Files the portal reads on every page run or query (help, walkthroughs, styles, the live mart manifest),
read and parsed once per change.

Reading, decoding and parsing them each time cost every user's filter change a little (docs/performance.md).
They are keyed by inode, modification time and size, so an edited file is read again, and so is a file
replaced by a rename (the live mart pointer, ``store.CURRENT_FILE``) even within the file system clock's
grain. Parsed JSON is shared between callers: treat it as read-only.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path


def read_text(path: Path) -> str:
    return _read(str(path), *_version(path))


def read_json(path: Path):
    return _parse(str(path), *_version(path))


def _version(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=256)
def _read(path: str, inode: int, mtime_ns: int, size: int) -> str:
    return Path(path).read_text(encoding="utf-8")


@lru_cache(maxsize=64)
def _parse(path: str, inode: int, mtime_ns: int, size: int):
    return json.loads(_read(path, inode, mtime_ns, size))
