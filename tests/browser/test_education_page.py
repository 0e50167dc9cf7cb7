"""Education in a real browser (see journey_page_check.py for what is checked)."""
from __future__ import annotations

from tests.browser.journey_page_check import check_journey_page


def test_education_in_the_browser(page, login, demo_users, axe_violations, screenshot):
    check_journey_page(page, login, demo_users["commissioner"], path="education", title="Education",
                       block="GCSE results (Attainment 8) by SEND status", filter_label="Sex", option="Female", url_part="sex=Female",
                       axe_violations=axe_violations, screenshot=screenshot, shot="education-commissioner")


def test_bars_grouped_for_a_single_group_are_drawn_thick_enough_to_see(page, login, demo_users):
    """A chart drawn to the page's width is fitted into its height with its axis and legend, so the grouped
    bars of one group (the whole area, the page's opening breakdown) were once 3 pixels thick: the attainment
    gap (EHCP and SEN support) and absence (three SEND statuses) charts. Health services uses the same
    height (journeys.common.grouped_bar_chart_height)."""
    login(page, *demo_users["commissioner"], path="/education")
    page.get_by_role("heading", name="Attainment gap for the whole area").wait_for()
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.nth(3).locator("g.mark-rect path").first.wait_for()
    grouped = [heights for heights in charts.evaluate_all(
        "charts => charts.map(c => [...c.querySelectorAll('g.mark-rect path')].map(p => p.getBoundingClientRect().height))")
        if heights]
    assert [len(heights) for heights in grouped] == [2, 3], grouped
    assert min(min(heights) for heights in grouped) >= 15, grouped
