"""Inequalities in a real browser (see journey_page_check.py for what is checked)."""
from __future__ import annotations

from tests.browser.journey_page_check import check_journey_page


def test_inequalities_in_the_browser(page, login, demo_users, axe_violations, screenshot):
    check_journey_page(page, login, demo_users["commissioner"], path="inequalities", title="Inequalities",
                       block="Children with an EHCP by ethnicity, against the area", filter_label="Sex", option="Female", url_part="sex=Female",
                       axe_violations=axe_violations, screenshot=screenshot, shot="inequalities-commissioner")
