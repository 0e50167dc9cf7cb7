"""Short tables drawn as real HTML tables, numbers to one decimal place, without pandas' Styler.

``st.table(frame.style.format(precision=1, na_rep="", thousands=","))`` draws the table the pages want: an
HTML table a screen reader can walk, numbers right-aligned, decimals to one place, thousands separated,
missing cells blank. But turning a Styler into Streamlit's message cost 1.5–2.5 ms a table on every run:
pandas' ``Styler._translate`` builds a dict of HTML attributes for every cell, and Streamlit then reads
each cell's text back out of them. A journey page draws five tables on every filter change; profiling a
Waiting lists rerun put about a tenth of the server's time there.

:func:`draw` sends the same message (``Arrow`` proto: the data, and beside it the text each cell shows),
made directly from the two Arrow payloads of :func:`arrow_parts` (which ``portal.ui`` keeps by the table's
content for aggregate figures, so an unchanged table is not converted again). It uses Streamlit's own
message classes and its container's ``_enqueue``, as ``st.table`` does; ``tests/test_html_table.py`` checks
the message against the one ``st.table`` makes from the Styler, so a Streamlit upgrade that changes either
fails there, not on screen.
"""
from __future__ import annotations

from typing import NamedTuple

import pandas as pd

PRECISION = 1
MISSING = ""


def cell_text(value) -> str:
    """The text a cell shows: what ``Styler.format(precision=1, na_rep="", thousands=",")`` shows for it.
    Thousands are separated as the pages' sentences and charts write them (10,910, not 10910)."""
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return MISSING
    if isinstance(value, (float, complex)):
        return f"{value:,.{PRECISION}f}"
    if pd.api.types.is_integer(value):
        return f"{value:,}"
    return str(value)


def display_values(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame of cell texts Streamlit puts beside the data (same index and columns, all text). Built in
    one go: filling a copy column by column cost several times as much."""
    texts = {position: [cell_text(value) for value in frame.iloc[:, position].tolist()]
             for position in range(frame.shape[1])}
    shown = pd.DataFrame(texts, index=frame.index, dtype=object)
    shown.columns = frame.columns
    return shown


class ArrowParts(NamedTuple):
    """The two Arrow payloads of a table message: the data, and the text each cell shows."""

    data: bytes
    display_values: bytes


def arrow_parts(frame: pd.DataFrame) -> ArrowParts:
    from streamlit import dataframe_util

    return ArrowParts(data=dataframe_util.convert_pandas_df_to_arrow_bytes(frame),
                      display_values=dataframe_util.convert_pandas_df_to_arrow_bytes(display_values(frame)))


def table_proto(parts: ArrowParts, uuid: str):
    """The ``Arrow`` message ``st.table`` sends for the one-decimal Styler of :func:`cell_text`."""
    from streamlit.proto.Arrow_pb2 import Arrow

    proto = Arrow()
    proto.styler.uuid = uuid  # only scopes the Styler's CSS, and there is none
    proto.styler.display_values = parts.display_values
    proto.data = parts.data
    proto.border_mode = Arrow.BorderMode.ALL
    return proto


def draw(parts: ArrowParts) -> None:
    """Draw a table (its :func:`arrow_parts`) as ``st.table`` would draw its one-decimal Styler, in the
    container in use."""
    import streamlit as st
    from streamlit.elements.lib.layout_utils import LayoutConfig

    container = st._main  # resolves to the innermost `with` container, as st.table does
    proto = table_proto(parts, str(hash(container._get_delta_path_str())))
    container._enqueue("arrow_table", proto, layout_config=LayoutConfig(width="stretch", height="content"))
