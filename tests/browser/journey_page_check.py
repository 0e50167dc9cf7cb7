"""The browser check each commissioner journey page gets: chart drawn, first table downloads exactly as
shown, a sidebar filter changes table and URL (and the download still matches), no axe-core violations."""
from __future__ import annotations

from tests.browser.helpers import (
    charts_drawn, choose_filter, csv_rows, download_bytes, html_tables, same_cells, wait_for_portal,
    wait_until_idle,
)


def check_journey_page(page, login, account, *, path: str, title: str, block: str, filter_label: str,
                       option: str, url_part: str, axe_violations, screenshot, shot: str) -> None:
    login(page, *account)
    page.goto(page.url.rsplit("/", 1)[0] + "/" + path)
    page.get_by_role("heading", name=title, level=1).wait_for()
    wait_until_idle(page)
    assert charts_drawn(page, at_least=1) >= 1

    first = html_tables(page)[0]
    assert len(first) > 1
    assert same_cells(first, csv_rows(download_bytes(page, f"Download CSV: {block}")))
    wait_until_idle(page)
    screenshot(page, shot)

    choose_filter(page, filter_label, option)
    assert url_part in page.url
    changed = html_tables(page)[0]
    assert changed != first
    assert same_cells(changed, csv_rows(download_bytes(page, f"Download CSV: {block}")))
    # the view lives in the URL: reloading it gives the same table (and a filter box with no dangling
    # reference to a closed option list, which BaseWeb leaves behind after a choice)
    page.reload()
    wait_for_portal(page)
    page.get_by_role("heading", name=title, level=1).wait_for()
    assert html_tables(page)[0] == changed
    violations = axe_violations(page)
    assert violations == [], violations
