"""Waiting lists in a real browser: summary names the planted locality, downloads equal the table,
filters change the view and the URL, the clinician's own list appears, and axe-core finds nothing."""
from __future__ import annotations

import json
from pathlib import Path

from tests.browser.helpers import (
    charts_drawn, choose_filter, csv_rows, download_bytes, html_tables, same_cells,
    wait_until_idle,
)


def _truth(small_demo) -> dict:
    return json.loads(next(Path(small_demo).rglob("ground_truth.json")).read_text())


def open_page(page, login, user, path="waiting-lists"):
    login(page, *user)
    page.goto(page.url.rsplit("/", 1)[0] + "/" + path)
    page.get_by_role("heading", name="Waiting lists", level=1).wait_for()
    wait_until_idle(page)


def test_commissioner_view_filter_download_and_accessibility(page, login, demo_users, small_demo, axe_violations,
                                                              screenshot):
    open_page(page, login, demo_users["commissioner"])
    locality = _truth(small_demo)["autism_waits"]["locality"]
    assert page.get_by_text(f"Waits for autism assessment are longest in {locality}: median").first.is_visible()
    assert charts_drawn(page, at_least=5) >= 5
    assert "could not be shown" not in page.content()

    before = html_tables(page)[0]
    assert before[0][:2] == ["Service", "Waiting now"]
    downloaded = csv_rows(download_bytes(page, "Download CSV: Waiting now, by service"))
    assert same_cells(before, downloaded)
    assert all(cell == "*" or int(float(cell)) % 5 == 0 for row in before[1:] for cell in row[1:2])

    choose_filter(page, "SEND status", "EHCP")
    assert "send_status=EHCP" in page.url
    after = html_tables(page)[0]
    assert after != before
    assert same_cells(after, csv_rows(download_bytes(page, "Download CSV: Waiting now, by service")))

    screenshot(page, "waiting-lists-commissioner")
    assert axe_violations(page) == []


def test_clinician_sees_their_own_list(page, login, demo_users, axe_violations, screenshot):
    open_page(page, login, demo_users["clinician"])
    heading = page.get_by_role("heading", name="Your list: Autism assessment in", level=2)
    heading.wait_for()
    heading.scroll_into_view_if_needed()
    # The list's buttons and rows (a table, or a grid for long lists) are waited for, not read at once: the
    # browser may draw an element a moment after the heading around it (it loads an element's code on
    # first use).
    download = page.get_by_role("button", name="Download CSV: Your list: Autism assessment in")
    download.first.wait_for()
    assert download.count() == 1
    rows = page.get_by_test_id("stMain").get_by_role("columnheader", name="Pseudonymous ID")
    rows.or_(page.get_by_test_id("stDataFrame")).first.wait_for()
    screenshot(page, "waiting-lists-clinician")
    assert axe_violations(page) == []
