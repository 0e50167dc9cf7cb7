"""Small in-process caches: a thread-safe LRU, and pure functions of tables kept by the tables' content.

A journey page turns the same tables into the same table messages and chart specs on every rerun: most
filter changes leave most of a page's tables as they were, and people looking at the same view get the same
tables. (Download files are not made on a rerun at all, only when their button is clicked:
``ui.download_buttons``.) :func:`by_content` keeps such results, keyed by a hash of the pickled arguments.
Equal pickles mean equal arguments (values, dtypes, index, column names and order), so a hit can only ever
return what the function would have returned for these very tables; two equal tables that happen to
pickle differently (strings shared differently in memory) just miss. Results are shared between sessions,
so they must be immutable (bytes, tuples of bytes), and they stay in memory until pushed out: ``portal.ui``
keeps only aggregate and published figures this way (``ui.SHARED_OUTPUTS``), never record-level or
identifiable ones.
"""
from __future__ import annotations

import functools
import hashlib
import pickle
import threading
from collections import OrderedDict


class LRU:
    """A bounded mapping that forgets the least recently used entry first; safe to share between threads."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key, value) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def content_key(*parts) -> bytes:
    """A 128-bit digest of the pickled ``parts`` (about 60 µs for a 16-row table)."""
    return hashlib.blake2b(pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL), digest_size=16).digest()


def by_content(size: int = 1024, copied: bool = False):
    """Decorator: keep ``fn(*args)`` by the content of ``args`` (positional). The result must be immutable, or
    ``copied=True`` hands each caller its own ``result.copy()`` (a DataFrame, a dict). Arguments that cannot
    be pickled are passed through to ``fn`` every time."""

    def decorate(fn):
        cache = LRU(size)

        @functools.wraps(fn)
        def cached(*args):
            try:
                key = content_key(*args)
            except (pickle.PicklingError, TypeError, AttributeError):
                return fn(*args)  # arguments that cannot be pickled (one holding a function) are not kept
            result = cache.get(key)
            if result is None:
                result = fn(*args)
                cache.put(key, result)
            return result.copy() if copied else result

        cached.cache = cache
        return cached

    return decorate
