"""How do we compare? in a real browser, over the small demo: first without published figures (the page
says how to load them), then after `python -m portal public load ../shared/real-data` into the running
portal's data directory: real published figures, a topic and area change, a download equal to the table,
a global filter that leaves the published figures alone, and no axe-core violations."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from portal import config
from tests.browser.helpers import (
    charts_drawn, choose_filter, csv_rows, download_bytes, html_tables, same_cells, wait_for_portal, wait_until_idle,
)

REAL = config.REPO_ROOT.parent / "shared" / "real-data"
PAGE = "/how-do-we-compare"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real published data not present")


def public_loaded(server) -> bool:
    live = (server.data_dir / "marts" / "CURRENT").read_text().strip()
    return (server.data_dir / "marts" / live / "public_indicators.parquet").exists()


def load_real_files(server) -> None:
    env = {**os.environ, "SEND_PORTAL_DATA_DIR": str(server.data_dir)}
    done = subprocess.run([sys.executable, "-m", "portal", "public", "load", str(REAL)], cwd=config.REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert public_loaded(server)


def summary_texts(page) -> list[str]:
    return [t.strip() for t in page.get_by_test_id("stMarkdown").all_inner_texts()]


def shows_summary(page, start: str) -> bool:
    """Wait (a redraw can lag the idle signal) for a paragraph starting with ``start``."""
    page.get_by_test_id("stMarkdown").filter(has_text=start).first.wait_for(timeout=60_000)
    return any(t.startswith(start) for t in summary_texts(page))


def test_compare_page_before_and_after_loading_published_figures(
        page, login, demo_users, portal_server, axe_violations, screenshot):
    username, password = demo_users["commissioner"]
    if not public_loaded(portal_server):
        login(page, username, password, path=PAGE)
        page.get_by_role("heading", name="How do we compare?").wait_for()
        assert page.get_by_text("Published national figures have not been loaded yet").count() == 1
        assert page.get_by_text("python -m portal public load FOLDER").count() >= 1
        assert axe_violations(page) == []
        screenshot(page, "compare-not-loaded")
        load_real_files(portal_server)
        page.reload()
        wait_for_portal(page)
    else:
        login(page, username, password, path=PAGE)

    page.get_by_role("heading", name="Headline indicators at a glance").wait_for(timeout=120_000)
    assert shows_summary(page, "Nottinghamshire is better than England on 3 and worse on 2")
    assert charts_drawn(page, at_least=3) == 3
    assert axe_violations(page) == []
    screenshot(page, "compare-headline")

    # Step 2: a topic, whose first indicator is the headline 20-week timeliness figure.
    page.get_by_role("combobox", name="Topic").click()
    page.get_by_role("option", name="EHC plan timeliness", exact=True).click()
    wait_until_idle(page)
    assert shows_summary(page, "Nottinghamshire, 2024: 37.5% (new EHC plans issued within 20 weeks)")

    # Step 3: the other local authority.
    page.get_by_test_id("stRadio").get_by_text("Nottingham", exact=True).click()
    wait_until_idle(page)
    assert shows_summary(page, "Nottingham, 2024: 29.9%")
    tables = html_tables(page)
    latest = next(t for t in tables if t[0][:2] == ["Area", "Compared as"])
    assert latest[1][:4] == ["Nottingham", "Our area", "2024", "29.9"]
    assert ["England", "England", "2024", "45.9"] == latest[2][:4]
    assert sum(1 for row in latest if row[1] == "Statistical neighbour") == 10

    # The CSV download is the table as shown.
    title = "New EHC plans issued within 20 weeks (%): Nottingham and comparators, latest figures"
    rows = csv_rows(download_bytes(page, f"Download CSV: {title}"))
    assert same_cells(latest, rows)

    # A global filter does not change published whole-area figures, and the page says so.
    choose_filter(page, "Sex", "Female")
    assert shows_summary(page, "Nottingham, 2024: 29.9%")
    assert page.get_by_text("as published for whole areas; the filters do not apply").count() >= 3
    assert axe_violations(page) == []
    screenshot(page, "compare-indicator")

    # The address keeps the view: opening it afresh shows the same indicator, area and filter.
    assert "indicator=ehcp_pct_issued_20_weeks" in page.url and "area=892" in page.url
    page.goto(page.url)
    wait_for_portal(page)
    page.get_by_role("heading", name="Headline indicators at a glance").wait_for(timeout=120_000)
    wait_until_idle(page)
    assert shows_summary(page, "Nottingham, 2024: 29.9%")
    assert axe_violations(page) == []
