"""Small helpers the browser tests share (fixtures live in conftest.py)."""
from __future__ import annotations

READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def wait_until_idle(page, timeout: float = 60_000) -> None:
    """Wait for the current script run to finish (give a just-triggered run a moment to start)."""
    page.wait_for_timeout(200)
    page.wait_for_selector(READY, timeout=timeout)


def wait_for_portal(page, timeout: float = 90_000) -> None:
    """Wait until the portal has drawn either the sign-in form or a signed-in page, then is idle.

    Waiting for the app to be idle alone is not enough just after a page load: before the first run
    starts the app also reports that it is not running."""
    form = page.get_by_role("textbox", name="Username")
    signed_in = page.get_by_role("button", name="Sign out")
    form.or_(signed_in).first.wait_for(timeout=timeout)
    wait_until_idle(page, timeout)


def sidebar_lines(page) -> list[str]:
    return [line.strip() for line in page.get_by_test_id("stSidebar").inner_text().splitlines() if line.strip()]


def charts_drawn(page, at_least: int, timeout: float = 30_000) -> int:
    """How many charts the page shows, once at least ``at_least`` are there: the browser draws a chart a
    moment after the text around it (it loads the chart code on first use), so counting at once can
    find none."""
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.nth(at_least - 1).wait_for(state="attached", timeout=timeout)
    return charts.count()


def wait_for_login_form(page, timeout: float = 60_000) -> None:
    page.get_by_role("textbox", name="Username").wait_for(timeout=timeout)
    wait_until_idle(page, timeout)


def html_tables(page) -> list[list[list[str]]]:
    """Every HTML table on the page (``st.table``), as rows of cell texts, header row first."""
    return page.locator('[data-testid="stTable"] table').evaluate_all(
        "tables => tables.map(t => [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim())))")


def download_bytes(page, button_name: str) -> bytes:
    """Click a download button and return the file it delivers."""
    from pathlib import Path

    with page.expect_download() as info:
        page.get_by_role("button", name=button_name).click()  # the name also holds the icon's text
    data = Path(info.value.path()).read_bytes()
    settle(page)  # the click records the export on the server, which reruns the page
    return data


def csv_rows(data: bytes) -> list[list[str]]:
    import csv
    import io

    return [row for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))]


def same_cells(table: list[list[str]], rows: list[list[str]]) -> bool:
    """A downloaded CSV holds what the table shows (numbers compared as the table rounds them)."""
    def norm(cell: str) -> str:
        cell = cell.strip()
        try:
            number = float(cell.replace(",", ""))
        except ValueError:
            return cell
        return f"{number:.1f}"

    return [[norm(c) for c in row] for row in table] == [[norm(c) for c in row] for row in rows]


def choose_filter(page, label: str, option: str) -> None:
    """Pick an option in one of the sidebar's filter boxes and wait for the page to redraw."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def settle(page) -> None:
    """Wait for the run to finish and for the previous run's elements, which fade out (reduced opacity) until
    replaced, to be gone; a contrast check on fading text would fail."""
    wait_until_idle(page)
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=30_000)


def streamlit_shell_violation(violation: dict) -> bool:
    """axe-core findings Streamlit 1.51 itself puts on every page, whatever the page draws: aria-expanded on
    the sidebar's plain element, and a select box whose aria-activedescendant still points at the option list
    it has closed. They are the framework's (tracked for the app shell); pages must be clean of everything else."""
    if violation["id"] == "aria-allowed-attr":
        return violation["nodes"] == [".stSidebar"]
    if violation["id"] == "aria-valid-attr-value":
        return all('data-baseweb="select"' in node or 'aria-label="Selected ' in node for node in violation["nodes"])
    return False


def page_violations(axe_violations, page) -> list[dict]:
    """The page's own axe-core violations (see streamlit_shell_violation)."""
    return [v for v in axe_violations(page) if not streamlit_shell_violation(v)]
