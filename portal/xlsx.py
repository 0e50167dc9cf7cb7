"""A small .xlsx writer for the portal's downloads: a few sheets of header plus rows.

Every block on every page offers its table as an Excel file, and Streamlit needs the file's bytes when the
download button is drawn, so a workbook is made on every rerun for every block. Through pandas and openpyxl
that cost 20-60 ms a workbook (five blocks: most of a filter change). This writer produces the same content
(text as text, numbers as numbers, dates as dates, empty cells for missing values, a bold header) as plain
Office Open XML in a zip, in about 3 ms for a portal table. Text is written as inline strings:
Excel shows a cell starting with "=" as text, never running it as a formula.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from datetime import date, datetime
from typing import Iterable, Mapping, Sequence
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

_EXCEL_EPOCH = datetime(1899, 12, 30)
# Characters XML 1.0 cannot carry (Excel refuses the file if they appear).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")

_HEADER_STYLE, _DATE_STYLE, _DATETIME_STYLE = 1, 2, 3
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode="dd/mm/yyyy hh:mm"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _text(value: str) -> str:
    return escape(_ILLEGAL_XML.sub("", value))


def _cell(ref: str, value, style: int = 0) -> str:
    """One <c> element, or "" for a missing value (an empty cell)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, np.integer)):
        return f'<c r="{ref}"><v>{int(value)}</v></c>'
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return _cell(ref, "infinity" if value > 0 else "-infinity", style)
        return f'<c r="{ref}"><v>{float(value)!r}</v></c>'
    if isinstance(value, datetime):  # also pandas.Timestamp
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        serial = (value - _EXCEL_EPOCH).total_seconds() / 86400
        timed = value.time() != datetime.min.time()
        return f'<c r="{ref}" s="{_DATETIME_STYLE if timed else _DATE_STYLE}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        serial = (datetime(value.year, value.month, value.day) - _EXCEL_EPOCH).days
        return f'<c r="{ref}" s="{_DATE_STYLE}"><v>{serial}</v></c>'
    style_attr = f' s="{style}"' if style else ""
    return f'<c r="{ref}" t="inlineStr"{style_attr}><is><t xml:space="preserve">{_text(str(value))}</t></is></c>'


def _sheet_xml(header: Sequence, rows: Iterable[Sequence]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    letters = [column_letter(i) for i in range(len(header))]
    cells = "".join(_cell(f"{letters[i]}1", name, _HEADER_STYLE) for i, name in enumerate(header))
    lines.append(f'<row r="1">{cells}</row>')
    for number, row in enumerate(rows, start=2):
        cells = "".join(_cell(f"{letters[i]}{number}", value) for i, value in enumerate(row))
        lines.append(f'<row r="{number}">{cells}</row>')
    lines.append("</sheetData></worksheet>")
    return "".join(lines)


def _sheet_name(name: str, taken: set[str]) -> str:
    name = _SHEET_NAME_BAD.sub(" ", name).strip("'")[:31] or "Sheet"
    candidate, n = name, 2
    while candidate.lower() in taken:
        candidate = f"{name[:28]} {n}"
        n += 1
    taken.add(candidate.lower())
    return candidate


def workbook_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An .xlsx holding each DataFrame (header and rows, no index) on a sheet of its own, in order."""
    names: list[str] = []
    taken: set[str] = set()
    parts: dict[str, str] = {}
    for number, (title, frame) in enumerate(sheets.items(), start=1):
        names.append(_sheet_name(str(title), taken))
        rows = frame.astype(object).itertuples(index=False, name=None)
        parts[f"xl/worksheets/sheet{number}.xml"] = _sheet_xml([str(c) for c in frame.columns], rows)
    count = len(names)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in range(1, count + 1))
    parts["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f'{overrides}</Types>')
    parts["_rels/.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>')
    sheet_entries = "".join(f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
                            for n, name in enumerate(names, start=1))
    parts["xl/workbook.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets>{sheet_entries}</sheets></workbook>')
    sheet_rels = "".join(
        f'<Relationship Id="rId{n}" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        f'Target="worksheets/sheet{n}.xml"/>' for n in range(1, count + 1))
    parts["xl/_rels/workbook.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'{sheet_rels}<Relationship Id="rId{count + 1}" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/></Relationships>')
    parts["xl/styles.xml"] = _STYLES

    buffer = io.BytesIO()
    # Compression level 1: these are small files; the fastest level is nearly as small as the best.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                     "xl/styles.xml", *(f"xl/worksheets/sheet{n}.xml" for n in range(1, count + 1))):
            archive.writestr(name, parts[name])
    return buffer.getvalue()
