"""In-page walkthroughs: every page's walkthrough file follows the format, and a user can start one, step
through it ("Step 2 of 5: ...") and leave it on a real page."""
from __future__ import annotations

import textwrap

import pytest

from portal import config, navigation, walkthrough

PAGE = """
import streamlit as st
from portal import ui
from portal.roles import User
st.session_state.setdefault("portal_user", User("comm", "Commissioner", "commissioner"))
user, filters = ui.page_setup("Waiting lists", {page_file!r})
st.write("page body")
"""


def test_bold_step_format_is_parsed():
    guide = walkthrough.parse(textwrap.dedent("""\
        # Walkthrough: find a wait

        **Step 1 of 2: choose a service.** Use the "Service" box,
        for example **Autism assessment**.

        **Step 2 of 2: read the summary.**
        """), "demo")
    assert guide.title == "find a wait"
    assert [step.label for step in guide.steps] == ["Step 1 of 2: choose a service", "Step 2 of 2: read the summary"]
    assert guide.steps[0].body == 'Use the "Service" box, for example **Autism assessment**.'
    assert guide.steps[0].narration == ('Step 1 of 2: choose a service. Use the "Service" box, for example '
                                        'Autism assessment.')
    assert guide.steps[1].body == ""


def test_numbered_list_is_parsed():
    guide = walkthrough.parse("1. Pick a locality. Use the sidebar.\n2. Read the chart.")
    assert [(s.label, s.body) for s in guide.steps] == [
        ("Step 1 of 2: pick a locality", "Use the sidebar."), ("Step 2 of 2: read the chart", "")]


@pytest.mark.parametrize("text", [
    "**Step 1 of 3: one.** a\n\n**Step 2 of 3: two.** b",          # the total is wrong
    "**Step 1 of 2: one.** a\n\n**Step 3 of 2: three.** b",        # a step is skipped
    "Just some text without steps.",
    "",
])
def test_malformed_walkthroughs_are_refused(text):
    with pytest.raises(walkthrough.WalkthroughError):
        walkthrough.parse(text, "bad")


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda spec: spec.url_path)
def test_every_page_has_a_plain_walkthrough(spec):
    page = spec.path.removeprefix("pages/").removesuffix(".py")
    guide = walkthrough.load(page)
    assert guide is not None, f"pages/{page}.walkthrough.md is missing"
    assert 2 <= len(guide.steps) <= 6
    for step in guide.steps:
        assert step.body, f"{step.label} says nothing"
        words = step.narration.split()
        # plain English: short steps of short sentences
        assert len(words) <= 75, f"{step.label} is too long ({len(words)} words)"
        sentences = [s for s in step.narration.replace("?", ".").split(". ") if s]
        assert max(len(s.split()) for s in sentences) <= 30, step.label


def test_start_step_through_and_leave(tiny_marts, tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "page.py"
    script.write_text(PAGE.format(page_file=str(config.PAGES_DIR / "waiting_lists.py")))
    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert not at.exception

    def labels():
        return [b.label for b in at.button]

    def step_text():
        # the box's heading is the step's label alone (the help panel shows the whole text)
        return [m.value for m in at.markdown if m.value.startswith("**Step ") and m.value.endswith("**")]

    guide = walkthrough.load("waiting_lists")
    total = len(guide.steps)
    assert f"Start the walkthrough ({total} steps)" in labels()
    assert step_text() == []

    at.button(key="walkthrough-start-waiting_lists").click().run()
    assert step_text() == [f"**Step 1 of {total}: choose a service**"]
    assert at.button(key="walkthrough-back-waiting_lists").disabled
    assert any("Service" in m.value for m in at.markdown)

    at.button(key="walkthrough-next-waiting_lists").click().run()
    assert step_text() == [f"**{guide.steps[1].label}**"]
    at.button(key="walkthrough-back-waiting_lists").click().run()
    assert step_text() == [f"**{guide.steps[0].label}**"]
    for _ in range(total - 1):
        at.button(key="walkthrough-next-waiting_lists").click().run()
    assert step_text() == [f"**{guide.steps[-1].label}**"]
    assert "Finish" in labels() and "Next step" not in labels()

    at.button(key="walkthrough-leave-waiting_lists").click().run()
    assert step_text() == [] and f"Start the walkthrough ({total} steps)" in labels()
    assert not at.exception and "page body" in [m.value for m in at.markdown]


def test_finish_closes_the_walkthrough(tiny_marts, tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "page.py"
    script.write_text(PAGE.format(page_file=str(config.PAGES_DIR / "transitions.py")))
    at = AppTest.from_file(str(script), default_timeout=30)
    at.session_state[walkthrough.state_key("transitions")] = 99  # a stale step number is clamped
    at.run()
    assert "**Step 3 of 3: find who is missed**" in [m.value for m in at.markdown]
    at.button(key="walkthrough-finish-transitions").click().run()
    assert walkthrough.state_key("transitions") not in at.session_state
