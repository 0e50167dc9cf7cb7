"""Navigation from the role: each role's menu, and pages outside it unreachable by URL (AppTest)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from portal import config, navigation
from portal.roles import ANALYST, COMMISSIONER, ROLES

APP = str(config.REPO_ROOT / "portal" / "app.py")


def sign_in(username: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    fields = {box.label: box for box in at.text_input}
    fields["Username"].input(username)
    fields["Password"].input(password)
    next(button for button in at.button if button.label == "Sign in").click().run()
    return at.run()


def menu(at: AppTest) -> list[str]:
    return [link.proto.label for link in at.get("page_link")]


def relative_to_app(path: Path) -> str:
    return os.path.relpath(path, Path(APP).parent)


def test_registry_is_well_formed():
    assert sum(spec.default for spec in navigation.PAGES) == 1
    assert len({spec.url_path for spec in navigation.PAGES}) == len(navigation.PAGES)
    for spec in navigation.PAGES:
        assert Path(spec.absolute_path).is_file(), f"{spec.path} is registered but missing"
        assert spec.roles <= set(ROLES)
        assert spec.absolute_path.startswith(str(config.PAGES_DIR))
    # Streamlit would serve files beside the entry script's pages/ folder without sign-in.
    assert not (Path(APP).parent / "pages").exists()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_its_pages(tiny_marts, portal_users, role):
    at = sign_in(portal_users[role], portal_users.password)
    assert not at.exception
    assert at.session_state["portal_user"].role == role
    assert menu(at) == [spec.title for spec in navigation.pages_for(role)]


@pytest.fixture
def analyst_only_page(tmp_path, monkeypatch):
    """A real page restricted to analysts, registered for the length of one test."""
    page = tmp_path / "analyst_only.py"
    page.write_text("import streamlit as st\nst.header('Analyst-only workbench')\n")
    # AppTest.switch_page finds a page by its file name, so the URL path matches it here.
    spec = navigation.PageSpec(str(page), "Analyst workbench", ":material/lock:", "analyst_only",
                               frozenset({ANALYST}), section="Data")
    monkeypatch.setattr(navigation, "PAGES", [*navigation.PAGES, spec])
    return page


def test_page_outside_the_role_is_absent_and_unreachable_by_url(tiny_marts, portal_users, analyst_only_page):
    at = sign_in(portal_users[COMMISSIONER], portal_users.password)
    assert "Analyst workbench" not in menu(at)
    at.switch_page(relative_to_app(analyst_only_page)).run()
    assert not at.exception
    assert "Analyst-only workbench" not in [h.value for h in at.header]

    at = sign_in(portal_users[ANALYST], portal_users.password)
    assert "Analyst workbench" in menu(at)
    at.switch_page(relative_to_app(analyst_only_page)).run()
    assert "Analyst-only workbench" in [h.value for h in at.header]


def test_every_registered_page_shows_the_login_form_when_signed_out(tiny_marts, portal_users):
    for spec in navigation.PAGES:
        at = AppTest.from_file(APP, default_timeout=60)
        at.switch_page(relative_to_app(Path(spec.absolute_path))).run()
        assert not at.exception
        assert [box.label for box in at.text_input] == ["Username", "Password"], spec.path
        assert "portal_user" not in at.session_state
        assert menu(at) == []
