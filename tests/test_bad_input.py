"""Bad input: every malformed feed file is rejected with a message naming the file, row and column at
fault; nothing crashes; what the pages read (the live marts, landed data, identifiers) never changes.

The corpus (tests/fixtures/bad_feeds/corpus.py) is written at test time from the small demo's own feeds,
so each file holds exactly one planted fault among otherwise good rows.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import psutil
import pytest

from portal import cli, store
from portal.contracts import load_contracts, validate_file
from tests.fixtures.bad_feeds.corpus import write_corpus, write_huge_csv

HUGE_ROWS = int(os.environ.get("BAD_INPUT_HUGE_ROWS", "1000000"))


def _digests(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in skip}


@pytest.fixture(scope="module")
def corpus(small_demo, tmp_path_factory):
    """(folder, cases): the bad-input corpus written from the small demo's feeds."""
    folder = tmp_path_factory.mktemp("bad_feeds")
    return folder, write_corpus(small_demo / "feeds" / "small", folder)


@pytest.fixture
def demo_copy(small_demo, tmp_path, monkeypatch):
    """A private copy of the small demo's data directory (without its raw feeds), so ingest may change it."""
    data = tmp_path / "data"
    shutil.copytree(small_demo, data, ignore=shutil.ignore_patterns("feeds"))
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(data))
    return data


def test_the_corpus_covers_every_kind_of_fault_across_the_feeds(corpus):
    folder, cases = corpus
    assert len(cases) >= 40
    assert {c.feed for c in cases} == set(load_contracts()), "every feed has bad files"
    files = {p.name for p in folder.iterdir()}
    assert {c.file for c in cases} == files, "every file written is a case, and every case has its file"
    kinds = " | ".join(c.what for c in cases)
    for kind in ("missing", "impossible date", "check digit", "twice", "empty file", "header", "UTF-16",
                 "merged title", "web page", "cut off", "as text"):
        assert kind in kinds, kind
    assert {Path(c.file).suffix for c in cases} >= {".csv", ".xlsx", ".parquet", ".geojson"}


def test_each_file_is_rejected_naming_its_row_and_column(corpus):
    """The contract check on its own: the planted fault is found, at the right row and column."""
    folder, cases = corpus
    contracts = load_contracts()
    wrong = []
    for case in cases:
        contract = contracts[case.feed]
        if contract.companion_kind(case.file):
            continue  # boundaries files are checked by ingest (next test)
        validation = validate_file(folder / case.file, contract)
        assert not validation.ok and validation.typed is None, case.file
        if not any(f.row == case.row and f.column == case.column and case.reason in f.reason
                   for f in validation.faults):
            wrong.append(f"{case.file}: expected row {case.row}, column {case.column}, '{case.reason}'; got "
                         + "; ".join(f.text() for f in validation.faults[:3]))
    assert not wrong, "\n".join(wrong)


def test_ingesting_the_whole_corpus_quarantines_every_file_and_changes_nothing_live(corpus, demo_copy,
                                                                                     tmp_path, capsys):
    folder, cases = corpus
    incoming = tmp_path / "incoming"
    shutil.copytree(folder, incoming)
    live_before = store.current_version().name
    marts_before = _digests(demo_copy / "marts")
    landed_before = _digests(demo_copy / "landed", skip=("ingest_log.jsonl",))
    identifiable_before = _digests(demo_copy / "identifiable")

    assert cli.main(["ingest", str(incoming)]) == 1, "a failed ingest exits non-zero"
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "0 file(s) landed" in out.out and f"{len(cases)} failed" in out.out

    # every file moved to quarantine with a report that names the file, and the row and column at fault
    quarantine = demo_copy / "quarantine"
    wrong = []
    for case in cases:
        assert not (incoming / case.file).exists(), f"{case.file} left in the incoming folder"
        held = [p for p in quarantine.glob(f"*_{case.file}") if not p.name.endswith((".json", ".txt"))]
        assert len(held) == 1, case.file
        report = json.loads(Path(f"{held[0]}.report.json").read_text())
        text = Path(f"{held[0]}.report.txt").read_text()
        assert report["file"] == case.file and text.startswith(f"{case.file} failed the {case.feed} contract")
        where = (f"row {case.row}" if case.row is not None else "file") + (
            f", column {case.column}" if case.column else "")
        if f"{where}: " not in text or case.reason not in text:
            wrong.append(f"{case.file}: wanted '{where}: ...{case.reason}' in:\n{text}")
    assert not wrong, "\n".join(wrong)

    # the log records every rejection; nothing the pages read changed
    log = [json.loads(line) for line in (demo_copy / "landed" / "ingest_log.jsonl").read_text().splitlines()]
    assert {e["file"] for e in log if e["status"] == "quarantined"} >= {c.file for c in cases}
    assert store.current_version().name == live_before
    assert _digests(demo_copy / "marts") == marts_before
    assert _digests(demo_copy / "landed", skip=("ingest_log.jsonl",)) == landed_before
    assert _digests(demo_copy / "identifiable") == identifiable_before


