"""A new user's help, tried as they would: from the home page they find the Help centre, watch a page's
video with captions showing, and follow each journey's walkthrough on its page from first step to last."""
from __future__ import annotations

from portal import help_centre, navigation, walkthrough
from tests.browser.helpers import wait_for_portal, wait_until_idle

# Played muted: headless Chromium refuses to start a video with sound without a user gesture.
VIDEO_STATE = """async (v) => {
    v.muted = true;
    await v.play();
    await new Promise(resolve => setTimeout(resolve, 1500));
    const tracks = [...v.textTracks].map(t => ({kind: t.kind, mode: t.mode, label: t.label,
                                                cues: t.cues ? t.cues.length : 0}));
    const box = v.getBoundingClientRect();
    return {time: v.currentTime, error: v.error && v.error.code, tracks: tracks, width: v.videoWidth,
            shown: box.width > 0 && box.height > 0};
}"""


def play_help_video(page, title: str) -> None:
    """Choose a page in the Help centre and play its video: it must be shown, play, and have captions on."""
    page.get_by_role("combobox", name="Which page do you want help with?").click()
    page.keyboard.type(title)  # narrows the list: it only draws the options that fit on screen
    page.get_by_role("option", name=title, exact=True).click()
    wait_until_idle(page)
    page.get_by_role("heading", name=f"How to use the {title} page").wait_for()
    # The chosen page's video, under its heading (the Help centre's own video sits folded away in its help
    # panel, earlier in the page).
    video = page.get_by_test_id("stMain").locator("video:visible").first
    video.wait_for(timeout=90_000)
    state = video.evaluate(VIDEO_STATE)
    assert state["error"] is None and state["width"] > 0 and state["shown"], (title, state)
    assert state["time"] > 0.5, f"the {title} video did not play: {state}"
    captions = [t for t in state["tracks"] if t["kind"] in ("captions", "subtitles")]
    assert captions and captions[0]["mode"] == "showing", f"{title}: captions are not on: {state['tracks']}"
    assert captions[0]["cues"] > 3, (title, captions)


def test_new_user_finds_help_centre_from_home_and_plays_a_video_with_captions(page, login, demo_users, screenshot):
    login(page, *demo_users["commissioner"])
    page.get_by_role("heading", name="Start here").wait_for()
    # "Start here" and the menu both lead to the Help centre
    page.get_by_test_id("stMain").get_by_role("link", name="Help centre").click()
    page.get_by_role("heading", name="Help centre", level=1).wait_for()
    wait_until_idle(page)

    play_help_video(page, "Waiting lists")
    assert "Step 1 of 5: choose a service" in page.get_by_test_id("stMain").inner_text()  # the transcript
    screenshot(page, "help-centre-video")

    # the glossary answers a word a new user meets on the home page
    page.get_by_role("textbox", name="Find a word").fill("EHCP")
    page.keyboard.press("Enter")
    wait_until_idle(page)
    assert "Education, health and care plan" in page.get_by_test_id("stMain").inner_text()


def test_each_journey_walkthrough_can_be_followed_from_its_page(page, login, demo_users, portal_server):
    login(page, *demo_users["commissioner"])
    for spec in navigation.pages_for("commissioner"):
        name = spec.path.removeprefix("pages/").removesuffix(".py")
        guide = walkthrough.load(name)
        page.goto(portal_server.url(spec.url_path))
        wait_for_portal(page)
        page.get_by_role("heading", level=1).first.wait_for()
        wait_until_idle(page)
        page.get_by_role("button", name=f"Start the walkthrough ({len(guide.steps)} steps)").click()
        for step in guide.steps:
            page.get_by_text(step.label, exact=True).wait_for()
            wait_until_idle(page)
            button = "Next step" if step.number < len(guide.steps) else "Finish"
            page.get_by_role("button", name=button).click()
        wait_until_idle(page)
        assert page.get_by_text(guide.steps[-1].label, exact=True).count() == 0, spec.url_path
        # the page's own video is in its help panel, with captions
        page.get_by_text("How to use this page (short walkthrough)").first.click()
        wait_until_idle(page)
        video = page.locator("video").first
        video.wait_for(state="attached")
        assert video.locator("track").count() >= 1, f"{spec.url_path}: no captions track"


def test_every_pages_video_plays_with_captions(new_context, login, demo_users):
    """Each page's video, played from the Help centre by someone who may open that page: the administrator
    sees every page but the GP cohort finder, which a GP sees."""
    played = set()
    for role in ("admin", "gp"):
        page = new_context().new_page()
        login(page, *demo_users[role], path="/help-centre")
        page.get_by_role("heading", name="Help centre", level=1).wait_for()
        wait_until_idle(page)
        for video in help_centre.videos_for(role):
            if video.page in played:
                continue
            assert video.video is not None, f"no video for {video.title}"
            play_help_video(page, video.title)
            played.add(video.page)
    assert played == {help_centre.page_name(spec) for spec in navigation.PAGES}
