"""The Streamlit entry point: sign-in, then the pages the user's role may see.

Run with ``python -m portal serve``, which starts Streamlit through ``portal/server_tuning.py`` (a plain
``streamlit run portal/app.py`` works for development, without those server settings). This file sits inside
``portal/`` on purpose: a ``pages/`` folder beside the entry script would make Streamlit serve every page
file directly, without sign-in. Pages are registered here with ``st.navigation`` from the role, so a page
missing from a role's menu cannot be opened by URL either.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

# `streamlit run portal/app.py` puts portal/ itself first on sys.path, where a module such as
# portal/markdown.py would shadow the library of the same name. Import from the repository root instead.
# This runs on every page run: resolve only entries that can be portal/ (resolving each one was ~1% of CPU).
_PORTAL_DIR = os.path.dirname(os.path.realpath(__file__))
_REPO_ROOT = os.path.dirname(_PORTAL_DIR)
# Replaced in place, never removed: other sessions' runs may be importing while this runs, and Python's
# import system walks this same list (portal/server_tuning.py).
for _index, _entry in enumerate(sys.path):
    if os.path.basename(os.path.normpath(_entry or ".")) in ("portal", ".") and \
            os.path.realpath(_entry or ".") == _PORTAL_DIR:
        sys.path[_index] = _REPO_ROOT
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import streamlit as st  # noqa: E402

from portal import a11y, auth, navigation, ops, server_tuning, store, textfiles, ui  # noqa: E402
from portal.demo_users import DEMO_USERS, demo_password  # noqa: E402

log = logging.getLogger("portal.app")

# Streamlit leaves Nagle's algorithm on its websockets: ~40 ms per filter change (docs/performance.md); and
# renames its own methods for every element drawn. `portal serve` sets both before the server starts.
server_tuning.enable_websocket_nodelay()
server_tuning.create_elements_without_renaming()
st.set_page_config(page_title="SEND Insight Portal", page_icon=":material/child_care:", layout="wide")


def login_intro() -> None:
    st.title("SEND Insight Portal")
    st.write("Linked health, council and school data on children and young people with special "
             "educational needs and disabilities (SEND). Sign in to continue.")
    demo = [(username, role) for username, _name, role in DEMO_USERS
            if (record := ops.get_user(username)) and record.active and record.demo]
    if demo:
        with st.expander("Demo sign-ins (synthetic data only)"):
            st.write("This portal is running the synthetic demonstration area. Each demo user has one role.")
            st.table({"Username": {role: username for username, role in demo},
                      "Password": {role: demo_password(username) for username, role in demo}})


def sidebar(user, specs: list[navigation.PageSpec], pages: dict) -> None:
    with st.sidebar:
        st.markdown(f"**{user.name}**  \n{auth.role_label(user)}")
        if st.button("Sign out", key="portal-sign-out", icon=":material/logout:"):
            auth.sign_out()
            st.rerun()
        for section, section_specs in navigation.sections_for(user.role).items():
            st.caption(section)
            for spec in section_specs:
                st.page_link(pages[spec.url_path], label=spec.title, icon=spec.icon)
        st.divider()


def open_requested_view(current, pages_by_url: dict) -> None:
    """After sign-in, go to the page and filters of the URL the user first asked for, if their role may
    see that page; a page outside the role's menu falls back to home."""
    requested = st.session_state.get(auth.REQUESTED_VIEW_KEY)
    if requested is None:
        return
    url_path, params = requested
    target = pages_by_url.get(url_path)
    if target is not None and target.url_path != current.url_path:
        st.switch_page(target)  # the next run lands on the page and restores the filters below
    st.session_state.pop(auth.REQUESTED_VIEW_KEY, None)
    if params and not st.query_params:
        st.query_params.from_dict(params)


ACCESSIBILITY_CSS = textfiles.read_text(Path(__file__).with_name("accessibility.css"))


def main() -> None:
    st.html(f"<style>{ACCESSIBILITY_CSS}</style>")  # style only: takes no space on the page
    try:
        user = auth.current_user()
        if user is None:
            auth.login_screen(intro=login_intro)
            return
    except Exception:
        log.exception("sign-in failed")
        st.error(ui.SIGN_IN_UNAVAILABLE)
        return

    specs = navigation.pages_for(user.role)
    pages = {spec.url_path: st.Page(spec.absolute_path, title=spec.title, icon=spec.icon,
                                    url_path=spec.url_path, default=spec.default) for spec in specs}
    current = st.navigation(list(pages.values()), position="hidden")
    open_requested_view(current, {page.url_path: page for page in pages.values()})
    # Only after the jump to a shared link's page: that jump restarts the run, and a cookie script drawn
    # before it would be taken down again, possibly before it had run (then a reload signs out).
    auth.write_pending_cookie()
    sidebar(user, specs, pages)
    a11y.install()  # repairs for the framework's own accessibility faults (portal/a11y.py)
    try:
        current.run()
    except store.NoMartsError:
        st.warning("There is no data to show yet. An administrator needs to build the data first "
                   "(python -m portal build-demo for the demonstration data).")
    except store.MartsUnavailableError:
        log.exception("marts unavailable")
        st.error(ui.DATA_UNREADABLE)
    except Exception:
        log.exception("page %s failed", current.url_path)
        st.error(ui.PAGE_FAILED)


main()
