"""The global filters in a real browser: a shared URL, hostile URL values, and the sidebar's accessibility."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

from tests.browser.conftest import _first
from tests.browser.helpers import choose_filter, html_tables, wait_until_idle

PAGE = "/waiting-lists"
ATTACKS = {
    "locality": "Eastfield' OR '1'='1",
    "sex": "'; DROP TABLE dim_person; --",
    "period": "{{ filters }}",
    "imd_quintile": "1 OR 1=1",
    "send_status": "<script>alert(1)</script>",
    "primary_need": "$scope_practice_code",
}


def _combobox_value(page, label: str) -> str:
    return page.get_by_test_id("stSidebar").get_by_role("combobox", name=label).input_value() or \
        page.get_by_test_id("stSidebar").get_by_role("combobox", name=label).locator("..").inner_text()


def _sidebar_choice(page, label: str) -> str:
    """The option shown in a sidebar filter box."""
    box = page.get_by_test_id("stSidebar").locator('[data-testid="stSelectbox"]').filter(has_text=label)
    return box.locator('[data-baseweb="select"]').inner_text().strip()


def test_a_shared_url_reproduces_the_filtered_view_for_another_user(
        new_context, login, demo_users, make_user, portal_server, screenshot):
    locality = _first(portal_server, "SELECT min(locality) FROM dim_locality")
    first = login(new_context().new_page(), *demo_users["commissioner"], path=PAGE)
    choose_filter(first, "Locality", locality)
    choose_filter(first, "SEND status", "SEN support")
    choose_filter(first, "Period", "Last 3 years")
    shared = first.url
    assert {"locality", "send_status", "period"} <= set(p.split("=")[0] for p in urlsplit(shared).query.split("&"))
    tables = html_tables(first)
    assert tables

    username, password = make_user("commissioner")
    split = urlsplit(shared)
    second = login(new_context().new_page(), username, password, path=f"{split.path}?{split.query}")
    wait_until_idle(second)
    assert urlsplit(second.url).path == PAGE
    assert _sidebar_choice(second, "Locality") == locality
    assert _sidebar_choice(second, "SEND status") == "SEN support"
    assert _sidebar_choice(second, "Period") == "Last 3 years"
    assert html_tables(second) == tables
    screenshot(second, "filters-shared-url")


def test_hostile_url_values_fall_back_with_a_notice_and_nothing_breaks(new_context, login, demo_users, screenshot):
    query = "&".join(f"{name}={quote(value)}" for name, value in ATTACKS.items())
    page = login(new_context().new_page(), *demo_users["commissioner"], path=f"{PAGE}?{query}")
    wait_until_idle(page)
    notices = page.locator('[data-testid="stAlertContentInfo"]').all_inner_texts()
    assert len(notices) == 1, notices  # one short notice, naming the filters, not echoing the values
    for label in ("Locality", "Sex", "Period", "Deprivation (IMD quintile)", "SEND status", "Primary need"):
        assert label in notices[0]
    assert "DROP" not in notices[0] and "script" not in notices[0]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    assert _sidebar_choice(page, "Locality") == "All localities"
    assert _sidebar_choice(page, "Period") == "Last 12 months"
    assert html_tables(page), "the page still shows its figures"
    assert page.evaluate("() => window.__xss === undefined")
    assert "%27" not in page.url and "DROP" not in page.url  # the URL is corrected to what is shown
    screenshot(page, "filters-hostile-url")


def test_the_filter_sidebar_has_no_accessibility_violations(new_context, login, demo_users, axe_violations):
    page = login(new_context().new_page(), *demo_users["commissioner"], path=PAGE)
    assert axe_violations(page, within='[data-testid="stSidebar"]') == []
