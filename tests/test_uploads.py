"""Uploads: type by content, size limit, generated names, never executable; feed files validated, ingested,
published (good) or rejected with a precise report and nothing changed (broken)."""
from __future__ import annotations

import io
import os
import stat

import pandas as pd
import pytest

from portal import config, uploads
from portal.uploads import UploadError


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2]}).to_excel(buffer, index=False)
    return buffer.getvalue()


def _parquet() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2]}).to_parquet(buffer)
    return buffer.getvalue()


def _zip_without_excel() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.sh", "#!/bin/sh\necho hi\n")
    return buffer.getvalue()


@pytest.mark.parametrize("data, kind", [
    (b"nhs_number,event_date\n9990000001,01/02/2024\n", "csv"),
    ("\ufeffnhs_number,name\n9990000001,Zoë\n".encode("utf-8"), "csv"),      # byte-order mark
    ("nhs_number;name\n9990000001;Zo\u00eb\n".encode("cp1252"), "csv"),       # Windows text, semicolons
    (b"%PDF-1.7\n...", "pdf"),
    (b"MZ\x90\x00\x03\x00\x00\x00", None),                                     # a Windows program
    (b"\x7fELF\x02\x01\x01", None),                                            # a Linux program
    (b"#!/bin/sh\nrm -rf /\n", None),                                          # a script: no table header
    (b"just some words with no separators\n", None),
    (b"\x00\x01\x02,\x03", None),
])
def test_kind_is_decided_by_content(data, kind):
    assert uploads.detect_kind(data) == kind


def test_office_and_parquet_files_are_recognised_by_structure():
    assert uploads.detect_kind(_xlsx()) == "xlsx"
    assert uploads.detect_kind(_parquet()) == "parquet"
    assert uploads.detect_kind(_zip_without_excel()) is None
    assert uploads.detect_kind(b"PAR1 truncated") is None


@pytest.mark.parametrize("data, name, message", [
    (b"", "a.csv", "The file is empty"),
    (b"MZ\x90\x00", "feed.csv", "is not a file type the portal reads"),
    (b"a,b\n1,2\n", "feed.exe", "Rename it to end in .csv"),
    (b"a,b\n1,2\n", "feed.xlsx", "contains CSV data but is named '.xlsx'"),
    (b"%PDF-1.4", "feed.pdf", "is PDF. Upload one of: CSV, Parquet, Excel (.xlsx)"),
])
def test_refused_uploads_say_why(data, name, message):
    with pytest.raises(UploadError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        uploads.check_upload(data, name, uploads.FEED_KINDS)


def test_size_limit():
    with pytest.raises(UploadError, match="the limit is 1 KB"):
        uploads.check_upload(b"a,b\n" + b"1,2\n" * 400, "big.csv", uploads.FEED_KINDS, max_bytes=1024)
    assert uploads.check_upload(b"a,b\n1,2\n", "small.csv", uploads.FEED_KINDS, max_bytes=1024) == "csv"


def test_the_feed_is_worked_out_from_the_file_name_as_on_the_command_line():
    assert uploads.detect_feed("gp_events_2026-10.csv") == "gp_events"
    assert uploads.detect_feed("prescribing_001.parquet") == "prescribing"
    assert uploads.detect_feed("../x/send_register.csv") == "send_register"
    assert uploads.detect_feed("geography_boundaries.geojson") is None  # boundaries go through the command line
    assert uploads.detect_feed("mystery.csv") is None


def test_stored_under_a_generated_name_read_only_and_never_executable(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path))
    data = b"nhs_number,x\n1,2\n"
    first = uploads.store_upload(data, "../../etc/cron.d/evil.csv", uploads.FEED_KINDS, "feeds", prefix="prescribing")
    second = uploads.store_upload(data, "../../etc/cron.d/evil.csv", uploads.FEED_KINDS, "feeds", prefix="prescribing")
    folder = config.uploads_dir() / "feeds"
    for stored in (first, second):
        assert stored.path.parent == folder and stored.path.read_bytes() == data
        assert stored.path.name.startswith("prescribing_") and stored.path.suffix == ".csv"
        assert "evil" not in stored.path.name
        mode = stat.S_IMODE(os.stat(stored.path).st_mode)
        assert mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert first.path != second.path                 # never overwrites
    assert first.original_name == "evil.csv"          # kept only as a label
    assert sorted(p.name for p in folder.iterdir()) == sorted([first.path.name, second.path.name])
    with pytest.raises(ValueError):
        uploads.store_upload(data, "a.csv", uploads.FEED_KINDS, "feeds", prefix="../x")


