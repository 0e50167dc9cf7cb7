"""Survey feedback in a real browser (see journey_page_check.py for what is checked)."""
from __future__ import annotations

from tests.browser.journey_page_check import check_journey_page


def test_survey_feedback_in_the_browser(page, login, demo_users, axe_violations, screenshot):
    check_journey_page(page, login, demo_users["commissioner"], path="survey-feedback", title="Survey feedback",
                       block="Average score by locality", filter_label="Period", option="All years", url_part="period=All",
                       axe_violations=axe_violations, screenshot=screenshot, shot="survey-feedback-commissioner")
