"""Help centre and accessibility statement: the right videos per role, transcripts, glossary search, and
both pages drawn for a signed-in user without any error."""
from __future__ import annotations

import pytest

from portal import config, glossary, help_centre, navigation
from portal.roles import ROLES, User


@pytest.mark.parametrize("role", ROLES)
def test_videos_listed_are_the_pages_the_role_may_open(role):
    videos = help_centre.videos_for(role)
    assert [v.title for v in videos] == [spec.title for spec in navigation.pages_for(role)]
    for video in videos:
        assert video.transcript.strip(), f"{video.page} has no transcript or walkthrough"
        if video.video is not None:
            assert video.captions is not None, f"{video.page}'s video has no captions"


def test_gp_cohort_help_is_only_for_gps():
    assert "gp_cohort_finder" in [v.page for v in help_centre.videos_for("gp")]
    assert "gp_cohort_finder" not in [v.page for v in help_centre.videos_for("commissioner")]


def test_glossary_search_matches_terms_meanings_and_other_names():
    everything = help_centre.glossary_table(glossary.entries())
    assert len(everything) == len(glossary.entries())
    found = help_centre.glossary_table(glossary.entries(), "  attainment ")
    assert "Attainment 8" in set(found["Word"])
    assert len(found) < len(everything)
    assert help_centre.glossary_table(glossary.entries(), "zzzz-not-a-word").empty


def test_video_table_has_a_row_per_video():
    videos = help_centre.videos_for("analyst")
    table = help_centre.video_table(videos)
    assert list(table["Page"]) == [v.title for v in videos]
    assert set(table["Captions"]) <= {"Yes", "No"}


def _signed_in_on(page: str, users, role: str = "commissioner"):
    """The real entry point, signed in through the form, then the page opened from the menu's registry."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(config.REPO_ROOT / "portal" / "app.py"), default_timeout=120).run()
    fields = {box.label: box for box in at.text_input}
    fields["Username"].input(users[role])
    fields["Password"].input(users.password)
    next(button for button in at.button if button.label == "Sign in").click().run()
    # AppTest.switch_page hashes the file name, but st.Page(url_path=...) pages are keyed by their URL
    # path (streamlit/navigation/page.py), so select the page the way the navigation does.
    from streamlit.util import calc_md5

    spec = next(spec for spec in navigation.PAGES if spec.path == f"pages/{page}.py")
    at._page_hash = calc_md5(spec.url_path)
    return at.run()


@pytest.mark.parametrize("page", ["help_centre", "accessibility"])
@pytest.mark.parametrize("role", ["commissioner", "admin"])
def test_pages_draw_for_a_signed_in_user(page, role, tiny_marts, portal_users):
    at = _signed_in_on(page, portal_users, role)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.title[0].value in {"Help centre", "Accessibility statement"}
    assert any(b.label.startswith("Start the walkthrough") for b in at.button)


def test_help_centre_shows_the_chosen_pages_help(tiny_marts, portal_users):
    at = _signed_in_on("help_centre", portal_users)
    at.selectbox(key="help_centre_page").set_value("waiting_lists").run()
    assert "How to use the Waiting lists page" in [s.value for s in at.subheader]
    assert any("Step 1 of 5: choose a service" in t.value for t in at.text)
    glossary_rows = len(help_centre.glossary_table(glossary.entries()))
    at.text_input(key="help_centre_word").input("EHCP").run()
    assert not at.exception
    assert 0 < len(at.table[-1].value) < glossary_rows


def test_accessibility_statement_has_the_required_sections():
    text = (config.REPO_ROOT / "docs" / "accessibility-statement.md").read_text()
    for section in ("How accessible this portal is", "Feedback and contact information", "Enforcement procedure",
                    "Equality and Human Rights Commission", "Compliance status", "Non-accessible content",
                    "Preparation of this accessibility statement", "WCAG", "partially compliant"):
        assert section in text, section
