"""Sign-in in a real browser against a real server: every page guarded, cookies revoked on sign-out,
lockout, and account changes taking effect at once."""
from __future__ import annotations

import pytest

from portal import auth, navigation, ops
from portal.roles import ANALYST, COMMISSIONER, ROLES
from tests.browser.helpers import (sidebar_lines, wait_for_login_form, wait_for_portal,
                                  wait_until_idle)


def signed_in_as(page) -> bool:
    return page.get_by_role("button", name="Sign out").count() > 0


def login_form_shown(page) -> bool:
    return page.get_by_role("textbox", name="Username").count() == 1 and not signed_in_as(page)


def wait_for_login_cookie(context) -> list[dict]:
    """The login cookie is written by the browser after the sign-in run; wait for it to land."""
    for _ in range(100):
        cookies = context.cookies()
        if any(cookie["name"] == auth.COOKIE_NAME for cookie in cookies):
            return cookies
        context.pages[0].wait_for_timeout(100)
    raise AssertionError("the login cookie never arrived")


def test_login_page_is_accessible(page, portal_server, axe_violations, screenshot):
    page.goto(portal_server.url("/"))
    wait_for_portal(page)
    page.get_by_text("Demo sign-ins (synthetic data only)").click()  # the open state is checked too
    wait_until_idle(page)
    screenshot(page, "login")
    assert axe_violations(page) == []  # no sidebar before sign-in, so not even Streamlit's own findings


@pytest.mark.parametrize("role", ROLES)
def test_each_demo_user_signs_in_to_home(page, login, demo_users, screenshot, axe_violations, role):
    username, password = demo_users[role]
    login(page, username, password)
    sidebar = page.get_by_test_id("stSidebar")
    # A link's text is its icon's ligature name, then its label.
    menu = [link.inner_text().strip().splitlines()[-1] for link in sidebar.get_by_test_id("stPageLink").all()]
    assert menu == [spec.title for spec in navigation.pages_for(role)]
    assert page.get_by_role("heading", level=1).first.inner_text().strip()
    assert "could not be shown" not in page.content()
    assert page.get_by_test_id("stMetric").count() == 6  # the headline numbers
    screenshot(page, f"home-{role}")
    assert axe_violations(page) == []


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda spec: spec.url_path)
def test_every_page_url_shows_the_login_form_when_signed_out(page, portal_server, spec):
    page.goto(portal_server.url("/" if spec.default else spec.url_path))
    wait_for_portal(page)
    assert login_form_shown(page)
    assert page.get_by_test_id("stPageLink").count() == 0


def test_a_cookie_copied_before_sign_out_stops_working_after_it(new_context, login, demo_users,
                                                                  portal_server):
    username, password = demo_users[COMMISSIONER]
    first = new_context()
    login(first.new_page(), username, password)
    cookies = wait_for_login_cookie(first)

    # The cookie alone signs in another browser while the session lives ...
    copy = new_context()
    copy.add_cookies(cookies)
    copied_page = copy.new_page()
    copied_page.goto(portal_server.url("/"))
    wait_for_portal(copied_page)
    assert signed_in_as(copied_page)

    # ... and stops working everywhere once the user signs out.
    first.pages[0].get_by_role("button", name="Sign out").click()
    wait_for_login_form(first.pages[0])
    assert login_form_shown(first.pages[0])

    replay = new_context()
    replay.add_cookies(cookies)
    replay_page = replay.new_page()
    replay_page.goto(portal_server.url("/"))
    wait_for_portal(replay_page)
    assert login_form_shown(replay_page)

    copied_page.reload()
    wait_for_portal(copied_page)
    assert login_form_shown(copied_page)
    events = [e["event"] for e in ops.audit_events(username=username, path=portal_server.ops_db)]
    assert "logout" in events and "session_rejected" in events


def test_repeated_failures_lock_the_account(page, portal_server, make_user):
    username, password = make_user(ANALYST)
    page.goto(portal_server.url("/"))
    wait_for_portal(page)
    for attempt in range(ops.LOCKOUT_THRESHOLD):
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(f"wrong-password-{attempt}")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").first.wait_for()
        wait_until_idle(page)
    locked = auth.LOCKED.format(minutes=ops.LOCKOUT_MINUTES)
    assert page.get_by_text(locked).count() == 1
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_until_idle(page)
    assert login_form_shown(page)
    assert page.get_by_text(locked).count() == 1
    assert ops.get_user(username, path=portal_server.ops_db).is_locked()


@pytest.mark.parametrize("change", ["disable", "role"])
def test_disabling_or_changing_role_takes_effect_at_once(page, login, portal_server, make_user, change):
    username, password = make_user(COMMISSIONER)
    login(page, username, password)
    assert "Commissioner" in sidebar_lines(page)
    if change == "disable":
        ops.set_active(username, False, path=portal_server.ops_db)
    else:
        ops.set_role(username, ANALYST, path=portal_server.ops_db)
    page.get_by_test_id("stSidebar").get_by_test_id("stPageLink").first.click()  # any next action
    wait_for_login_form(page)
    assert login_form_shown(page)
    assert page.get_by_text(auth.SESSION_ENDED).count() == 1
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_until_idle(page)
    if change == "disable":
        assert login_form_shown(page)
    else:
        page.get_by_role("button", name="Sign out").wait_for()
        assert "Analyst" in sidebar_lines(page)


def test_a_shared_link_opens_its_page_and_filters_after_sign_in(page, login, demo_users, portal_server):
    shareable = [spec for spec in navigation.pages_for(COMMISSIONER) if not spec.default]
    if not shareable:
        pytest.skip("no page besides home is registered yet")
    spec = shareable[0]
    username, password = demo_users[COMMISSIONER]
    # A slow browser (as on a busy machine) is what once lost the login cookie on the way to the page.
    page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 8})
    login(page, username, password, path=f"/{spec.url_path}?sex=Female")
    assert page.url.split("?")[0].rstrip("/").endswith(spec.url_path)
    assert "sex=Female" in page.url

    # The login cookie survives the jump to the shared page, so a reload stays signed in there.
    wait_for_login_cookie(page.context)
    page.reload()
    wait_for_portal(page)
    assert signed_in_as(page)
    assert page.url.split("?")[0].rstrip("/").endswith(spec.url_path)


def test_a_page_outside_the_role_cannot_be_opened_by_url(page, login, demo_users, portal_server):
    hidden = [spec for spec in navigation.PAGES if not spec.allows(COMMISSIONER)]
    assert hidden, "some page must be closed to commissioners (the GP cohort finder, the audit log)"
    username, password = demo_users[COMMISSIONER]
    login(page, username, password)
    for spec in hidden:
        page.goto(portal_server.url(spec.url_path))
        wait_for_portal(page)
        assert page.url.rstrip("/") == portal_server.base_url  # home, not the page asked for
        headings = [h.strip() for h in page.get_by_role("heading", level=1).all_inner_texts()]
        assert spec.title not in headings