# --- the Data status page (AppTest) ----------------------------------------------------------------------------

def _status_page(user):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(config.PAGES_DIR / "data_status.py"), default_timeout=60)
    at.session_state["portal_user"] = user
    return at.run()


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_data_status_page_shows_each_feed_with_chart_and_summary(tiny_marts, role):
    from portal.roles import User
    from tests.apptest_helpers import shown_tables

    at = _status_page(User("someone", "Someone", role))
    assert not at.exception
    feeds = shown_tables(at)[0]
    assert list(feeds["Feed"]) == ["community_services", "GP registrations (the linkage spine)",
                                   "SEND register (EHCP and SEN support)"]
    assert list(feeds["Rows"]) == [123, 137, 137]
    assert list(feeds["Linkage match rate (%)"]) == [99.0, 100.0, 98.0]
    assert len(at.get("arrow_vega_lite_chart")) == 1
    assert any(m.value.startswith("3 feeds are loaded.") and "No file has been rejected" in m.value
               for m in at.markdown)
    assert any("Live data version: **v20261101T000000**" in i.value for i in at.info)
    assert at.radio(key="upload_feed").options[0] == "Work it out from the file name"
    assert "GP coded events (SNOMED CT)" in at.radio(key="upload_feed").options


@pytest.mark.parametrize("role", ["commissioner", "clinician", "gp"])
def test_data_status_page_refuses_other_roles(tiny_marts, role):
    from portal import navigation
    from portal.roles import User

    assert "data-status" not in [p.url_path for p in navigation.pages_for(role)]
    at = _status_page(User("someone", "Someone", role, practice_code="P001" if role == "gp" else None,
                           service="ASD" if role == "clinician" else None,
                           locality="Northfield" if role == "clinician" else None))
    assert any("only for analysts and administrators" in e.value for e in at.error)
    assert not at.get("arrow_table") and not at.get("file_uploader")


# --- feed files through ingest and rebuild, on a copy of the synthetic demo -------------------------------------

ANALYST_USER = __import__("portal.roles", fromlist=["User"]).User("ana", "Ana", "analyst")


@pytest.fixture
def demo_copy(small_demo, tmp_path, monkeypatch):
    """A private copy of the demo data directory: uploads change it, other tests must not see that."""
    import shutil

    from portal import queries

    target = tmp_path / "data"
    shutil.copytree(small_demo, target, ignore=shutil.ignore_patterns("ops"))
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(target))
    queries.clear_cache()
    yield target
    queries.clear_cache()


def _recall_practice(data_dir) -> tuple[str, list[str]]:
    import json

    truth = json.loads((data_dir / "feeds" / "small" / "ground_truth.json").read_text())["asthma_review_gap"]
    practice, entry = max(truth["by_practice"].items(), key=lambda item: len(item[1]["nhs_numbers"]))
    return practice, entry["nhs_numbers"]


def _recall_list(practice: str) -> list[str]:
    from portal import cohorts
    from portal.roles import User

    gp = User("gp", "GP", "gp", practice_code=practice)
    definition = cohorts.CohortDefinition("EHCP", ("asthma",), "asthma_review", 12)
    return sorted(cohorts.run_cohort(gp, definition, audit=False).df["nhs_number"].astype(str))


def _snapshot(data_dir) -> dict:
    from portal import store

    return {"current": store.current_version().name,
            "landed": sorted(str(p.relative_to(data_dir)) for p in (data_dir / "landed").rglob("*.parquet")),
            "persons": (data_dir / "identifiable" / "persons.parquet").read_bytes()}


