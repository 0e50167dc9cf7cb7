"""Accessibility statement (UK public sector bodies accessibility regulations): everyone may read it."""
from __future__ import annotations

import streamlit as st

from portal import config, ui

user = ui.current_user()
if user is None:
    st.warning("Please sign in to see this page.")
    st.stop()
st.title("Accessibility statement", anchor=False)
ui.page_help("accessibility")
statement = config.REPO_ROOT / "docs" / "accessibility-statement.md"
st.markdown(statement.read_text(encoding="utf-8"))  # its sections are h2 and h3, under the h1
