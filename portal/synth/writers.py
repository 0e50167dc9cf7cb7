"""Writing feeds the way an ICB receives them: CSV (some with a byte-order mark), Excel and Parquet.

Output is byte-for-byte reproducible for a given seed: Excel files get fixed document timestamps and
fixed zip entry dates (openpyxl would otherwise stamp the current time).
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FIXED_TIME = dt.datetime(2026, 10, 31, 0, 0, 0)
FIXED_STAMP = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()


class FeedWriter:
    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.files: list[dict] = []

    def _record(self, path: Path, feed: str, fmt: str, rows: int) -> None:
        self.files.append({"file": path.name, "feed": feed, "format": fmt, "rows": int(rows)})

    def write(self, feed: str, frame: pd.DataFrame, fmt: str, bom: bool = False, part: int | None = None,
              append: bool = False) -> Path:
        """Write one feed file; ``append`` adds rows to a CSV written earlier (chunked generation)."""
        suffix = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}[fmt]
        name = feed if part is None else f"{feed}_{part + 1:03d}"
        path = self.out_dir / f"{name}{suffix}"
        if fmt == "csv":
            # the BOM is what Excel-on-Windows exports add
            with open(path, "ab" if append else "wb") as fh:
                if bom and not append:
                    fh.write(b"\xef\xbb\xbf")
                pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), fh,
                                write_options=pacsv.WriteOptions(quoting_style="needed", include_header=not append))
            if append:  # the same file, more rows
                next(f for f in self.files if f["file"] == path.name)["rows"] += len(frame)
                return path
        elif fmt == "parquet":
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, compression="zstd")
        else:
            write_xlsx(frame, path, sheet=feed)
        self._record(path, feed, fmt, len(frame))
        return path

    def write_json(self, filename: str, payload: dict) -> Path:
        path = self.out_dir / filename
        path.write_text(json.dumps(payload, separators=(",", ":")))
        self._record(path, filename.split(".")[0], "geojson", len(payload.get("features", [])))
        return path


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    ws = wb.create_sheet(sheet[:31])
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):  # openpyxl has no bulk writer; feeds here are small
        ws.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    # re-zip with fixed entry dates so the same seed gives the same bytes
    src = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "modified" with the time of saving
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + FIXED_STAMP + rb"\g<2>", data)
            dst.writestr(fixed, data)


def _cell(value):
    if hasattr(value, "item"):
        value = value.item()
    return None if value == "" else value
