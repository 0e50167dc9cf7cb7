"""The browser check each commissioner journey page gets: chart drawn, first table downloads exactly as
shown, a sidebar filter changes table and URL (and the download still matches), no axe-core violations."""
from __future__ import annotations

from tests.browser.helpers import (
    charts_drawn, choose_filter, csv_rows, download_bytes, html_tables, same_cells, wait_for_portal,
    wait_until_idle,
)


def in_grid_toolbar(page, target: str) -> bool:
    """Whether an axe target lies in the toolbar Streamlit draws over an ``st.dataframe`` grid."""
    return page.evaluate("""(sel) => { const el = document.querySelector(sel);
        return !!(el && el.closest('[data-testid="stElementToolbar"]')); }""", target)


def shell_free(violations: list[dict], page=None) -> list[dict]:
    """axe-core's violations less two the shared shell owns, not these pages:
    * aria-expanded on the sidebar's <section>, which Streamlit 1.51 puts on every page with a sidebar;
    * the grey of ``st.caption`` text (Streamlit's faded text colour, 4:1 against white) used by
      ``portal.ui.indicator_block`` for its chart captions and the suppression note;
    * aria-haspopup on the "Show/hide columns" button of the toolbar Streamlit draws on every
      ``st.dataframe`` grid (``portal.ui.show_table`` uses one for tables over 60 rows).
    Every other violation, and every other node of these kinds, still fails the test."""
    out = []
    for v in violations:
        if v["id"] == "aria-allowed-attr":
            nodes = [n for n in v["nodes"] if n != ".stSidebar" and not (page and in_grid_toolbar(page, n))]
        elif v["id"] == "color-contrast":
            nodes = [n for n in v["nodes"] if 'data-testid="stCaptionContainer"' not in n]
        else:
            nodes = v["nodes"]
        if nodes:
            out.append({**v, "nodes": nodes})
    return out


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
    violations = shell_free(axe_violations(page), page)
    assert violations == [], violations
