"""Accessibility sweep (SPEC §6, WCAG 2.2 AA): axe-core finds no violation on any page for any role that
may see it, with the page's walkthrough started and its help panel open, and every chart has a text
alternative and a table."""
from __future__ import annotations

import json

import pytest

from portal import navigation
from portal.roles import ROLES
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import WORDS_SPLIT_ACROSS_LINES, charts_drawn, wait_for_portal, wait_until_idle
from tests.journey_checks import CHARTED_ON_OPENING


def open_page(page, portal_server, spec) -> None:
    page.goto(portal_server.url(spec.url_path))
    wait_for_portal(page)
    page.get_by_role("heading", level=1).first.wait_for()
    wait_until_idle(page)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_passes_axe_for_every_role(role, page, login, demo_users, portal_server, axe_violations,
                                              screenshot):
    login(page, *demo_users[role])
    found = {}
    for spec in navigation.pages_for(role):
        open_page(page, portal_server, spec)
        violations = axe_violations(page)
        # the same page with its help open: the walkthrough box and the help panel (video, captions)
        start = page.get_by_role("button", name="Start the walkthrough")
        if start.count():
            start.first.click()
            wait_until_idle(page)
            page.get_by_text("How to use this page (short walkthrough)").first.click()
            wait_until_idle(page)
            violations += [v for v in axe_violations(page) if v not in violations]
        if violations:
            screenshot(page, f"axe-{role}-{spec.url_path}")
            found[spec.url_path] = violations
    if found:
        (ARTIFACTS / f"axe-{role}.json").write_text(json.dumps(found, indent=2))
    assert found == {}, found


@pytest.mark.parametrize("role", ["commissioner", "analyst"])
def test_every_chart_has_a_text_alternative_and_a_table(role, page, login, demo_users, portal_server):
    login(page, *demo_users[role])
    for spec in navigation.pages_for(role):
        open_page(page, portal_server, spec)
        if spec.path.removeprefix("pages/").removesuffix(".py") in CHARTED_ON_OPENING:
            charts_drawn(page, at_least=1)  # the browser draws charts a moment after the text
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        for index in range(charts.count()):
            chart = charts.nth(index)
            # vega-embed puts the chart's description on the graphic as its accessible name
            label = chart.locator("[aria-label], [role='graphics-document']").first
            label.wait_for(state="attached")  # fails here if the chart never gets a text alternative
            assert (label.get_attribute("aria-label") or "").strip(), f"{spec.url_path}: chart {index + 1}"
        if charts.count():
            tables = page.locator('[data-testid="stTable"], [data-testid="stDataFrame"]').count()
            assert tables >= 1, f"{spec.url_path} has charts but no table"


def test_no_table_breaks_a_word_or_a_number_across_lines(page, login, demo_users, portal_server):
    """Table cells wrap between words, never inside one: Streamlit's Markdown lets a squeezed column print
    "Reque" over "sts", or a count of 120621 as "1206" over "21", which reads as two numbers. The analyst
    sees the widest tables (every count unrounded, twelve columns on EHCP journey)."""
    login(page, *demo_users["analyst"])
    split = {}
    for spec in navigation.pages_for("analyst"):
        open_page(page, portal_server, spec)
        words = page.evaluate(WORDS_SPLIT_ACROSS_LINES)
        if words:
            split[spec.url_path] = sorted(set(words))
    assert split == {}, split


def test_a_table_that_scrolls_in_a_narrow_window_can_be_reached_from_the_keyboard(
        new_context, login, demo_users, portal_server, axe_violations):
    """WCAG 2.1.1: a table wider than its box scrolls inside it; the box takes keyboard focus (portal/a11y.py)
    so the arrow keys can scroll it, and gives it up again when the table fits. The portal's tables wrap to
    fit a phone's width, so a wide table is made here with a minimum width."""
    page = new_context().new_page()
    login(page, *demo_users["clinician"])
    open_page(page, portal_server, next(s for s in navigation.pages_for("clinician")
                                        if s.url_path == "waiting-lists"))
    boxes = page.locator('[data-testid="stTable"] > div')
    boxes.last.wait_for()
    assert page.locator('[data-testid="stTable"] > div[tabindex]').count() == 0, "tables that fit take no focus"
    page.add_style_tag(content='[data-testid="stTable"] table { min-width: 1600px; }')
    page.set_viewport_size({"width": 420, "height": 900})  # the boxes change size: the repair looks again
    scrolling = page.locator('[data-testid="stTable"] > div[tabindex="0"]')
    page.wait_for_function("n => document.querySelectorAll('[data-testid=\"stTable\"] > div[tabindex=\"0\"]')"
                           ".length === n", arg=boxes.count())
    box = scrolling.first
    box.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("b => b.scrollLeft > 0", arg=box.element_handle())
    assert [v for v in axe_violations(page) if v["id"] == "scrollable-region-focusable"] == []
    page.add_style_tag(content='[data-testid="stTable"] table { min-width: 0; }')
    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stTable\"] > div[tabindex]')")
