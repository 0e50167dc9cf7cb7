"""Data status and the audit log in a real browser: a broken feed file is rejected with its report and
nothing changes; a good one goes live as a new data version; the admin finds both uploads in the audit log
and downloads exactly what the table shows; axe-core finds nothing."""
from __future__ import annotations

import csv
import shutil

import pytest

from portal import config, store
from portal.server_process import serving
from tests.browser.helpers import wait_until_idle


@pytest.fixture(scope="module")
def upload_server(small_demo, tmp_path_factory):
    """A portal over a full private copy of the demo, landed feeds included, so an upload can rebuild the
    marts (the shared server leaves the feeds out, and other tests must not see this one's new versions)."""
    data_dir = tmp_path_factory.mktemp("upload-portal") / "data"
    shutil.copytree(small_demo, data_dir, ignore=shutil.ignore_patterns("ops"))
    log = config.REPO_ROOT / "test-artifacts" / "upload-portal-server.log"
    log.parent.mkdir(exist_ok=True)
    with serving(data_dir, log) as base:
        yield base, data_dir


def _sign_in(page, base: str, path: str) -> None:
    from portal.demo_users import demo_password

    page.goto(base + path)
    page.get_by_role("textbox", name="Username").fill("demo-admin")
    page.get_by_role("textbox", name="Password").fill(demo_password("demo-admin"))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=90_000)
    wait_until_idle(page)


def _upload(page, tmp_path, name: str, content: str, feed: str | None = None) -> None:
    path = tmp_path / name
    path.write_text(content)
    form = page.get_by_test_id("stForm").filter(has_text="Which feed is this file?")
    if feed:  # otherwise the portal works the feed out from the file name
        form.get_by_text(feed, exact=True).click()
    form.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    form.get_by_text(name).wait_for()
    form.get_by_role("button", name="Check and load").click()
    wait_until_idle(page, timeout=120_000)


def _live(data_dir) -> str:
    return store.current_version(data_dir / "marts").name


def test_upload_broken_then_good_file_and_find_both_in_the_audit_log(upload_server, new_context, axe_violations,
                                                                     screenshot, tmp_path):
    import json

    base, data_dir = upload_server
    truth = json.loads((data_dir / "feeds" / "small" / "ground_truth.json").read_text())["asthma_review_gap"]
    practice, entry = max(truth["by_practice"].items(), key=lambda item: len(item[1]["nhs_numbers"]))
    first, second = entry["nhs_numbers"][:2]
    page = new_context().new_page()
    _sign_in(page, base, "/data-status")
    page.get_by_role("heading", name="Data status", level=1).wait_for()
    assert axe_violations(page) == []
    before = _live(data_dir)
    landed_before = sorted(p.name for p in (data_dir / "landed" / "gp_events").iterdir())

    broken = ("nhs_number,practice_code,event_date,snomed_code\n"
              f"{first},{practice},15/09/2026,394700004\n"
              f"{second},{practice},31/02/2026,394700004\n")
    _upload(page, tmp_path, "gp_events_broken.csv", broken, feed="GP coded events (SNOMED CT)")
    alert = page.get_by_text("'gp_events_broken.csv' was rejected and nothing has changed")
    alert.wait_for()
    report = page.get_by_test_id("stCode").filter(visible=True).first.inner_text()
    assert "row 3, column event_date" in report and "31/02/2026" in report
    assert _live(data_dir) == before
    assert sorted(p.name for p in (data_dir / "landed" / "gp_events").iterdir()) == landed_before
    screenshot(page, "data-status-rejected")

    good = ("nhs_number,practice_code,event_date,snomed_code\n"
            f"{first},{practice},15/09/2026,394700004\n"
            f"{second},{practice},16/09/2026,394700004\n")
    _upload(page, tmp_path, "gp_events_reviews.csv", good)
    page.get_by_text("'gp_events_reviews.csv' passed every check").wait_for()
    after = _live(data_dir)
    assert after != before
    assert f"Live data version: {after}" in page.get_by_test_id("stMain").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "data-status-live")

    # The admin finds both uploads in the audit log, and the CSV holds exactly the rows shown.
    page.get_by_test_id("stSidebar").get_by_role("link", name="Audit log").click()  # as a person would
    page.get_by_role("heading", name="Audit log", level=1).wait_for()
    wait_until_idle(page)
    page.get_by_label("Search for text (user, event, cohort, file name, ...)").fill("gp_events_")
    page.get_by_role("button", name="Search").click()
    wait_until_idle(page)
    table = page.get_by_test_id("stTable").first.locator("table")
    events = [row.locator("td").nth(1).inner_text().strip() for row in table.locator("tbody tr").all()]
    assert events == ["Feed file accepted", "Feed file rejected"]
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV: Audit entries").click()
    saved = tmp_path / "audit.csv"
    download_info.value.save_as(saved)
    with open(saved, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["Event"] for row in rows] == events
    assert all(row["User"] == "demo-admin" for row in rows)
    assert axe_violations(page) == []
    screenshot(page, "audit-log")
