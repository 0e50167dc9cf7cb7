"""The portal's own .xlsx writer: what openpyxl (and so pandas) reads back is exactly what was written."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pandas as pd
import pytest

from portal import ui, xlsx


def read_back(data: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_values_keep_their_types():
    frame = pd.DataFrame({
        "Locality": ["Eastfield", "Riverton & Co <north>", None],
        "Children": pd.array([1205, 7, None], dtype="Int64"),
        "Median wait (weeks)": [68.5, float("nan"), 0.1],
        "Over 18 weeks": [True, False, None],
        "Snapshot": [date(2026, 9, 30), date(2024, 2, 29), None],
        "Received": [pd.Timestamp("2026-10-01 08:30"), pd.NaT, pd.Timestamp("2026-10-02")],
    })
    rows = read_back(xlsx.workbook_bytes({"Data": frame}))["Data"]
    assert rows[0] == tuple(frame.columns)
    assert rows[1] == ("Eastfield", 1205, 68.5, True, datetime(2026, 9, 30), datetime(2026, 10, 1, 8, 30))
    assert rows[2] == ("Riverton & Co <north>", 7, None, False, datetime(2024, 2, 29), None)
    assert rows[3] == (None, None, 0.1, None, None, datetime(2026, 10, 2))


def test_text_that_looks_like_a_formula_stays_text():
    frame = pd.DataFrame({"Comment": ["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "*"]})
    book = openpyxl.load_workbook(io.BytesIO(xlsx.workbook_bytes({"Data": frame})))
    cells = [row[0] for row in book["Data"].iter_rows(min_row=2)]
    assert [c.value for c in cells] == list(frame["Comment"])
    assert all(c.data_type == "s" for c in cells)


def test_characters_xml_cannot_carry_are_dropped_and_the_file_still_opens():
    frame = pd.DataFrame({"Note": ["bell\x07 and null\x00 here", "tab\tand newline\nkept"]})
    rows = read_back(xlsx.workbook_bytes({"Data": frame}))["Data"]
    assert rows[1:] == [("bell and null here",), ("tab\tand newline\nkept",)]


def test_every_part_is_well_formed_xml_and_columns_past_z_are_named():
    frame = pd.DataFrame({f"c{i}": [i] for i in range(30)})
    data = xlsx.workbook_bytes({"Data": frame, "About": pd.DataFrame({"Item": ["Title"], "Value": ["x"]})})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))
    assert read_back(data)["Data"][1] == tuple(range(30))
    assert [xlsx.column_letter(i) for i in (0, 25, 26, 27, 51, 52, 701, 702)] == \
        ["A", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]


def test_sheet_names_are_made_legal_and_unique():
    data = xlsx.workbook_bytes({"Waits: by [service]/locality and a very long name": pd.DataFrame({"a": [1]}),
                                "waits: by [service]/locality and a very long name": pd.DataFrame({"a": [2]})})
    names = list(read_back(data))
    assert len(names) == 2 and len(set(n.lower() for n in names)) == 2
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)


@pytest.mark.parametrize("value", [np.int64(3), np.float32(2.5), np.bool_(True)])
def test_numpy_scalars(value):
    rows = read_back(xlsx.workbook_bytes({"Data": pd.DataFrame({"v": [value]}, dtype=object)}))["Data"]
    assert rows[1] == (value.item(),)


def test_the_download_is_the_table_as_shown_with_its_provenance():
    shown = pd.DataFrame({"Locality": ["Eastfield", "Northbrook"], "Children waiting": [120, "*"]})
    about = {"Title": "Children waiting", "Filters": "All localities"}
    sheets = read_back(ui.excel_bytes(shown, about))
    assert sheets["Data"] == [("Locality", "Children waiting"), ("Eastfield", 120), ("Northbrook", "*")]
    assert sheets["About"] == [("Item", "Value"), ("Title", "Children waiting"), ("Filters", "All localities")]
    assert pd.read_excel(io.BytesIO(ui.excel_bytes(shown, about)), sheet_name="Data").equals(shown.astype(object))
