"""Short tables are sent as the same message ``st.table`` makes from a one-decimal Styler, made without
the Styler (portal/html_table.py); checked field by field against Streamlit's own marshalling."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.elements.arrow import marshall
from streamlit.proto.Arrow_pb2 import Arrow

from portal import html_table, ui

FRAMES = {
    "counts and rates": pd.DataFrame({"Locality": ["North", "South", "East"], "Plans": [120, 35, 1000],
                                      "Overdue %": [12.25, 3.0, np.nan], "Mean": [1.23456, 10.0, 7.25]}),
    "suppressed cells as text": pd.DataFrame({"Service": ["ADHD", "Autism"], "Waiting": ["*", "35"],
                                              "Median weeks": [np.nan, 33.44]}),
    "nullable integers": pd.DataFrame({"Year": ["2025", "2026"], "Plans": pd.array([5, None], dtype="Int64"),
                                       "Share": pd.array([None, 12.5], dtype="Float64")}),
    "dates and missing text": pd.DataFrame({"Feed": ["gp", "school"], "Received": [pd.Timestamp("2026-11-01"), pd.NaT],
                                            "Day": [dt.date(2026, 11, 1), None], "Note": [None, "late"]}),
    "negative and large": pd.DataFrame({"Group": ["a", "b"], "Change": [-0.05, -12.345], "Rows": [10**9, -3]}),
    "one column": pd.DataFrame({"Theme": ["Waiting", "Access"]}),
    "empty": pd.DataFrame({"Theme": pd.Series([], dtype=object), "N": pd.Series([], dtype="int64")}),
}


def _streamlits_own(frame: pd.DataFrame) -> Arrow:
    proto = Arrow()
    marshall(proto, frame.style.format(precision=1, na_rep="", thousands=","), "unused")
    return proto


@pytest.mark.parametrize("name", FRAMES)
def test_the_message_is_the_one_st_table_makes_from_the_styler(name):
    frame = ui._for_html_table(FRAMES[name])
    ours, theirs = html_table.table_proto(html_table.arrow_parts(frame), "t"), _streamlits_own(frame)
    assert ours.data == theirs.data
    pd.testing.assert_frame_equal(convert_arrow_bytes_to_pandas_df(ours.styler.display_values),
                                  convert_arrow_bytes_to_pandas_df(theirs.styler.display_values))
    assert (ours.styler.styles, ours.styler.caption) == (theirs.styler.styles, theirs.styler.caption) == ("", "")
    assert ours.border_mode == Arrow.BorderMode.ALL


def test_cells_show_one_decimal_and_blanks_for_missing_values():
    shown = html_table.display_values(ui._for_html_table(FRAMES["counts and rates"]))
    assert shown.loc["North"].tolist() == ["120", "12.2", "1.2"]
    assert shown.loc["East"].tolist() == ["1,000", "", "7.2"]
