"""Showing text from data or from a URL literally in Streamlit, whose text elements render Markdown.

Without escaping, a value such as ``[click here](https://example.org)`` in a shared link or a data
cell would become a live link on an NHS page.
"""
from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$])")


def escape(text: str) -> str:
    """``text`` with every Markdown-special character backslash-escaped, so it shows as typed."""
    return _SPECIAL.sub(r"\\\1", text)
