"""Feed contracts: load them, read a feed file of any supported format, and validate it.

A contract (``portal/contracts/<feed>.yaml``) says which columns a feed has, their types, which are
required, allowed codes, keys and row-level checks. An area plugs its own extracts in by producing files
that meet these contracts; columns are matched by name (case, spaces and a byte-order mark do not matter,
and ``aliases`` give accepted alternative names), never by position.

Validation runs in DuckDB over all rows at once. Every fault names the row (the line in a CSV or the
spreadsheet row, counting the header as row 1; the record number in a Parquet file), the column, the value
and the reason, so whoever sent the file can fix it.
"""
from __future__ import annotations

import csv
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from portal import config
from portal.linkage import nhs_check_digit_sql
from portal.sqltext import literal as _lit

TYPES = ("string", "code", "integer", "number", "date", "boolean", "nhs_number")
DATE_FORMATS_TEXT = "yyyy-mm-dd or dd/mm/yyyy"
SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".parquet")
MAX_FAULTS_LISTED = 100


class ContractError(ValueError):
    """A contract file itself is wrong (a repository bug, caught by the tests)."""


class FeedFileError(ValueError):
    """A feed file cannot be read at all (wrong format, unreadable, empty); ``row`` where one row is to blame."""

    def __init__(self, message: str, row: int | None = None):
        super().__init__(message)
        self.row = row


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    description: str = ""
    identifier: bool = False
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    aliases: tuple[str, ...] = ()
    free_text: bool = False


@dataclass(frozen=True)
class Contract:
    feed: str
    title: str
    order: int
    description: str
    source: str
    grain: str
    delivery: str            # full: a file replaces the previous one; incremental: files add up
    linkage: str             # spine | nhs_number | nhs_number_or_demographics | none
    file_patterns: tuple[str, ...]
    unique_key: tuple[str, ...]
    columns: tuple[Column, ...]
    checks: tuple[dict, ...] = ()
    codes: dict = field(default_factory=dict)
    companion_files: dict = field(default_factory=dict)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def matches(self, filename: str) -> bool:
        return any(fnmatch.fnmatch(filename.lower(), p) for p in self.file_patterns)

    def companion_kind(self, filename: str) -> str | None:
        for kind, patterns in self.companion_files.items():
            if any(fnmatch.fnmatch(filename.lower(), p) for p in patterns):
                return kind
        return None


def _load(path: Path) -> Contract:
    raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        columns = tuple(
            Column(name=c["name"], type=c["type"], required=bool(c.get("required", False)),
                   description=c.get("description", ""), identifier=bool(c.get("identifier", False)),
                   allowed=tuple(str(a) for a in c.get("allowed", ())), pattern=c.get("pattern"),
                   min=c.get("min"), max=c.get("max"), aliases=tuple(c.get("aliases", ())),
                   free_text=bool(c.get("free_text", False)))
            for c in raw["columns"]
        )
        contract = Contract(
            feed=raw["feed"], title=raw["title"], order=int(raw["order"]), description=raw["description"].strip(),
            source=raw.get("source", ""), grain=raw["grain"], delivery=raw["delivery"], linkage=raw["linkage"],
            file_patterns=tuple(raw["file_patterns"]), unique_key=tuple(raw.get("unique_key") or ()),
            columns=columns, checks=tuple(raw.get("checks") or ()), codes=raw.get("codes") or {},
            companion_files=raw.get("companion_files") or {},
        )
    except (KeyError, TypeError) as exc:
        raise ContractError(f"{path.name}: missing or malformed field {exc}") from exc
    problems = []
    if contract.feed != path.stem:
        problems.append("feed name differs from the file name")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", contract.feed):  # the build names a view landed_<feed> after it
        problems.append(f"feed name {contract.feed!r} is not a plain identifier")
    if contract.delivery not in ("full", "incremental"):
        problems.append(f"delivery {contract.delivery!r}")
    if contract.linkage not in ("spine", "nhs_number", "nhs_number_or_demographics", "none"):
        problems.append(f"linkage {contract.linkage!r}")
    for c in columns:
        if c.type not in TYPES:
            problems.append(f"column {c.name} has unknown type {c.type!r}")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", c.name):
            problems.append(f"column name {c.name!r} is not a plain identifier")
    for key in contract.unique_key:
        if key not in contract.column_names:
            problems.append(f"unique key column {key} is not a column")
    if problems:
        raise ContractError(f"{path.name}: " + "; ".join(problems))
    return contract


