"""Sleep services in a real browser: the map is drawn offline and the summary names the two planted
localities; the need table downloads as shown; a filter changes it; no axe-core violations."""
from __future__ import annotations

import json
from pathlib import Path

from tests.browser.helpers import (choose_filter, csv_rows, download_bytes, html_tables, same_cells,
                                    wait_until_idle)


def test_sleep_services_in_the_browser(page, login, demo_users, small_demo, axe_violations, screenshot):
    truth = json.loads(next(Path(small_demo).rglob("ground_truth.json")).read_text())
    login(page, *demo_users["commissioner"])
    page.goto(page.url.rsplit("/", 1)[0] + "/sleep-services")
    page.get_by_role("heading", name="Sleep services", level=1).wait_for()
    wait_until_idle(page)

    summary = page.get_by_text("The need for a sleep service is highest in").first
    for locality in truth["melatonin"]["localities"]:
        assert locality in summary.inner_text()
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.wait_for()
    assert chart.bounding_box()["height"] > 300  # the map itself, not an empty frame

    need = html_tables(page)[0]
    assert need[0][0] == "Locality" and len(need) == len(truth["localities"]) + 1
    title = "Where the need is: children on melatonin per 1,000, by locality"
    assert same_cells(need, csv_rows(download_bytes(page, f"Download CSV: {title}")))
    screenshot(page, "sleep-services-commissioner")

    choose_filter(page, "SEND status", "EHCP")
    assert "send_status=EHCP" in page.url
    ehcp = html_tables(page)[0]
    assert ehcp != need
    assert same_cells(ehcp, csv_rows(download_bytes(page, f"Download CSV: {title}")))
    assert axe_violations(page) == []
