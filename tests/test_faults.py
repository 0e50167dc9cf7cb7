"""Faults: builds and ingests killed at random points, a corrupt file in the live mart version, and
readers querying while new versions are published.

The kill loops run ``FAULT_KILL_ROUNDS`` times each (4 in CI); the longer form is
``FAULT_KILL_ROUNDS=40 .venv/bin/pytest tests/test_faults.py``. Each round kills the real command
(``python -m portal build`` / ``ingest``) with SIGKILL after a random number of its progress steps plus a
random delay, so the kills land in every phase whatever the machine's speed.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from portal import config, queries, store
from portal.roles import User

ROUNDS = int(os.environ.get("FAULT_KILL_ROUNDS", "4"))
SEED = int(os.environ.get("FAULT_SEED", "20261122"))
ANALYST = User("fault-analyst", "Fault Analyst", "analyst")
COMMISSIONER = User("fault-commissioner", "Fault Commissioner", "commissioner")


@pytest.fixture
def demo_copy(small_demo, tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(small_demo, data, ignore=shutil.ignore_patterns("feeds"))
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(data))
    queries.clear_cache()
    yield data
    queries.clear_cache()


def _run_and_kill(args: list[str], data_dir: Path, rng: random.Random, total_steps: int) -> bool:
    """Start ``python -m portal ARGS``; SIGKILL it after a random number of progress lines and a random
    delay. True if it was killed, False if it finished first."""
    env = {**os.environ, "SEND_PORTAL_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "portal", *args], cwd=config.REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    kill_after = rng.randint(0, total_steps)
    seen = 0
    try:
        while seen < kill_after:
            line = proc.stderr.readline()
            if not line:
                break
            if "] " in line:
                seen += 1
        time.sleep(rng.uniform(0, 0.4))
        if proc.poll() is not None:
            return False
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return True
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()


def _assert_live_version_whole(data_dir: Path) -> str:
    """The live version is complete: a manifest, every mart it lists readable, and queries answer."""
    root = data_dir / "marts"
    version = store.current_version(root)
    for name in store.list_versions(root):  # a version folder exists only once it is complete
        assert (root / name / store.MANIFEST_FILE).exists(), f"{name} was published without a manifest"
    for mart in version.manifest["marts"]:
        path = version.path / f"{mart}.parquet"
        assert path.exists(), f"{mart} listed in {version.name} but missing"
        pq.read_metadata(path)  # a torn file fails here
    queries.clear_cache()
    result = queries.run("people_by_locality", ANALYST)
    assert int(result.df.n_people.sum()) > 0
    return version.name


def test_builds_killed_at_random_points_never_leave_a_half_published_version(demo_copy):
    rng = random.Random(SEED)
    first = _assert_live_version_whole(demo_copy)
    versions_seen = {first}
    killed = 0
    for _ in range(ROUNDS):
        killed += _run_and_kill(["build"], demo_copy, rng, total_steps=31)
        versions_seen.add(_assert_live_version_whole(demo_copy))
    assert killed >= ROUNDS // 2, "most rounds should be killed before the build finished"
    # a build after the kills succeeds and clears the abandoned work folders
    env = {**os.environ, "SEND_PORTAL_DATA_DIR": str(demo_copy)}
    done = subprocess.run([sys.executable, "-m", "portal", "build"], cwd=config.REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    final = _assert_live_version_whole(demo_copy)
    assert final not in versions_seen or len(versions_seen) > 1
    assert not list((demo_copy / "marts").glob(".build-*")), "abandoned build folders are cleaned up"


def test_ingests_killed_at_random_points_never_lose_a_file(small_demo, tmp_path, monkeypatch):
    """Ingest into an empty data directory, killed again and again: every landed file is whole, the log
    always reads, no incoming file disappears, and a final run lands everything exactly once."""
    rng = random.Random(SEED + 1)
    feeds = sorted(p.name for p in (small_demo / "feeds" / "small").iterdir() if p.name != "ground_truth.json")
    incoming = tmp_path / "incoming"
    shutil.copytree(small_demo / "feeds" / "small", incoming)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(data))
    from portal.ingest import read_log

    for _ in range(ROUNDS):
        _run_and_kill(["ingest", str(incoming)], data, rng, total_steps=len(feeds))
        assert sorted(p.name for p in incoming.iterdir() if p.name != "ground_truth.json") == feeds, \
            "an incoming file was lost"
        for entry in read_log():  # the log parses, and whatever it says landed is there and whole
            if entry["status"] == "landed":
                landed = data / "landed" / entry["feed"] / entry["landed_as"]
                assert landed.exists(), entry
                if landed.suffix == ".parquet":
                    assert pq.read_metadata(landed).num_rows == entry["rows"]
        assert not [e for e in read_log() if e["status"] == "quarantined"], "a kill must not quarantine a good file"

    env = {**os.environ, "SEND_PORTAL_DATA_DIR": str(data)}
    done = subprocess.run([sys.executable, "-m", "portal", "ingest", str(incoming)], cwd=config.REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    landed = [e for e in read_log() if e["status"] == "landed"]
    assert sorted(e["file"] for e in landed) == feeds, "each file landed exactly once"
    assert sorted(p.name for p in (data / "landed").rglob("*.parquet")) == sorted(
        e["landed_as"] for e in landed if e["landed_as"].endswith(".parquet"))


# --------------------------------------------------------------------------------- corrupt live version
def _corrupt(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] + b"\x00garbage" * 64)


def test_a_corrupt_mart_in_the_live_version_gives_a_clear_message(demo_copy):
    live = store.current_version()
    _corrupt(live.path / "fct_referrals.parquet")
    store._reader = None  # a fresh process reading this data directory
    with pytest.raises(queries.MartsUnavailable) as refused:
        queries.run("waits_by_service", COMMISSIONER)
    assert "unavailable" in str(refused.value) and "Traceback" not in str(refused.value)
    # the whole version is refused, for every role and query, until a good version is published
    with pytest.raises(queries.MartsUnavailable):
        queries.run("people_by_locality", ANALYST)


@pytest.mark.parametrize("mart, page", [("fct_referrals", "waiting_lists"), ("dim_locality", "home"),
                                        ("fct_prescriptions", "sleep_services")])
def test_a_page_over_a_corrupt_mart_shows_a_message_not_a_stack_trace(demo_copy, mart, page):
    from tests.conftest import run_page_as

    _corrupt(store.current_version().path / f"{mart}.parquet")
    store._reader = None
    at = run_page_as(page, COMMISSIONER)
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(str(e.value) for e in [*at.warning, *at.error, *at.info])
    assert "unavailable" in shown or "could not be produced" in shown or "cannot be shown" in shown, shown
    page_text = " ".join(str(e.value) for e in [*at.markdown, *at.warning, *at.error, *at.info, *at.caption])
    for leak in ("Traceback", "duckdb", "Invalid Input Error", "parquet", str(demo_copy)):
        assert leak.lower() not in page_text.lower(), leak


def test_a_mart_corrupted_while_the_server_runs_is_not_answered_from_its_kept_footer(demo_copy):
    """The reader keeps each file's Parquet footer between queries (store.MartReader); a file broken on disk
    after it was read is still refused with a message."""
    store._reader = None
    cursor, _version = store.reader().cursor()
    assert cursor.execute("SELECT current_setting('parquet_metadata_cache')").fetchone()[0] is True
    cursor.close()
    queries.run("waits_by_service", COMMISSIONER)
    queries.clear_cache()
    _corrupt(store.current_version().path / "fct_referrals.parquet")
    with pytest.raises((queries.QueryFailed, queries.MartsUnavailable)) as refused:
        queries.run("waits_by_service", COMMISSIONER)
    assert "Traceback" not in str(refused.value)


def test_a_live_pointer_to_a_missing_version_gives_a_clear_message(demo_copy):
    (demo_copy / "marts" / store.CURRENT_FILE).write_text("v20990101T000000\n")
    store._reader = None
    with pytest.raises(queries.MartsUnavailable, match="unavailable"):
        queries.run("people_by_locality", COMMISSIONER)



def test_a_manifest_broken_after_it_was_read_gives_a_clear_message(demo_copy):
    """The parsed manifest is kept between queries; a manifest that changes on disk is read again."""
    version = store.current_version()
    queries.run("people_by_locality", COMMISSIONER)
    (version.path / store.MANIFEST_FILE).write_text("{not json")
    queries.clear_cache()
    with pytest.raises(queries.MartsUnavailable, match="unavailable"):
        queries.run("people_by_locality", COMMISSIONER)


# --------------------------------------------------------------------------------- readers during publish
def test_readers_during_publishes_all_get_consistent_answers(tiny_marts, tmp_path):
    """Two known versions published alternately while reader threads query: every answer is exactly one
    version's answer, never a mix, and no reader sees an error."""
    root = tmp_path / "data" / "marts"
    base = store.current_version(root)
    answers = {}

    def make_version(i: int, drop: str | None) -> Path:
        folder = root / f"v2026110{1 + i % 2}T0000{i:06d}"
        shutil.copytree(base.path, folder)
        people = pd.read_parquet(folder / "dim_person.parquet")
        if drop:
            people = people[people.locality != drop]
        people.to_parquet(folder / "dim_person.parquet", index=False)
        manifest = json.loads((folder / store.MANIFEST_FILE).read_text())
        manifest["version"] = folder.name
        (folder / store.MANIFEST_FILE).write_text(json.dumps(manifest))
        return folder

    def answer() -> tuple:
        result = queries.run("people_by_locality", ANALYST)
        return tuple(zip(result.df.locality, result.df.n_people.astype(int)))

    answers = {answer()}  # the base version: all four localities
    store.publish(make_version(0, "Northfield"), root=root, keep=50)
    answers.add(answer())
    assert len(answers) == 2

    stop = threading.Event()
    seen, errors = [], []

    def read():
        while not stop.is_set():
            try:
                seen.append(answer())
            except Exception as exc:  # noqa: BLE001 - any error is a failure, collected for the message
                errors.append(repr(exc))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    try:
        for i in range(1, 41):
            store.publish(make_version(i, None if i % 2 else "Northfield"), root=root, keep=50)
            time.sleep(0.02)
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=60)
    assert not errors, errors[:3]
    assert len(seen) >= 40
    assert set(seen) <= answers, set(seen) - answers
    assert set(seen) == answers, "readers saw both versions"
