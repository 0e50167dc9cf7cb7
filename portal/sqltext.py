"""SQL string literals, for the few statements DuckDB takes no bind parameters in (SET, CREATE VIEW,
COPY ... TO, read_parquet's file names).

What goes through here is the portal's own text (paths under its data directory, reasons and names from
the contract files), never a user's input, which is always bound as a parameter (``portal/queries.py``).
Quoting still matters: a quote in a data directory's name must not end the literal."""
from __future__ import annotations

from pathlib import Path


def literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def path_literal(path: Path) -> str:
    return literal(path.as_posix())