def load_contracts(directory: Path | None = None) -> dict[str, Contract]:
    """All contracts, in ingest order (geography and the GP registrations spine first)."""
    directory = directory or config.CONTRACTS_DIR
    contracts = [_load(p) for p in sorted(directory.glob("*.yaml"))]
    return {c.feed: c for c in sorted(contracts, key=lambda c: (c.order, c.feed))}


def contract_for_file(path: Path, contracts: dict[str, Contract] | None = None) -> Contract | None:
    contracts = contracts or load_contracts()
    for contract in contracts.values():
        if contract.matches(path.name) or contract.companion_kind(path.name):
            return contract
    return None


# ------------------------------------------------------------------------------------------- reading
def normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


def read_raw(path: Path) -> tuple[pa.Table, int]:
    """The file as an Arrow table (text columns, or native Parquet types) and the number of its first data row."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path), 2
        if suffix == ".xlsx":
            return _read_xlsx(path), 2
        if suffix == ".parquet":
            return pq.read_table(path), 1
    except FeedFileError:
        raise
    except Exception as exc:  # any parser failure means the file is unreadable as that format
        raise FeedFileError(f"cannot be read as {suffix[1:].upper()}: {exc}") from exc
    raise FeedFileError(f"unsupported file type {suffix or '(none)'}; use CSV, Excel (.xlsx) or Parquet")


def _read_csv(path: Path) -> pa.Table:
    with open(path, "rb") as fh:
        start = fh.read(4096)
    if start[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in start:
        raise FeedFileError("is UTF-16 or binary, not UTF-8 text: save it as 'CSV UTF-8' and send it again")
    if re.match(rb"\s*<(!doctype|html|\?xml|head|body|table)", start.lstrip(b"\xef\xbb\xbf"), re.IGNORECASE):
        raise FeedFileError("is a web page (HTML), not CSV: download the extract itself rather than saving "
                            "the page that links to it")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            with open(path, encoding=encoding, newline="") as fh:
                header = next(csv.reader([fh.readline()]), [])
            if not header or not any(h.strip() for h in header):
                raise FeedFileError("has no header row")
            return pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(column_names=header, skip_rows=1,
                                               encoding="utf8" if encoding == "utf-8-sig" else encoding),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
        except UnicodeDecodeError:
            continue
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc) or "utf8" in str(exc).lower():
                continue
            # Arrow's message quotes the offending rows, identifiers and all: say where instead
            raise _ragged_row(path, encoding, len(header)) from None
    raise FeedFileError("is not UTF-8 or Windows-1252 text")


def _ragged_row(path: Path, encoding: str, width: int) -> FeedFileError:
    """The first row whose number of cells differs from the header's (rows counted as in fault reports)."""
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        starts = reader.line_num + 1  # a quoted cell may span lines: a row is named by its first line
        try:
            for row in reader:
                if row and len(row) != width:
                    return FeedFileError(f"cannot be read as CSV: this row has {len(row)} cells where the header "
                                         f"has {width} (check for stray commas or quotes)", row=starts)
                starts = reader.line_num + 1
        except csv.Error:
            return FeedFileError("cannot be read as CSV: a quoted cell is not closed", row=starts)
    return FeedFileError("cannot be read as CSV: its rows do not match its header")


MAX_EXPANDED_BYTES = 256 * 1024 * 1024  # an Excel feed is a small one; a bigger unpacked size is an attack


