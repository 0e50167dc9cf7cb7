"""Loader for DfE's children's services statistical neighbours (each LA's ten most similar LAs).

The published workbook (sheet "LA SN Groups") saved as CSV: ``LA_num``, ``LA_Name``, ``SN1``..``SN10``
(neighbours' three-digit DfE numbers, nearest first) and ``SN1_closeness``.. (a closeness band).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from portal.public.common import NEIGHBOUR_COLUMNS, PublicDataError
from portal.public.ees import read_csv_text

N_NEIGHBOURS = 10


def is_neighbours(columns) -> bool:
    return {"LA_num", "LA_Name", "SN1", f"SN{N_NEIGHBOURS}"} <= set(columns)


def _code(text) -> str | None:
    text = str(text).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text.zfill(3) if text.isdigit() else None


def load(path: Path) -> pd.DataFrame:
    df = read_csv_text(path)
    needed = ["LA_num", "LA_Name"] + [f"SN{i}" for i in range(1, N_NEIGHBOURS + 1)]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise PublicDataError(path, f"is missing the column(s) {', '.join(missing)}")
    names = {}
    for num, name in zip(df["LA_num"], df["LA_Name"]):
        code = _code(num)
        if code is None:
            raise PublicDataError(path, f"has an LA number {num!r} that is not a 3-digit DfE number")
        names[code] = str(name).strip()
    rows = []
    for record in df.to_dict("records"):
        code = _code(record["LA_num"])
        for rank in range(1, N_NEIGHBOURS + 1):
            neighbour = _code(record[f"SN{rank}"])
            if neighbour is None:
                raise PublicDataError(path, f"{record['LA_Name']}: neighbour SN{rank} {record[f'SN{rank}']!r} "
                                            "is not a 3-digit DfE number")
            rows.append({
                "area_code": code, "area_name": names[code], "neighbour_rank": rank,
                "neighbour_code": neighbour, "neighbour_name": names.get(neighbour),
                "closeness": (str(record.get(f"SN{rank}_closeness", "")).strip().capitalize() or None),
            })
    out = pd.DataFrame(rows, columns=NEIGHBOUR_COLUMNS)
    out["neighbour_rank"] = out["neighbour_rank"].astype("int32")
    return out
