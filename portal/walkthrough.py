"""In-page guided walkthroughs, driven by the text file next to each page (``pages/<page>.walkthrough.md``).

A walkthrough file is plain English, one paragraph per step::

    # Walkthrough: what the user will do          (optional heading)

    **Step 1 of 4: choose a service.** Use the "Service" box at the top ...

    **Step 2 of 4: choose who you are looking at.** Use the filters in the sidebar ...

A numbered Markdown list (``1. ...``) is accepted too: each item is a step, its first sentence the title.

    from portal import walkthrough
    guide = walkthrough.load("waiting_lists")      # None when the page has no walkthrough file
    guide.steps[1].label                           # "Step 2 of 5: choose who you are looking at"
    walkthrough.show("waiting_lists")              # the start / back / next / leave box on a page

The same steps are the narration of the page's how-to video (``portal/videos``), so what a user reads on
the page and hears in the video never drift apart.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from portal import config, textfiles

_HEADING = re.compile(r"^#+\s*(?:Walkthrough:\s*)?(?P<title>.+?)\s*$")
_STEP = re.compile(r"^\*\*Step (?P<number>\d+) of (?P<total>\d+):\s*(?P<title>.+?)\*\*\s*(?P<body>.*)$", re.S)
_LIST_ITEM = re.compile(r"^(?P<number>\d+)\.\s+(?P<text>.+)$", re.S)
_FIRST_SENTENCE = re.compile(r"^(?P<title>.+?[.!?])(?:\s+(?P<rest>.*))?$", re.S)


class WalkthroughError(ValueError):
    """A walkthrough file that does not follow the format (steps out of order, wrong totals)."""


@dataclass(frozen=True)
class Step:
    number: int
    total: int
    title: str   # "choose a service" (no full stop)
    body: str    # Markdown, may be empty

    @property
    def label(self) -> str:
        return f"Step {self.number} of {self.total}: {self.title}"

    @property
    def narration(self) -> str:
        """What is said aloud: the label and the body as plain sentences (no Markdown marks)."""
        return plain_text(f"{self.label}. {self.body}".strip())


@dataclass(frozen=True)
class Walkthrough:
    page: str
    title: str | None
    steps: tuple[Step, ...]


def plain_text(markdown_text: str) -> str:
    """Markdown reduced to what a person would read aloud or see in a transcript."""
    text = re.sub(r"\*\*|__|`", "", markdown_text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    return " ".join(text.split())


def parse(text: str, page: str = "") -> Walkthrough:
    """Steps from a walkthrough file's text; raises WalkthroughError when the steps are inconsistent."""
    title = None
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        block = " ".join(line.strip() for line in block.splitlines() if line.strip())
        if not block:
            continue
        heading = _HEADING.match(block)
        if heading and not blocks and title is None:
            title = heading.group("title")
            continue
        blocks.append(block)
    if blocks and _LIST_ITEM.match(blocks[0]):
        # a numbered list is one Markdown block: split it into its items
        items = re.split(r"\s(?=\d+\.\s)", " ".join(blocks))
        steps = tuple(_list_step(item, index + 1, len(items)) for index, item in enumerate(items))
    else:
        steps = tuple(_bold_step(block) for block in blocks)
    if not steps:
        raise WalkthroughError(f"walkthrough {page!r} has no steps")
    for index, step in enumerate(steps, start=1):
        if step.number != index or step.total != len(steps):
            raise WalkthroughError(
                f"walkthrough {page!r}: {step.label!r} should be step {index} of {len(steps)}")
    return Walkthrough(page, title, steps)


def _bold_step(block: str) -> Step:
    match = _STEP.match(block)
    if not match:
        raise WalkthroughError(f"expected '**Step N of M: title.** text', got: {block[:60]!r}")
    return Step(int(match["number"]), int(match["total"]), match["title"].rstrip(". "), match["body"].strip())


def _list_step(item: str, expected: int, total: int) -> Step:
    match = _LIST_ITEM.match(item.strip())
    if not match:
        raise WalkthroughError(f"expected a numbered step, got: {item[:60]!r}")
    sentence = _FIRST_SENTENCE.match(match["text"].strip())
    title, rest = (sentence["title"], sentence["rest"] or "") if sentence else (match["text"], "")
    title = title.rstrip(".!? ")
    return Step(int(match["number"]), total, title[:1].lower() + title[1:], rest.strip())


def walkthrough_file(page: str) -> Path:
    return config.PAGES_DIR / f"{page}.walkthrough.md"


def load(page: str) -> Walkthrough | None:
    """The page's walkthrough, or None when it has none."""
    path = walkthrough_file(page)
    if not path.exists():
        return None
    return parse(textfiles.read_text(path), page)


# ------------------------------------------------------------------------------------------- on a page
def state_key(page: str) -> str:
    return f"walkthrough_step_{page}"


def current_step(page: str, state) -> int | None:
    """The 1-based step the user is on, or None when the walkthrough is not running."""
    value = state.get(state_key(page))
    return value if isinstance(value, int) and value > 0 else None


def go_to(page: str, state, step: int | None, total: int) -> None:
    """Move to a step (clamped to 1..total); None leaves the walkthrough."""
    if step is None:
        state.pop(state_key(page), None)
    else:
        state[state_key(page)] = max(1, min(step, total))


def show(page: str) -> None:
    """A 'Start the walkthrough' button; once started, one step at a time with Back, Next and Leave."""
    import streamlit as st

    try:
        guide = load(page)
    except (OSError, WalkthroughError):
        return  # the full text is still shown in the page's help panel
    if guide is None:
        return
    total = len(guide.steps)
    number = current_step(page, st.session_state)
    if number is None:
        st.button(f"Start the walkthrough ({total} steps)", key=f"walkthrough-start-{page}",
                  icon=":material/directions_walk:", on_click=go_to, args=(page, st.session_state, 1, total))
        return
    step = guide.steps[min(number, total) - 1]
    with st.container(border=True, key=f"walkthrough-box-{page}"):
        st.markdown(f"**{step.label}**")
        if step.body:
            st.markdown(step.body)
        back, forward, leave = st.columns(3)
        back.button("Back", key=f"walkthrough-back-{page}", icon=":material/arrow_back:",
                    disabled=step.number == 1, on_click=go_to, args=(page, st.session_state, step.number - 1, total))
        if step.number < total:
            forward.button("Next step", key=f"walkthrough-next-{page}", icon=":material/arrow_forward:",
                           type="primary", on_click=go_to, args=(page, st.session_state, step.number + 1, total))
        else:
            forward.button("Finish", key=f"walkthrough-finish-{page}", icon=":material/check:", type="primary",
                           on_click=go_to, args=(page, st.session_state, None, total))
        leave.button("Leave the walkthrough", key=f"walkthrough-leave-{page}", icon=":material/close:",
                     on_click=go_to, args=(page, st.session_state, None, total))