def test_a_broken_feed_file_is_rejected_precisely_and_nothing_changes(demo_copy):
    from portal import ops

    practice, overdue = _recall_practice(demo_copy)
    before = _snapshot(demo_copy)
    broken = (f"nhs_number,practice_code,event_date,snomed_code\n"
              f"{overdue[0]},{practice},15/09/2026,394700004\n"
              f"{overdue[1]},{practice},31/02/2026,394700004\n"      # no 31 February
              f"{overdue[0]},{practice},16/09/2026,asthma-review\n").encode()
    steps = []
    result = uploads.upload_feed_file(ANALYST_USER, broken, "gp_events_september.csv", "gp_events",
                                      progress=lambda fraction, text: steps.append(fraction))
    assert result.status == uploads.REJECTED and not result.accepted
    assert result.message.startswith("'gp_events_september.csv' was rejected and nothing has changed")
    assert "row 3, column event_date" in result.report and "31/02/2026" in result.report
    assert "row 4, column snomed_code" in result.report
    assert "gp_events_" in result.report and "_upload_" not in result.report  # named as the person knows it
    assert _snapshot(demo_copy) == before
    assert _recall_list(practice) == sorted(overdue)
    assert steps and steps == sorted(steps)
    entry = ops.audit_events(event="upload_rejected")[0]
    assert (entry["username"], entry["detail"]["file"], entry["detail"]["feed"]) == (
        "ana", "gp_events_september.csv", "gp_events")
    assert uploads.recent_uploads()[0]["status"] == "rejected"


def test_a_good_feed_file_goes_live_as_a_new_version(demo_copy):
    from portal import ops, store

    practice, overdue = _recall_practice(demo_copy)
    before = store.current_version().name
    reviews = (f"nhs_number,practice_code,event_date,snomed_code\n"
               f"{overdue[0]},{practice},15/09/2026,394700004\n"
               f"{overdue[1]},{practice},16/09/2026,394700004\n").encode()
    steps = []
    result = uploads.upload_feed_file(ANALYST_USER, reviews, "gp_events_reviews.csv", "gp_events",
                                      progress=lambda fraction, text: steps.append((fraction, text)))
    assert result.status == uploads.LIVE, result.message
    assert result.rows == 2 and result.previous_version == before
    assert result.mart_version == store.current_version().name != before
    assert f"data version {result.mart_version}" in result.message
    assert steps[-1] == (1.0, "Done: the new data is live")
    # the two children just reviewed leave the recall list; everyone else stays
    assert _recall_list(practice) == sorted(overdue[2:])
    entry = ops.audit_events(event="upload_accepted")[0]
    assert entry["detail"]["mart_version"] == result.mart_version and entry["detail"]["rows"] == 2
    # the Data status table names the new last file as the uploader called it
    from portal import queries
    from portal.journeys import data_status

    status = queries.run("feed_status", ANALYST_USER).df
    table = data_status.feed_table(status, data_status.feed_titles(), uploads.original_names())
    row = table[table["Feed"] == "GP coded events (SNOMED CT)"].iloc[0]
    assert row["Last file received"] == "gp_events_reviews.csv (uploaded)"

    again = uploads.upload_feed_file(ANALYST_USER, reviews, "gp_events_again.csv", None)  # feed from the name
    assert again.status == uploads.UNCHANGED and store.current_version().name == result.mart_version


def test_only_the_data_team_may_upload(demo_copy):
    from portal.roles import User

    for role in ("commissioner", "gp", "clinician"):
        with pytest.raises(PermissionError):
            uploads.upload_feed_file(User("x", "X", role), b"a,b\n1,2\n", "gp_events.csv", "gp_events")
    with pytest.raises(UploadError, match="Choose which feed"):
        uploads.upload_feed_file(ANALYST_USER, b"a,b\n1,2\n", "x.csv", "../../etc")
    with pytest.raises(UploadError, match="Cannot tell which feed 'mystery.csv' is"):
        uploads.upload_feed_file(ANALYST_USER, b"a,b\n1,2\n", "mystery.csv", None)
    assert uploads.recent_uploads() == []
