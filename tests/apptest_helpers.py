"""Helpers for AppTest page tests (import from tests; fixtures stay in conftest.py)."""
from __future__ import annotations

import re

import pandas as pd

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # a backslash before any ASCII punctuation


def _unescape(frame: pd.DataFrame) -> pd.DataFrame:
    """HTML tables escape Markdown characters in text cells (shown literally in the browser); undo that."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: _ESCAPED.sub(r"\1", v) if isinstance(v, str) else v)
    return out


def shown_tables(at) -> list[pd.DataFrame]:
    """Every table on the page in document order, as plain frames: short tables are HTML tables whose first
    column is the row header (the index), long ones are grids (see portal.ui.show_table)."""
    found: list[pd.DataFrame] = []

    def walk(node) -> None:
        kind = getattr(node, "type", None)
        if kind == "arrow_table":
            value = node.value
            found.append(_unescape(value.reset_index() if value.index.name is not None else value.reset_index(drop=True)))
        elif kind == "arrow_data_frame":
            found.append(node.value.reset_index(drop=True))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at.main)
    return found
