"""Health services use in a real browser (see journey_page_check.py for what is checked)."""
from __future__ import annotations

from tests.browser.journey_page_check import check_journey_page


def test_health_services_in_the_browser(page, login, demo_users, axe_violations, screenshot):
    check_journey_page(page, login, demo_users["analyst"], path="health-services", title="Health services use",
                       block="A&E attendances per 1,000 a month, month by month", filter_label="Sex", option="Male", url_part="sex=Male",
                       axe_violations=axe_violations, screenshot=screenshot, shot="health-services-analyst")
