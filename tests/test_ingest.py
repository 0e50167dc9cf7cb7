"""Ingest: broken files are quarantined with a precise report and a non-zero exit; re-ingest is a no-op."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from portal import cli, store
from portal.ingest import read_log


@pytest.fixture
def demo_copy(small_demo, tmp_path, monkeypatch):
    """A private copy of the small demo's data directory, so tests may change it."""
    data = tmp_path / "data"
    shutil.copytree(small_demo, data)
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(data))
    return data


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_reingesting_the_same_files_changes_nothing(demo_copy, capsys):
    landed_before = _snapshot(demo_copy / "landed")
    identifiable_before = _snapshot(demo_copy / "identifiable")
    assert cli.main(["ingest", str(demo_copy / "feeds" / "small")]) == 0
    out = capsys.readouterr().out
    assert "0 file(s) landed" in out and "12 unchanged" in out
    assert _snapshot(demo_copy / "landed") == landed_before
    assert _snapshot(demo_copy / "identifiable") == identifiable_before


def test_a_broken_file_is_quarantined_with_a_precise_message(demo_copy, capsys, tmp_path):
    version_before = store.current_version().name
    landed_before = _snapshot(demo_copy / "landed")
    source = demo_copy / "feeds" / "small" / "ae_attendances_001.csv"
    import csv

    with open(source, newline="") as fh:
        rows = list(csv.reader(fh))[:50]
    rows[5][rows[0].index("arrival_date")] = "31/13/2025"  # line 6 of the file (header is line 1)
    broken = tmp_path / "incoming" / "ae_attendances_2026-10.csv"
    broken.parent.mkdir()
    with open(broken, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)

    assert cli.main(["ingest", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "ae_attendances_2026-10.csv failed the ae_attendances contract: 1 fault(s)" in err
    assert "row 6, column arrival_date: is not a date (yyyy-mm-dd or dd/mm/yyyy) (value '31/13/2025')" in err
    assert not broken.exists(), "the file is moved out of the incoming folder"
    quarantined = list((demo_copy / "quarantine").glob("*_ae_attendances_2026-10.csv"))
    assert len(quarantined) == 1
    report = json.loads(Path(str(quarantined[0]) + ".report.json").read_text())
    assert report["file"] == "ae_attendances_2026-10.csv" and report["faults"] == 1
    assert report["faults_listed"] == [{"row": 6, "column": "arrival_date", "value": "31/13/2025",
                                        "reason": "is not a date (yyyy-mm-dd or dd/mm/yyyy)"}]
    # nothing already ingested changed, and the live marts are the same version
    assert _snapshot(demo_copy / "landed") == {**landed_before, "ingest_log.jsonl": _snapshot(demo_copy / "landed")[
        "ingest_log.jsonl"]}
    assert read_log()[-1]["status"] == "quarantined"
    assert store.current_version().name == version_before
    # a rebuild reports the failure in feed_status without losing the landed data
    assert cli.main(["build"]) == 0
    con, _ = store.reader().cursor()
    rows, failures, last_failed = con.execute(
        "SELECT rows, failures, last_failed_file FROM feed_status WHERE feed = 'ae_attendances'").fetchone()
    assert failures == 1 and last_failed == "ae_attendances_2026-10.csv" and rows > 1000


def test_identifiers_are_withheld_from_quarantine_reports(demo_copy, tmp_path, capsys):
    path = tmp_path / "community_referrals_bad.csv"
    path.write_text("referral_id,nhs_number,service,referral_date\nR1,9434765918,ASD,2025-01-01\n")
    assert cli.main(["ingest", str(path)]) == 1
    err = capsys.readouterr().err
    assert "9434765918" not in err and "(withheld: identifier)" in err


def test_unknown_files_and_a_missing_spine_give_clear_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "empty"))
    stray = tmp_path / "notes.csv"
    stray.write_text("a,b\n1,2\n")
    assert cli.main(["ingest", str(stray)]) == 1
    assert "cannot tell which feed this is" in capsys.readouterr().err
    referrals = tmp_path / "community_referrals.csv"
    referrals.write_text("referral_id,nhs_number,service,referral_date\nR1,9434765919,ASD,2025-01-01\n")
    assert cli.main(["ingest", str(referrals)]) == 1
    assert "ingest the GP registrations (the linkage spine) first" in capsys.readouterr().err
    assert referrals.exists(), "a file that is not at fault stays where it was"
    assert cli.main(["build"]) == 1
    assert "No GP registrations have been ingested" in capsys.readouterr().err


def test_ingested_landed_files_hold_no_identifiers(small_demo):
    import pyarrow.parquet as pq

    for path in (small_demo / "landed").rglob("*.parquet"):
        names = set(pq.read_schema(path).names)
        assert not names & {"nhs_number", "given_name", "family_name", "date_of_birth", "postcode", "upn"}, path
    persons = pq.read_schema(small_demo / "identifiable" / "persons.parquet").names
    assert persons == ["person_key", "nhs_number", "given_name", "family_name", "date_of_birth", "practice_code"]
    for path in (small_demo / "marts").rglob("*.parquet"):
        assert not set(pq.read_schema(path).names) & {"nhs_number", "given_name", "family_name", "date_of_birth"}
