"""Education in a real browser (see journey_page_check.py for what is checked)."""
from __future__ import annotations

from tests.browser.journey_page_check import check_journey_page


def test_education_in_the_browser(page, login, demo_users, axe_violations, screenshot):
    check_journey_page(page, login, demo_users["commissioner"], path="education", title="Education",
                       block="GCSE results (Attainment 8) by SEND status", filter_label="Sex", option="Female", url_part="sex=Female",
                       axe_violations=axe_violations, screenshot=screenshot, shot="education-commissioner")
