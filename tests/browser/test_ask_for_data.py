"""Ask for data in a real browser: a commissioner's request from submission to completion with a file,
worked by an analyst in the inbox; every change audited; axe-core finds nothing on either view."""
from __future__ import annotations

import sqlite3

from portal.roles import ANALYST, COMMISSIONER
from tests.browser.helpers import wait_for_portal, wait_until_idle

PAGE = "/ask-for-data"
ANSWER = "year_group,children\nYear 1,41\nYear 2,38\n"


def _audit(server, request_id: int) -> list[tuple[str, str]]:
    conn = sqlite3.connect(server.ops_db)
    try:
        rows = conn.execute("SELECT event, username, detail FROM audit_log WHERE event LIKE 'data_request_%'"
                            " ORDER BY id").fetchall()
    finally:
        conn.close()
    return [(event, user) for event, user, detail in rows if f'"request_id": {request_id}' in detail]


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_until_idle(page)


def test_a_request_from_submission_to_completion(new_context, login, demo_users, portal_server, axe_violations,
                                                 screenshot, tmp_path):
    asker = new_context().new_page()
    login(asker, *demo_users[COMMISSIONER], path=PAGE)
    asker.get_by_role("heading", name="Ask for data", level=1).wait_for()
    what = "Melatonin patients by school year, browser test"
    asker.get_by_label("What do you need?").fill(what)
    asker.get_by_label("Why do you need it?").fill("Planning where the sleep service goes")
    asker.get_by_label("For which group of children or young people?").fill("EHCP, aged 5-10")
    assert axe_violations(asker) == []
    screenshot(asker, "ask-for-data-form")
    asker.get_by_role("button", name="Send request").click()
    wait_until_idle(asker)
    sent = asker.get_by_text("sent. You can follow it under 'My requests'.")
    sent.wait_for()
    request_id = int(sent.inner_text().split()[1])

    analyst = new_context().new_page()
    login(analyst, *demo_users[ANALYST], path=PAGE)
    _tab(analyst, "Inbox (analysts)")
    analyst.get_by_role("combobox", name="Open a request").click()
    analyst.get_by_role("option", name=f"Request {request_id}:").click()
    wait_until_idle(analyst)
    analyst.get_by_role("button", name="Assign").click()
    wait_until_idle(analyst)
    analyst.get_by_text(f"Request {request_id} updated.").wait_for()
    answer_file = tmp_path / "melatonin_by_year.csv"
    answer_file.write_text(ANSWER)
    _tab(analyst, "Inbox (analysts)")
    analyst.get_by_role("combobox", name="Open a request").click()
    analyst.get_by_role("option", name=f"Request {request_id}:").click()
    wait_until_idle(analyst)
    complete_form = analyst.get_by_test_id("stForm").filter(has_text="Complete the request")
    complete_form.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(answer_file))
    complete_form.get_by_text("melatonin_by_year.csv").wait_for()
    complete_form.get_by_label("Note to the requester (optional)").fill("Counts by school year attached.")
    assert axe_violations(analyst) == []
    screenshot(analyst, "ask-for-data-inbox")
    complete_form.get_by_role("button", name="Complete request").click()
    wait_until_idle(analyst)
    analyst.get_by_text(f"Request {request_id} updated.").wait_for()

    asker.reload()
    wait_for_portal(asker)
    _tab(asker, "My requests")
    expander = asker.get_by_test_id("stExpander").filter(has_text=f"Request {request_id}:")
    assert "Completed" in expander.inner_text()
    expander.locator("summary").click()
    with asker.expect_download() as download_info:
        expander.get_by_role("button", name="Download melatonin_by_year.csv").click()
    saved = tmp_path / "downloaded.csv"
    download_info.value.save_as(saved)
    assert saved.read_text() == ANSWER
    wait_until_idle(asker)
    assert _audit(portal_server, request_id) == [
        ("data_request_submitted", demo_users[COMMISSIONER][0]),
        ("data_request_assigned", demo_users[ANALYST][0]),
        ("data_request_completed", demo_users[ANALYST][0]),
        ("data_request_file_downloaded", demo_users[COMMISSIONER][0]),
    ]
