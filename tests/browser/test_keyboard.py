"""Keyboard-only use (WCAG 2.1.1, 2.4.7): sign in, go to a page, change a filter, open a table's
definitions and download the table, with Tab, arrows and Enter only, and a visible focus indicator."""
from __future__ import annotations

from tests.browser.helpers import wait_for_portal, wait_until_idle

FOCUSED_NAME = """() => {
    const e = document.activeElement;
    if (!e) return "";
    // a control's own name; a focusable container (a scrolling region) has none of its own
    const control = e.matches('a, button, summary, input, textarea, [role="button"], [role="tab"], [role="combobox"]');
    const label = e.getAttribute("aria-label") || (e.labels && e.labels[0] && e.labels[0].innerText)
        || (control ? e.innerText : "") || "";
    return label.trim();
}"""
STYLE_AROUND = """e => {
    // what a sighted user sees of a control and the boxes drawn around it
    const out = [];
    for (let n = e, i = 0; n && i < 6; n = n.parentElement, i++) {
        const s = getComputedStyle(n);
        out.push([n.tagName, s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderColor, s.backgroundColor].join(" "));
    }
    return out.join(" | ");
}"""


def focus_visible(page) -> bool:
    """The focused control looks different from the same control unfocused (WCAG 2.4.7); focus is put back."""
    handle = page.evaluate_handle("() => document.activeElement")
    page.wait_for_timeout(500)  # let focus transitions finish
    focused = handle.evaluate(STYLE_AROUND)
    handle.evaluate("e => e.blur()")
    page.wait_for_timeout(500)
    unfocused = handle.evaluate(STYLE_AROUND)
    handle.evaluate("e => e.focus({focusVisible: true})")
    page.wait_for_timeout(100)
    return focused != unfocused


def tab_to(page, wanted: str, limit: int = 150, backwards: bool = False) -> str:
    """Press Tab until the focused element's name contains ``wanted``; returns that name."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        name = page.evaluate(FOCUSED_NAME)
        if wanted in name:  # a name may begin with its icon's ligature text ("schedule")
            return name
    raise AssertionError(f"could not reach {wanted!r} with the keyboard")


def test_keyboard_only_journey(page, portal_server, demo_users):
    username, password = demo_users["commissioner"]
    page.goto(portal_server.url("/"))
    wait_for_portal(page)

    tab_to(page, "Username")
    assert focus_visible(page), "no visible focus on the username box"
    page.keyboard.type(username)
    tab_to(page, "Password")
    page.keyboard.type(password)
    tab_to(page, "Sign in")
    assert focus_visible(page), "no visible focus on the sign-in button"
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Sign out").wait_for(timeout=90_000)
    wait_until_idle(page)

    # to the Waiting lists page from the menu
    tab_to(page, "Waiting lists")
    assert focus_visible(page), "no visible focus on the menu link"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Waiting lists", level=1).wait_for()
    wait_until_idle(page)

    # change the locality filter with the arrow keys
    tab_to(page, ". Locality")  # a select box is named "Selected <value>. <label>"
    page.keyboard.type("Eastfield")        # opens the list, narrowed to the one locality
    page.get_by_role("option", name="Eastfield").wait_for()
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search.includes('locality=')")  # the URL keeps the view
    wait_until_idle(page)
    assert focus_visible(page), "no visible focus on the filter box"  # focus stays on the box
    locality = page.url.split("locality=")[1].split("&")[0]
    assert locality

    # open the first table's definitions panel
    name = tab_to(page, "What does this mean?")
    page.keyboard.press("Enter")
    wait_until_idle(page)
    opened = page.evaluate("() => { const d = document.activeElement.closest('details');"
                           " return d ? [d.open, d.innerText] : [false, ''] }")
    assert opened[0] and "Where it comes from" in opened[1]

    # download the table it explains (back up to its download button)
    name = tab_to(page, "Download CSV", backwards=True)
    assert focus_visible(page), "no visible focus on the download button"
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    data = open(download.value.path(), "rb").read().decode("utf-8-sig")
    assert data.count("\n") >= 2 and "," in data.splitlines()[0]


def test_walkthrough_by_keyboard(page, login, demo_users):
    login(page, *demo_users["commissioner"])
    tab_to(page, "Start the walkthrough")
    page.keyboard.press("Enter")
    wait_until_idle(page)
    assert page.get_by_text("Step 1 of 5").count()
    tab_to(page, "Next step")
    page.keyboard.press("Enter")
    wait_until_idle(page)
    assert page.get_by_text("Step 2 of 5").count()
    tab_to(page, "Leave the walkthrough")
    page.keyboard.press("Enter")
    wait_until_idle(page)
    assert page.get_by_role("button", name="Next step").count() == 0
    assert page.get_by_role("button", name="Start the walkthrough").count() == 1