def check_zip_expansion(source) -> None:
    """Refuse an Excel file (a zip archive) whose parts would unpack to more than MAX_EXPANDED_BYTES,
    before anything unpacks it: a few kilobytes can hold gigabytes of repeated cells."""
    import zipfile

    try:
        with zipfile.ZipFile(source) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise FeedFileError(f"cannot be read as XLSX: {exc}") from exc
    if total > MAX_EXPANDED_BYTES:
        raise FeedFileError(f"would unpack to {total / 1e6:,.0f} MB (the limit is "
                            f"{MAX_EXPANDED_BYTES / 1e6:,.0f} MB): send large extracts as CSV or Parquet")


def _read_xlsx(path: Path) -> pa.Table:
    import datetime as dt

    from openpyxl import load_workbook

    check_zip_expansion(path)

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise FeedFileError("has no header row in its first sheet")
        names = ["" if h is None else str(h) for h in header]
        columns: list[list[str]] = [[] for _ in names]

        def text(v) -> str:
            if v is None:
                return ""
            if isinstance(v, dt.datetime):
                return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
            if isinstance(v, dt.date):
                return v.isoformat()
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            return str(v)

        for row in rows:  # openpyxl only reads row by row; Excel feeds are the small ones
            for i in range(len(names)):
                columns[i].append(text(row[i]) if i < len(row) else "")
        return pa.table({f"{i}:{n}": pa.array(col, pa.string()) for i, (n, col) in enumerate(zip(names, columns))}
                        ).rename_columns(names)
    finally:
        wb.close()


