"""Transitions (14 to 25) in a real browser (see journey_page_check.py for what is checked)."""
from __future__ import annotations

from tests.browser.journey_page_check import check_journey_page


def test_transitions_in_the_browser(page, login, demo_users, axe_violations, screenshot):
    check_journey_page(page, login, demo_users["gp"], path="transitions", title="Transitions (14 to 25)",
                       block="GP consultations per person a year, by age", filter_label="Sex", option="Female", url_part="sex=Female",
                       axe_violations=axe_violations, screenshot=screenshot, shot="transitions-gp")
