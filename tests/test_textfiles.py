"""Help, walkthrough and style files are read once, and again when they change."""
from __future__ import annotations

import os

from portal import textfiles


def test_an_unchanged_file_is_read_once(tmp_path):
    path = tmp_path / "help.md"
    path.write_text("# Help\n", encoding="utf-8")
    before = textfiles._read.cache_info().misses
    assert textfiles.read_text(path) == "# Help\n"
    assert textfiles.read_text(path) == "# Help\n"
    assert textfiles._read.cache_info().misses == before + 1


def test_an_edited_file_is_read_again(tmp_path):
    path = tmp_path / "help.md"
    path.write_text("# Help\n", encoding="utf-8")
    assert textfiles.read_text(path) == "# Help\n"
    path.write_text("# Hëlp\n", encoding="utf-8")  # same length in characters, not in bytes
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a later edit, whatever the clock's grain
    assert textfiles.read_text(path) == "# Hëlp\n"


def test_json_is_parsed_once_and_again_after_an_edit(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text('{"version": "a"}', encoding="utf-8")
    assert textfiles.read_json(path) == {"version": "a"}
    assert textfiles.read_json(path) is textfiles.read_json(path)  # the same parsed object, not parsed again
    path.write_text('{"version": "bb"}', encoding="utf-8")
    assert textfiles.read_json(path) == {"version": "bb"}


def test_a_file_replaced_by_rename_is_read_again_even_with_the_same_time_and_size(tmp_path):
    # The live mart pointer is replaced with os.replace; two publishes can fall in one tick of the clock.
    path = tmp_path / "CURRENT"
    path.write_text("v20261101T000000", encoding="utf-8")
    assert textfiles.read_text(path) == "v20261101T000000"
    stat = path.stat()
    replacement = tmp_path / ".CURRENT.tmp"
    replacement.write_text("v20261102T000000", encoding="utf-8")
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(replacement, path)
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and path.stat().st_size == stat.st_size
    assert textfiles.read_text(path) == "v20261102T000000"