# ------------------------------------------------------------------------------------------- validation
@dataclass
class Fault:
    row: int | None
    column: str | None
    value: str | None
    reason: str

    def text(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        col = f", column {self.column}" if self.column else ""
        val = f" (value {self.value!r})" if self.value not in (None, "") else ""
        return f"{where}{col}: {self.reason}{val}"


@dataclass
class Validation:
    contract: Contract
    path: Path
    rows: int
    faults: list[Fault]
    n_faults: int
    typed: pa.Table | None  # contract columns with their types, plus _row; None if the file failed
    ignored_columns: list[str] = field(default_factory=list)
    # validate_file(..., keep=name): the same rows left in the connection under that name (typed is None)
    typed_view: str | None = None

    @property
    def ok(self) -> bool:
        return self.n_faults == 0


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _typed_expr(col: Column, raw: str) -> tuple[str, str]:
    """SQL for the typed value of a raw (VARCHAR, trimmed) expression and the reason used when it does not parse.
    Free text (type string) is its raw value and needs none (see validate_file)."""
    if col.type == "code":
        value = f"NULLIF(trim({raw}), '')"
        if col.allowed:
            cases = " ".join(f"WHEN {_lit(a.lower())} THEN {_lit(a)}" for a in col.allowed)
            return (f"CASE lower({value}) {cases} END",
                    "is not an allowed code (allowed: " + ", ".join(col.allowed) + ")")
        return value, "is not text"
    if col.type == "integer":
        d = f"TRY_CAST(trim({raw}) AS DOUBLE)"
        return f"CASE WHEN {d} = round({d}) THEN CAST({d} AS BIGINT) END", "is not a whole number"
    if col.type == "number":
        return f"TRY_CAST(trim({raw}) AS DOUBLE)", "is not a number"
    if col.type == "date":
        # dispatch on the shape first: a failing strptime is slow, and most values fit exactly one shape
        return (f"CASE WHEN regexp_full_match({raw}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN TRY_CAST({raw} AS DATE) "
                f"WHEN regexp_full_match({raw}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}') "
                f"THEN CAST(TRY_STRPTIME({raw}, '%d/%m/%Y') AS DATE) "
                f"WHEN regexp_full_match({raw}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[ T][0-9:.]+') "
                f"THEN CAST(TRY_CAST({raw} AS TIMESTAMP) AS DATE) "
                f"WHEN regexp_full_match({raw}, '[0-9]{{1,2}}-[0-9]{{1,2}}-[0-9]{{4}}') "
                f"THEN CAST(TRY_STRPTIME({raw}, '%d-%m-%Y') AS DATE) "
                f"WHEN regexp_full_match({raw}, '[0-9]{{8}}') THEN CAST(TRY_STRPTIME({raw}, '%Y%m%d') AS DATE) END",
                f"is not a date ({DATE_FORMATS_TEXT})")
    if col.type == "boolean":
        return (f"CASE WHEN lower(trim({raw})) IN ('y','yes','true','1') THEN true "
                f"WHEN lower(trim({raw})) IN ('n','no','false','0') THEN false END", "is not Y or N")
    raise ContractError(f"unknown type {col.type}")


def _native_typed(col: Column, column_type: pa.DataType, raw: str) -> tuple[str, str] | None:
    """For a date or number column that arrives already typed (Parquet), the SQL of its typed value and the
    reason used when it does not convert; None for a value that arrives as text."""
    if col.type == "date" and (pa.types.is_date(column_type) or pa.types.is_timestamp(column_type)):
        return f"CAST({raw} AS DATE)", "is not a date"
    if col.type in ("integer", "number") and (pa.types.is_integer(column_type) or pa.types.is_floating(column_type)):
        cast = "BIGINT" if col.type == "integer" else "DOUBLE"
        return f"TRY_CAST({raw} AS {cast})", f"is not a {TYPE_TEXT[col.type]}"
    return None


SQL_TYPES = {"string": "VARCHAR", "code": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "date": "DATE",
             "boolean": "BOOLEAN", "nhs_number": "VARCHAR"}


def validate_file(path: Path, contract: Contract, con: duckdb.DuckDBPyConnection | None = None,
                  keep: str | None = None) -> Validation:
    """Read and check one file against its contract; return typed rows when it passes.

    ``keep`` (a plain identifier): leave the typed rows in ``con`` as a view of that name instead of
    returning them, for a caller that goes on in SQL. Handing 19 million rows to Arrow and back cost a
    national GP events file about 5 s of its 20 s check (docs/performance.md)."""
    if keep is not None and not re.fullmatch(r"[a-z_][a-z0-9_]*", keep):
        raise ValueError(f"not a plain identifier: {keep!r}")
    con = con or duckdb.connect()
    try:
        table, first_row = read_raw(path)
    except FeedFileError as exc:
        return Validation(contract, path, 0, [Fault(exc.row, None, None, f"the file {exc}")], 1, None)
    if table.num_rows == 0:
        return Validation(contract, path, 0, [Fault(None, None, None, "the file has no data rows")], 1, None)

    # match columns by normalised name or alias
    by_norm: dict[str, str] = {}
    for name in table.column_names:
        by_norm.setdefault(normalise_name(name), name)
    source: dict[str, str | None] = {}
    for col in contract.columns:
        candidates = [col.name, *col.aliases]
        source[col.name] = next((by_norm[normalise_name(c)] for c in candidates if normalise_name(c) in by_norm),
                                None)
    used = {s for s in source.values() if s}
    ignored = [n for n in table.column_names if n not in used]
    missing = [c.name for c in contract.columns if c.required and source[c.name] is None]
    if missing:
        faults = [Fault(None, m, None, "required column is missing from the file") for m in missing]
        return Validation(contract, path, table.num_rows, faults, len(faults), None, ignored)

    rows = pa.array(np.arange(first_row, first_row + table.num_rows, dtype=np.int64))  # 0.9 s as a range at 9.5M rows
    src = pa.table({**{f"c{i}": table.column(n) for i, n in enumerate(table.column_names)}, "_row": rows})
    index = {n: f"c{i}" for i, n in enumerate(table.column_names)}
    con.register("src_file", src)
    stage1, selects, fault_queries, nhs_checks = ["_row"], ["_row"], [], []
    for col in contract.columns:
        raw_c = _q("raw_" + col.name)
        if source[col.name] is None:
            stage1.append(f"CAST(NULL AS VARCHAR) AS {raw_c}")
            selects += [raw_c, f"CAST(NULL AS {SQL_TYPES[col.type]}) AS {_q(col.name)}"]
            continue
        src_c = index[source[col.name]]
        column_type = table.schema.field(source[col.name]).type
        typed_c = _q(col.name)
        trimmed = f"NULLIF(trim(CAST({src_c} AS VARCHAR)), '')"  # stage 1 trims a text value once; stage 2 types it
        native = _native_typed(col, column_type, raw_c)
        if native:
            # Already typed (Parquet): no text parsing, which matters for large feeds. The value is kept as it
            # came and made text only for a row at fault.
            typed, bad_reason = native
            stage1.append(f"{src_c} AS {raw_c}")
            selects += [raw_c, f"{typed} AS {typed_c}"]
            raw_text = f"CAST({raw_c} AS VARCHAR)"
        elif col.type == "string":
            # the trimmed text is the value: held once, under the column's name (a second copy of every text
            # cell cost the national GP registrations seconds and gigabytes)
            stage1.append(f"{trimmed} AS {raw_c}")
            selects.append(f"{raw_c} AS {typed_c}")
            bad_reason, raw_text = None, typed_c
        elif col.type == "nhs_number":
            stage1.append(f"{trimmed} AS {raw_c}")
            stage1.append(f"regexp_replace({trimmed}, '[ -]', '', 'g') AS {_q('norm_' + col.name)}")
            # the modulus 11 check runs once per distinct number (a feed repeats each person many times)
            nhs_checks.append(col.name)
            selects += [raw_c, f"CASE WHEN {_q('ok_' + col.name)}.ok THEN {_q('norm_' + col.name)} END AS {typed_c}"]
            bad_reason, raw_text = "is not a valid NHS number (10 digits with a modulus 11 check digit)", raw_c
        else:
            stage1.append(f"{trimmed} AS {raw_c}")
            typed, bad_reason = _typed_expr(col, raw_c)
            selects += [raw_c, f"{typed} AS {typed_c}"]
            raw_text = raw_c
        reasons = []
        if col.required:
            reasons.append(f"WHEN {raw_text} IS NULL THEN 'required value is missing'")
        if bad_reason:
            reasons.append(f"WHEN {raw_text} IS NOT NULL AND {typed_c} IS NULL THEN {_lit(bad_reason)}")
        if col.pattern:
            reasons.append(f"WHEN {typed_c} IS NOT NULL AND NOT regexp_full_match(CAST({typed_c} AS VARCHAR), "
                           f"{_lit(col.pattern)}) THEN {_lit('does not have the expected form ' + col.pattern)}")
        if col.min is not None:
            reasons.append(f"WHEN {typed_c} < {col.min} THEN {_lit(f'is below the minimum {col.min}')}")
        if col.max is not None:
            reasons.append(f"WHEN {typed_c} > {col.max} THEN {_lit(f'is above the maximum {col.max}')}")
        if col.type == "date":
            reasons.append(f"WHEN {typed_c} NOT BETWEEN DATE '1900-01-01' AND DATE '2100-12-31' "
                           "THEN 'is outside the years 1900-2100'")
        if not reasons:
            continue  # optional free text: any value will do
        reason = "CASE " + " ".join(reasons) + " END"
        fault_queries.append(f"SELECT _row, {_lit(col.name)} AS col, {raw_text} AS value, {reason} AS reason "
                             f"FROM parsed WHERE ({reason}) IS NOT NULL")
    con.execute("CREATE OR REPLACE TEMP TABLE stage1 AS SELECT " + ", ".join(dict.fromkeys(stage1)) + " FROM src_file")
    # The file's cells are in stage1 now: let their Arrow copy go before the typed copies are made (the
    # national GP registrations, 21 million rows, peaked at about 18 GB with both held).
    con.unregister("src_file")
    n_rows = table.num_rows
    del table, src, rows
    joins = ""
    for name in nhs_checks:
        norm, ok = _q("norm_" + name), _q("ok_" + name)
        joins += (f" LEFT JOIN (SELECT v, {nhs_check_digit_sql('v')} AS ok FROM (SELECT DISTINCT {norm} AS v "
                  f"FROM stage1 WHERE {norm} IS NOT NULL)) {ok} ON {ok}.v = stage1.{norm}")
    con.execute("CREATE OR REPLACE TEMP TABLE parsed AS SELECT " + ", ".join(selects) + " FROM stage1" + joins)
    con.execute("DROP TABLE stage1")
    for check in contract.checks:  # rules are written in the contract files, never taken from input
        # name the columns the rule reads (in the rule's order), so the sender knows which cells to fix;
        # their values are shown unless one is an identifier
        named = sorted((m.start(), c) for c in contract.columns
                       if (m := re.search(rf"\b{re.escape(c.name)}\b", check["rule"])))
        cols = [c for _, c in named]
        value = ("NULL" if not cols or any(c.identifier for c in cols) else
                 "concat_ws(' | ', " + ", ".join(f"CAST({_q(c.name)} AS VARCHAR)" for c in cols) + ")")
        col_text = _lit(", ".join(c.name for c in cols)) if cols else "NULL"
        fault_queries.append(f"SELECT _row, {col_text} AS col, {value} AS value, {_lit(check['reason'])} AS reason "
                             f"FROM parsed WHERE NOT coalesce(({check['rule']}), true)")
    if contract.unique_key:
        key = ", ".join(_q(k) for k in contract.unique_key)
        fault_queries.append(
            f"SELECT _row, {_lit(', '.join(contract.unique_key))} AS col, "
            f"concat_ws(' | ', {', '.join(f'CAST({_q(k)} AS VARCHAR)' for k in contract.unique_key)}) AS value, "
            f"'duplicate key: the same ' || {_lit(', '.join(contract.unique_key))} || ' appears on an earlier row' "
            f"AS reason FROM (SELECT _row, {key}, row_number() OVER (PARTITION BY {key} ORDER BY _row) AS k "
            f"FROM parsed WHERE {' AND '.join(f'{_q(k)} IS NOT NULL' for k in contract.unique_key)}) WHERE k > 1")
    union = " UNION ALL ".join(fault_queries) if fault_queries else "SELECT NULL::BIGINT, NULL, NULL, NULL LIMIT 0"
    con.execute(f"CREATE OR REPLACE TEMP TABLE faults AS {union}")
    n_faults = con.execute("SELECT count(*) FROM faults").fetchone()[0]
    listed = con.execute(f"SELECT * FROM faults ORDER BY _row NULLS FIRST, col LIMIT {MAX_FAULTS_LISTED}").fetchall()
    faults = [Fault(int(r) if r is not None else None, c, v, reason) for r, c, v, reason in listed]
    typed = None
    typed_columns = "SELECT _row, " + ", ".join(_q(c.name) for c in contract.columns) + " FROM parsed"
    con.execute("DROP TABLE faults")
    if n_faults == 0 and keep:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {keep} AS {typed_columns}")  # parsed lives on under it
        return Validation(contract, path, n_rows, faults, 0, None, ignored, typed_view=keep)
    if n_faults == 0:
        typed = con.execute(typed_columns).fetch_arrow_table()
    con.execute("DROP TABLE parsed")
    return Validation(contract, path, n_rows, faults, int(n_faults), typed, ignored)


# ------------------------------------------------------------------------------------------- documentation
LINKAGE_TEXT = {
    "spine": "the linkage spine: each person's key is made here from the NHS number",
    "nhs_number": "linked by NHS number",
    "nhs_number_or_demographics": "linked by NHS number, or where there is none by date of birth + postcode + sex",
    "none": "not linked to people (anonymous or reference data)",
}
TYPE_TEXT = {
    "string": "text", "code": "code", "integer": "whole number", "number": "number",
    "date": f"date ({DATE_FORMATS_TEXT})", "boolean": "Y/N", "nhs_number": "NHS number",
}


def render_markdown(contracts: dict[str, Contract] | None = None) -> str:
    """docs/contracts.md, generated from the contract files (``python -m portal contracts-doc``)."""
    from portal import linkage

    contracts = contracts or load_contracts()
    out = [
        "# Feed contracts",
        "",
        "<!-- Generated from portal/contracts/*.yaml by `python -m portal contracts-doc`; do not edit by hand. -->",
        "",
        "Each feed an area sends is described by a contract: the columns, their types, which are required, the",
        "allowed codes and the keys. To plug your own data in, produce files that meet these contracts and run",
        "`python -m portal ingest <folder>` then `python -m portal build`.",
        "",
        "**Files.** CSV (UTF-8, with or without a byte-order mark; Windows-1252 is accepted too), Excel `.xlsx`",
        "(first sheet, header in row 1) or Parquet. Columns are matched by name, not position: case, spaces and",
        "punctuation do not matter, extra columns are ignored, and listed aliases are accepted. Dates may be",
        "`yyyy-mm-dd` or `dd/mm/yyyy`. Codes are matched without regard to case. A file is recognised by its name",
        "(the patterns below), or name the feed with `--feed`.",
        "",
        "**Checks.** A file that breaks its contract is moved to `data/quarantine/` with a report naming the row",
        "(the line in a CSV or the spreadsheet row, with the header as row 1; the record number in a Parquet",
        "file), column, value and reason, and the command exits non-zero. Nothing already ingested changes.",
        "Ingesting the same file again changes nothing (files are recognised by a hash of their content).",
        "",
        "**Deliveries.** A `full` feed is a complete snapshot: the latest file replaces the earlier one. An",
        "`incremental` feed adds up: every file landed is used.",
        "",
        "## Linkage",
        "",
        linkage.__doc__.split("\n", 2)[2].strip(),
        "",
        "Columns marked *identifier* are used for linkage and then dropped: they never reach the marts. The GP",
        "registrations' identifiers are kept only in `data/identifiable/` for the direct-care cohort finder.",
        "",
        "## Feeds",
        "",
        "| feed | what | grain | delivery | files |",
        "|---|---|---|---|---|",
    ]
    for c in contracts.values():
        out.append(f"| [{c.feed}](#{c.feed}) | {c.title} | {c.grain} | {c.delivery} | "
                   + ", ".join(f"`{p}`" for p in c.file_patterns) + " |")
    for c in contracts.values():
        out += ["", f"## {c.feed}", "", f"**{c.title}.** {c.description}", "",
                f"- Source: {c.source}", f"- Grain: {c.grain}", f"- Delivery: {c.delivery}",
                f"- Linkage: {LINKAGE_TEXT[c.linkage]}",
                f"- Unique key: {', '.join(f'`{k}`' for k in c.unique_key) if c.unique_key else 'none'}",
                "- Files: " + ", ".join(f"`{p}`" for p in c.file_patterns)]
        for kind, patterns in c.companion_files.items():
            out.append(f"- Also: {kind} file " + ", ".join(f"`{p}`" for p in patterns)
                       + " (GeoJSON FeatureCollection, one Polygon or MultiPolygon per locality, property `locality`)")
        out += ["", "| column | type | required | rules | meaning |", "|---|---|---|---|---|"]
        for col in c.columns:
            rules = []
            if col.allowed:
                rules.append("one of " + ", ".join(f"`{a}`" for a in col.allowed))
            if col.pattern:
                rules.append(f"matches `{col.pattern}`")
            if col.min is not None or col.max is not None:
                rules.append(f"{col.min if col.min is not None else ''}..{col.max if col.max is not None else ''}")
            if col.aliases:
                rules.append("also named " + ", ".join(f"`{a}`" for a in col.aliases))
            if col.identifier:
                rules.append("*identifier*")
            if col.free_text:
                rules.append("free text, redacted at build")
            out.append(f"| `{col.name}` | {TYPE_TEXT[col.type]} | {'yes' if col.required else 'no'} | "
                       f"{'; '.join(rules)} | {col.description} |")
        if c.checks:
            out += ["", "Row checks (a row failing one is a fault): " + "; ".join(f"`{chk['rule']}`" for chk in c.checks)]
        for field_name, codes in c.codes.items():
            out += ["", f"Codes the portal uses in `{field_name}`:", ""]
            out += [f"- `{code}` {meaning}" for code, meaning in codes.items()]
    return "\n".join(out) + "\n"