def test_reports_never_quote_identifiers(corpus, demo_copy, tmp_path, capsys):
    """Quarantine reports are read by admins: a bad NHS number, postcode or name is withheld, and a
    file Arrow cannot parse is reported by row number, not by quoting its rows."""
    folder, cases = corpus
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for name in ("ae_attendances_nhs_check_digit.csv", "gp_registrations_nine_digits.csv",
                 "ae_attendances_ragged.csv", "send_register_windows_1252.csv"):
        shutil.copy(folder / name, incoming / name)
    assert cli.main(["ingest", str(incoming)]) == 1
    shown = capsys.readouterr().err + "".join(
        p.read_text(errors="replace") for p in (demo_copy / "quarantine").glob("*.report.*"))
    for name in ("ae_attendances_nhs_check_digit.csv", "gp_registrations_nine_digits.csv",
                 "ae_attendances_ragged.csv"):
        numbers = {line.split(",")[2 if name.startswith("ae") else 0].strip('"')
                   for line in (folder / name).read_text().splitlines()[1:]}
        leaked = sorted(n for n in numbers if len(n) >= 9 and n in shown)
        assert not leaked, f"{name}: NHS numbers in the report: {leaked[:3]}"
    assert "withheld: identifier" in shown


def test_a_rejected_upload_leaves_the_live_version_serving(corpus, demo_copy, portal_users):
    """The browser's upload route: the same files, refused with the file's own name, nothing published."""
    from portal import ops, uploads

    folder, cases = corpus
    analyst = ops.get_user(portal_users["analyst"]).to_user()
    live_before = store.current_version().name
    marts_before = _digests(demo_copy / "marts")
    for name in ("ae_attendances_impossible_date.csv", "geography_merged_title.xlsx",
                 "gp_events_truncated.parquet", "ae_attendances_web_page.csv", "send_register_ended_before_start.csv"):
        case = next(c for c in cases if c.file == name)
        try:
            result = uploads.upload_feed_file(analyst, (folder / name).read_bytes(), name, None)
        except uploads.UploadError as exc:  # refused at the door (content is not a feed file type)
            assert name in str(exc)
            continue
        assert result.status == uploads.REJECTED, name
        assert name in result.message and "nothing has changed" in result.message
        assert case.reason in result.report and name in result.report
    assert store.current_version().name == live_before
    assert _digests(demo_copy / "marts") == marts_before


def test_a_huge_file_is_read_in_full_and_its_last_row_rejected(small_demo, demo_copy, tmp_path, capsys):
    """A file of a million rows (generated here, never committed) with one bad date on its very last row:
    found by row number, in bounded time and memory, and nothing live changes."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    case = write_huge_csv(small_demo / "feeds" / "small", incoming, HUGE_ROWS)
    size_mb = (incoming / case.file).stat().st_size / 1e6
    assert size_mb > 30
    live_before = store.current_version().name
    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.monotonic()
    assert cli.main(["ingest", str(incoming / case.file)]) == 1
    seconds = time.monotonic() - started
    err = capsys.readouterr().err
    assert f"{case.file} failed the ae_attendances contract: 1 fault(s)" in err
    assert f"row {case.row}, column arrival_date: is not a date" in err
    assert seconds < 120, f"took {seconds:.0f} s for {size_mb:.0f} MB"
    growth_mb = (process.memory_info().rss - rss_before) / 1e6
    assert growth_mb < 12 * size_mb, f"memory grew {growth_mb:.0f} MB reading a {size_mb:.0f} MB file"
    assert store.current_version().name == live_before
    print(f"huge file: {HUGE_ROWS:,} rows, {size_mb:.0f} MB, rejected in {seconds:.1f} s, "
          f"memory +{growth_mb:.0f} MB")
