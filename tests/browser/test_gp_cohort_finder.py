"""GP cohort finder in a real browser: the demo GP's recall list equals the ground truth, a filter narrows it,
the CSV download equals the table, every view and export is audited, the URL cannot change the practice,
other roles cannot reach the page, and axe-core finds nothing."""
from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from portal.roles import ANALYST, COMMISSIONER
from tests.browser.helpers import wait_for_portal, wait_until_idle

PAGE = "gp-cohort-finder"


def html_table(page, index: int = 0) -> list[dict[str, str]]:
    """A table drawn as HTML (portal.ui.show_table): header row, then one dict per body row."""
    table = page.get_by_test_id("stTable").nth(index).locator("table")
    headers = [th.inner_text().strip() for th in table.locator("thead tr").last.locator("th").all()]
    rows = []
    for tr in table.locator("tbody tr").all():
        cells = [cell.inner_text().strip() for cell in tr.locator("th, td").all()]
        rows.append(dict(zip(headers, cells)) if len(cells) == len(headers) else
                    dict(zip(headers[-len(cells):], cells)))
    return rows


def audit_entries(server, event: str, username: str) -> list[dict]:
    conn = sqlite3.connect(server.ops_db)
    try:
        rows = conn.execute("SELECT at, detail FROM audit_log WHERE event = ? AND username = ? ORDER BY id",
                            (event, username)).fetchall()
    finally:
        conn.close()
    return [{"at": at, **json.loads(detail)} for at, detail in rows]


def demo_gp_truth(small_demo, portal_server) -> tuple[str, list[str]]:
    """The demo GP's practice and the ground truth's recall list for it."""
    from portal import ops

    practice = ops.get_user("demo-gp", path=portal_server.ops_db).practice_code
    truth = json.loads((small_demo / "feeds" / "small" / "ground_truth.json").read_text())["asthma_review_gap"]
    return practice, sorted(truth["by_practice"].get(practice, {}).get("nhs_numbers", []))


def test_gp_sees_the_ground_truth_list_filters_it_and_exports_it(page, login, demo_users, portal_server,
                                                                 small_demo, axe_violations, screenshot, tmp_path):
    practice, expected = demo_gp_truth(small_demo, portal_server)
    username, password = demo_users["gp"]
    login(page, username, password, path=f"/{PAGE}")
    page.get_by_role("heading", name="GP cohort finder").wait_for()
    wait_until_idle(page)
    assert f"({practice})" in page.get_by_test_id("stMain").inner_text()
    if not expected:
        pytest.skip("the demo GP's practice has nobody in the planted cohort")  # the small demo plants some
    shown = html_table(page)
    assert sorted(row["NHS number"] for row in shown) == expected
    views = audit_entries(portal_server, "cohort_view", username)
    assert views and views[-1]["rows"] == len(expected) and views[-1]["practice_code"] == practice
    assert views[-1]["cohort"] == {"send_status": "EHCP", "conditions": ["asthma"], "no_event": "asthma_review",
                                   "no_event_months": 12}
    assert axe_violations(page) == []
    screenshot(page, "gp-cohort-finder")

    # A sidebar filter narrows the list to a subset (one sex or the other leaves somebody on it).
    sidebar = page.get_by_test_id("stSidebar")
    narrowed, chosen = [], None
    for sex in ("Female", "Male"):
        sidebar.get_by_role("combobox", name="Sex").click()
        page.get_by_role("option", name=sex, exact=True).click()
        wait_until_idle(page)
        narrowed = html_table(page) if page.get_by_test_id("stTable").count() else []
        assert {row["NHS number"] for row in narrowed} <= set(expected)
        if narrowed:
            chosen = sex
            break
    assert chosen and len(narrowed) <= len(expected)

    # The CSV download holds exactly the rows the table shows, and is audited.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV: cohort list").click()
    path = tmp_path / "cohort.csv"
    download_info.value.save_as(path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        downloaded = list(csv.DictReader(fh))
    assert [row["NHS number"] for row in downloaded] == [row["NHS number"] for row in narrowed]
    assert [row["Name"] for row in downloaded] == [row["Name"] for row in narrowed]
    wait_until_idle(page)
    exports = audit_entries(portal_server, "cohort_export", username)
    assert exports and exports[-1]["rows"] == len(narrowed) and exports[-1]["format"] == "csv"
    assert exports[-1]["filters"] == {"sex": chosen}


def test_the_url_cannot_choose_another_practice(page, login, demo_users, portal_server, small_demo):
    practice, expected = demo_gp_truth(small_demo, portal_server)
    username, password = demo_users["gp"]
    other = f"{practice[:-1]}{'9' if practice[-1] != '9' else '8'}"
    login(page, username, password,
          path=f"/{PAGE}?practice_code={other}&practice={other}&scope={other}&cohort_send_status=Any")
    page.get_by_role("heading", name="GP cohort finder").wait_for()
    wait_until_idle(page)
    shown = html_table(page) if page.get_by_test_id("stTable").count() else []
    assert sorted(row["NHS number"] for row in shown) == expected


@pytest.mark.parametrize("role", [COMMISSIONER, ANALYST])
def test_other_roles_cannot_reach_the_page(page, login, demo_users, portal_server, role):
    username, password = demo_users[role]
    login(page, username, password)
    page.goto(portal_server.url(f"/{PAGE}"))
    wait_for_portal(page)
    assert page.get_by_role("heading", name="GP cohort finder").count() == 0
    assert "NHS number" not in page.content()
    links = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink")
    assert not any("GP cohort finder" in link.inner_text() for link in links.all())
