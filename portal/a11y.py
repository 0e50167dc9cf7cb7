"""Repairs for accessibility faults the Streamlit 1.51 shell puts on every page, whatever the page draws.

axe-core (WCAG 2.2 A/AA) finds these in the framework's own markup, not in anything a page writes:

* ``aria-expanded`` on the sidebar's ``<section>``, where ARIA does not allow it (4.1.2); the sidebar's
  collapse button already tells assistive technology whether it is open;
* a select box's ``aria-activedescendant`` still naming an option of the list it has closed (4.1.2);
* ``aria-haspopup`` and ``aria-expanded`` on the wrapper of a data grid's toolbar button, a ``<div>`` with
  no role (4.1.2): the button inside is what a user operates, so the wrapper's attributes are removed;
* a file uploader's hidden ``<input type=file>`` has no label (1.3.1, 4.1.2): it is given the uploader's
  visible label;
* focus shown faintly or not at all on some controls (2.4.7): one strong focus style is used everywhere,
  drawn on the box the user sees (a select box's frame, not the tiny text cursor inside it);
* videos' caption tracks start hidden: the first (English) is switched on when a video appears, so every
  how-to video plays with captions on (the user can still turn them off in the player).
* a table wider or taller than its box scrolls, but its box cannot take keyboard focus, so a keyboard user
  cannot scroll it (2.1.1): a table's box that scrolls is made focusable (``tabindex="0"``), checked again
  whenever the box changes size (a narrow window, or the page still laying out).

:func:`install` adds a script to the page itself (not a component's frame, which loads late and whose
watcher dies with the frame if Streamlit redraws it) that repairs these at once and then as Streamlit draws
them, so they stay repaired after every rerun. It marks the page (``data-portal-a11y-repairs`` on ``<html>``)
once it runs. Remove a repair when the framework is fixed; ``tests/browser/test_accessibility.py`` shows
whether it is still needed.
"""
from __future__ import annotations

REPAIR_SCRIPT = """
<script>
(function () {
  const doc = document;
  if (doc.documentElement.dataset.portalA11yRepairs) { return; }
  const style = doc.createElement("style");
  // (contrast of Streamlit's greys is fixed in portal/accessibility.css)
  style.textContent = ''
    // one strong focus style everywhere (NHS: yellow with a dark edge), on the box a user sees
    + ' :focus-visible { outline: 3px solid #FFEB3B !important; box-shadow: 0 0 0 6px #212B32 !important; }'
    + ' [data-baseweb="select"] input:focus-visible, [data-baseweb="input"] input:focus-visible,'
    + ' [data-baseweb="textarea"] textarea:focus-visible { outline: none !important; box-shadow: none !important; }'
    + ' [data-baseweb="select"]:focus-within > div, [data-baseweb="input"]:focus-within,'
    + ' [data-baseweb="textarea"]:focus-within { outline: 3px solid #FFEB3B !important;'
    + ' box-shadow: 0 0 0 6px #212B32 !important; }';
  doc.head.appendChild(style);
  function repair() {
    watchTables();
    doc.querySelectorAll("section.stSidebar[aria-expanded]").forEach(e => e.removeAttribute("aria-expanded"));
    doc.querySelectorAll("[aria-activedescendant]").forEach(e => {
      const id = e.getAttribute("aria-activedescendant");
      if (!id || !doc.getElementById(id)) { e.removeAttribute("aria-activedescendant"); }
    });
    doc.querySelectorAll("div[aria-haspopup]:not([role])").forEach(e => e.removeAttribute("aria-haspopup"));
    doc.querySelectorAll('[data-testid="stElementToolbarButtonContainer"] > div[aria-expanded]:not([role])')
      .forEach(e => e.removeAttribute("aria-expanded"));
    doc.querySelectorAll('input[data-testid="stFileUploaderDropzoneInput"]:not([aria-label])').forEach(input => {
      const box = input.closest('[data-testid="stFileUploader"]');
      const label = box && box.querySelector('[data-testid="stWidgetLabel"]');
      input.setAttribute("aria-label", (label && label.innerText.trim()) || "Choose a file");
    });
    doc.querySelectorAll("video").forEach(v => {
      const tracks = [...v.textTracks];
      if (tracks.length && !v.dataset.portalCaptions) {
        v.dataset.portalCaptions = "on";
        tracks[0].mode = "showing";
      }
    });
  }
  // a table's box that scrolls takes keyboard focus, so the keys scroll it; one that no longer scrolls gives it up
  function tableFocus(box) {
    const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
    if (scrolls && !box.hasAttribute("tabindex")) { box.setAttribute("tabindex", "0"); box.dataset.portalScroll = "on"; }
    if (!scrolls && box.dataset.portalScroll) { box.removeAttribute("tabindex"); delete box.dataset.portalScroll; }
  }
  const boxes = new ResizeObserver(entries => entries.forEach(e => tableFocus(e.target)));
  function watchTables() {
    doc.querySelectorAll('[data-testid="stTable"] > div').forEach(box => {
      if (!box.dataset.portalWatched) { box.dataset.portalWatched = "on"; boxes.observe(box); }
      tableFocus(box);
    });
  }
  repair();
  doc.documentElement.dataset.portalA11yRepairs = "on";
  new MutationObserver(repair).observe(doc.body, {subtree: true, childList: true, attributes: true,
    attributeFilter: ["aria-expanded", "aria-activedescendant", "aria-haspopup"]});
})();
</script>
"""


def install() -> None:
    """Add the repairs to the page (call once per run from the app shell; drawn last in the sidebar, unseen)."""
    import streamlit as st

    st.sidebar.html(REPAIR_SCRIPT, unsafe_allow_javascript=True)
