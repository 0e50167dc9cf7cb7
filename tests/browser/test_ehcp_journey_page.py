"""EHCP journey in a real browser: summary, charts, a download equal to its table, a filter change,
and no axe-core violations."""
from __future__ import annotations

from tests.browser.helpers import (
    charts_drawn, choose_filter, csv_rows, download_bytes, html_tables, same_cells,
    wait_until_idle,
)


def test_ehcp_journey_in_the_browser(page, login, demo_users, axe_violations, screenshot):
    login(page, *demo_users["analyst"])
    page.goto(page.url.rsplit("/", 1)[0] + "/ehcp-journey")
    page.get_by_role("heading", name="EHCP journey", level=1).wait_for()
    wait_until_idle(page)
    assert page.get_by_text("requests for an EHC needs assessment were received").first.is_visible()
    assert charts_drawn(page, at_least=5) >= 5

    first = html_tables(page)[0]
    assert first[0][0] == "12 months to" and len(first) == 6  # header + five 12-month periods
    assert same_cells(first, csv_rows(download_bytes(page, "Download CSV: Decisions within 6 weeks and plans within 20 weeks")))

    choose_filter(page, "Age band", "5-10")
    assert "age_band=5-10" in page.url
    changed = html_tables(page)[0]
    assert changed != first
    assert same_cells(changed, csv_rows(download_bytes(page, "Download CSV: Decisions within 6 weeks and plans within 20 weeks")))

    screenshot(page, "ehcp-journey-analyst")
    assert axe_violations(page) == []
