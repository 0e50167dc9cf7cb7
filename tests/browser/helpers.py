"""Small helpers the browser tests share (fixtures live in conftest.py)."""
from __future__ import annotations

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


# Lets wait_until_idle tell whether the last action started a script run, and wait for that run rather
# than for a fixed time: under load the server may start it well after the click returns.
# - Streamlit sets data-test-script-state to "running" while a run is under way; each change away from
#   "running" is a run ending (attributeOldValue keeps the value at the time of the change, so a run that
#   starts and ends between two observer callbacks still counts).
# - A click, or Enter or Space on the keyboard, is an action that may start a run; the number of runs
#   finished at that moment is kept, so a run counts only if it ends after the action. Opening an
#   expander or a tab is drawn by the browser alone, and a download button fetches its file without a
#   run, so they are not actions here.
COUNT_SCRIPT_RUNS = """
window.__portalRunsFinished = 0;
window.__portalRunsAtAction = null;
new MutationObserver(records => {
  for (const record of records) {
    if (record.oldValue === "running") window.__portalRunsFinished += 1;
  }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ["data-test-script-state"]});
const noteAction = event => {
  if (event.target instanceof Element && event.target.closest('summary, [role="tab"], [data-testid="stDownloadButton"]')) return;
  window.__portalRunsAtAction = window.__portalRunsFinished;
};
document.addEventListener("click", noteAction, true);
document.addEventListener("keydown", event => {
  if (event.key === "Enter" || event.key === " ") noteAction(event);
}, true);
"""

# How long an action may take to start its run. Actions that start none (a download, opening an
# expander) pay this wait in full, so it is kept short of the test timeouts but well above the start
# delays seen on a busy machine (up to about 1 s).
RUN_START_WAIT_MS = 3_000


def wait_until_idle(page, timeout: float = 60_000) -> None:
    """Wait until no script run is under way, including the run the last action (a click, Enter or
    Space since the last call) started, however late the server starts it."""
    try:
        page.wait_for_function(
            """() => window.__portalRunsAtAction === null
                     || window.__portalRunsFinished > window.__portalRunsAtAction
                     || document.querySelector('[data-test-script-state="running"]') !== null""",
            timeout=RUN_START_WAIT_MS,
        )
    except PlaywrightTimeoutError:
        pass  # the action started no run (a download button, say): the app is idle already
    page.wait_for_selector(READY, timeout=timeout)
    page.evaluate("window.__portalRunsAtAction = null")


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
    """Every HTML table on the page (``st.table``), as rows of cell texts, header row first.

    Waits for the first table: after a page load the browser draws tables a moment after the run ends (it
    loads the table's code on first use), and then draws them all at once."""
    tables = page.locator('[data-testid="stTable"] table')
    tables.first.wait_for()
    return tables.evaluate_all(
        "tables => tables.map(t => [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim())))")


def download_bytes(page, button_name: str) -> bytes:
    """Click a download button and return the file it delivers."""
    from pathlib import Path

    with page.expect_download() as info:
        page.get_by_role("button", name=button_name).click()  # the name also holds the icon's text
    data = Path(info.value.path()).read_bytes()
    settle(page)  # the download starts no run; the file was audited on the server before it was sent
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




# Every word of a table cell that the browser has laid out over more than one line, read from the boxes of
# its text (a Range's client rects). A word may break after a hyphen ("Child-" / "months"), as print does, so
# words are taken up to and including a hyphen.
WORDS_SPLIT_ACROSS_LINES = """() => {
  const split = [];
  for (const cell of document.querySelectorAll('[data-testid="stTable"] th, [data-testid="stTable"] td')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/[^\\s-]+-?/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) split.push(word[0]);
      }
    }
  }
  return split;
}"""
