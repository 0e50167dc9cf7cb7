"""Files people upload in the browser: checked, stored safely, and (for feed files) ingested and published.

Safety rules (SPEC §5): a size limit; the type is decided by the file's content, not its name; the file is
stored under a generated name inside ``config.uploads_dir()`` (the name people gave it is kept only as a
label); nothing uploaded is ever executed or imported as code, only read as data.

A feed file then goes through the data foundation's ingest (contract validation, linkage, quarantine);
if it is accepted the marts are rebuilt and published as a new version. If it is rejected nothing that
serves pages changes, and the validation report says precisely what is wrong.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import zipfile
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from portal import config, ops

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # a county's monthly extract fits; Streamlit's own cap is the same

# File kinds recognised by content. Feed files may be CSV, Excel or Parquet (SPEC §4); a data-request
# answer may also be a PDF.
CSV, EXCEL, PARQUET, PDF = "csv", "xlsx", "parquet", "pdf"
FEED_KINDS = frozenset({CSV, EXCEL, PARQUET})
ANSWER_KINDS = frozenset({CSV, EXCEL, PARQUET, PDF})
KIND_LABELS = {CSV: "CSV", EXCEL: "Excel (.xlsx)", PARQUET: "Parquet", PDF: "PDF"}
EXTENSIONS = {CSV: (".csv", ".txt"), EXCEL: (".xlsx",), PARQUET: (".parquet",), PDF: (".pdf",)}


class UploadError(ValueError):
    """An upload that was refused; the message is safe to show and says what to do."""


@dataclass(frozen=True)
class StoredFile:
    path: Path            # generated name inside uploads_dir()
    original_name: str    # what the person called it (a label only)
    kind: str
    size_bytes: int
    sha256: str


def detect_kind(data: bytes) -> str | None:
    """What a file really is, from its bytes: csv, xlsx, parquet, pdf, or None if none of these."""
    if len(data) >= 8 and data[:4] == b"PAR1" and data[-4:] == b"PAR1":
        return PARQUET
    if data[:5] == b"%PDF-":
        return PDF
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return EXCEL
        return None
    if _looks_like_text_table(data):
        return CSV
    return None


def _looks_like_text_table(data: bytes) -> bool:
    """Plain text (UTF-8, with or without a byte-order mark, or Windows-1252) with a delimited header."""
    sample = data[: 64 * 1024]
    if not sample.strip() or b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4:  # a multi-byte character cut by the sample boundary
            text = sample[: exc.start].decode("utf-8-sig")
        else:
            try:
                text = sample.decode("cp1252")
            except UnicodeDecodeError:
                return False
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in text):
        return False
    header = text.splitlines()[0] if text.splitlines() else ""
    return any(sep in header for sep in (",", "\t", ";", "|"))


def check_upload(data: bytes, original_name: str, allowed_kinds: frozenset[str],
                 max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """Refuse an upload that is empty, too big, or not one of the allowed kinds by content; return its kind.

    The name's extension must agree with the content too, so a renamed file is caught either way."""
    if not data:
        raise UploadError("The file is empty.")
    if len(data) > max_bytes:
        raise UploadError(f"The file is {_size(len(data))}; the limit is {_size(max_bytes)}.")
    kind = detect_kind(data)
    allowed = ", ".join(KIND_LABELS[k] for k in sorted(allowed_kinds))
    if kind is None or kind not in allowed_kinds:
        found = KIND_LABELS.get(kind, "not a file type the portal reads") if kind else "not a file type the portal reads"
        raise UploadError(f"'{_label(original_name)}' is {found}. Upload one of: {allowed}.")
    if kind == EXCEL:
        from portal.contracts import FeedFileError, check_zip_expansion

        try:
            check_zip_expansion(io.BytesIO(data))
        except FeedFileError as exc:
            raise UploadError(f"'{_label(original_name)}' {exc}.") from None
    suffix = Path(original_name or "").suffix.lower()
    if suffix not in EXTENSIONS[kind]:
        raise UploadError(f"'{_label(original_name)}' contains {KIND_LABELS[kind]} data but is named "
                          f"'{suffix or 'without an extension'}'. Rename it to end in {EXTENSIONS[kind][0]} "
                          "and upload it again.")
    return kind


def store_upload(data: bytes, original_name: str, allowed_kinds: frozenset[str], subdir: str,
                 max_bytes: int = MAX_UPLOAD_BYTES, prefix: str = "upload") -> StoredFile:
    """Check an upload and write it under a generated name in ``uploads_dir()/subdir``, read-only.

    ``prefix`` (a plain name chosen by the code, e.g. the feed) starts the generated name."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", prefix):
        raise ValueError(f"prefix {prefix!r} is not a plain name")
    kind = check_upload(data, original_name, allowed_kinds, max_bytes)
    folder = config.uploads_dir() / subdir
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{prefix}_{stamp}_{secrets.token_hex(8)}.{kind}"
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "xb") as fh:  # exclusive create: a generated name never overwrites anything
        fh.write(data)
    os.chmod(tmp, 0o440)  # data only: nobody may execute or change it
    os.replace(tmp, path)
    return StoredFile(path=path, original_name=_label(original_name), kind=kind, size_bytes=len(data),
                      sha256=hashlib.sha256(data).hexdigest())


def _label(name: str) -> str:
    """A display-safe version of a name someone gave a file (never used as a path)."""
    base = Path(str(name or "file")).name
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in "/\\")[:120]
    return cleaned or "file"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


# --- feed files from the Data status page ------------------------------------------------------------------

UPLOAD_ROLES = frozenset({"analyst", "admin"})
LIVE, REJECTED, UNCHANGED, BUILD_FAILED = "live", "rejected", "unchanged", "build failed"


@dataclass
class UploadResult:
    upload_id: int
    feed: str
    original_name: str
    status: str                    # live | rejected | unchanged | build failed
    message: str                   # one or two plain sentences for the person who uploaded
    report: str = ""               # the validation report (every fault, row by row), if any
    rows: int = 0
    mart_version: str | None = None
    previous_version: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == LIVE


def feed_choices() -> dict[str, str]:
    """Feed name -> title, in ingest order (from the data contracts)."""
    from portal.contracts import load_contracts

    return {feed: contract.title for feed, contract in load_contracts().items()}


def detect_feed(original_name: str) -> str | None:
    """The feed a file's name says it is (the contracts' file name patterns), as the command line does."""
    from portal.contracts import contract_for_file

    contract = contract_for_file(Path(_label(original_name)))
    return contract.feed if contract and not contract.companion_kind(_label(original_name)) else None


def upload_feed_file(user, data: bytes, original_name: str, feed: str | None, progress=None,
                     max_bytes: int = MAX_UPLOAD_BYTES) -> UploadResult:
    """Check, store, validate and ingest one feed file; on success rebuild and publish the marts.

    ``feed`` None means: work it out from the file's name. ``progress(fraction, text)`` is told how far
    it has got. A rejected file changes nothing that pages
    read: it is quarantined with its report and the live mart version stays as it was.
    """
    from portal import ingest, store

    step = progress or (lambda fraction, text: None)
    if user is None or user.role not in UPLOAD_ROLES:
        raise PermissionError("Only analysts and administrators can upload feed files.")
    feeds = feed_choices()
    if feed is None:
        feed = detect_feed(original_name)
        if feed is None:
            raise UploadError(f"Cannot tell which feed '{_label(original_name)}' is from its name: choose the "
                              "feed, or name the file after it (for example gp_events_2026-10.csv).")
    if feed not in feeds:
        raise UploadError(f"Choose which feed this file is: one of {', '.join(feeds)}.")
    step(0.05, "Checking the file")
    stored = store_upload(data, original_name, FEED_KINDS, "feeds", max_bytes=max_bytes, prefix=feed)
    previous = _live_version_name()
    upload_id = _record(stored, feed, user.username)
    step(0.15, "Checking the file against the data contract")

    def ingest_progress(done, total, name):
        step(0.15 + 0.35 * (done / max(total, 1)), "Checking and linking the records")

    try:
        outcome = ingest.ingest([stored.path], feed=feed, progress=ingest_progress)[0]
    except ingest.IngestError as exc:
        return _finish(upload_id, user, stored, feed, REJECTED, _named(str(exc), stored), "", 0, None, previous)
    report = _report_text(outcome, stored)
    if outcome.status == "already ingested":
        return _finish(upload_id, user, stored, feed, UNCHANGED,
                       f"'{stored.original_name}' has exactly the same content as a file already loaded, so "
                       "nothing changed.", report, outcome.rows, previous, previous)
    if outcome.failed:
        faults = outcome.message.splitlines()[0] if outcome.message else "it does not meet the data contract"
        message = (f"'{stored.original_name}' was rejected and nothing has changed: {_named(faults, stored)}. "
                   "See the validation report below, correct the file and upload it again.")
        return _finish(upload_id, user, stored, feed, REJECTED, message, report, outcome.rows, None, previous)

    step(0.55, "Rebuilding the data the pages read")

    def build_progress(done, total, model):
        step(0.55 + 0.4 * (done / max(total, 1)), "Rebuilding the data the pages read")

    try:
        version = _build_and_publish(build_progress)
    except Exception as exc:  # the last good version keeps serving; the details go to the report
        log.exception("mart rebuild after upload %s failed", upload_id)
        return _finish(upload_id, user, stored, feed, BUILD_FAILED,
                       f"'{stored.original_name}' passed its checks and was loaded, but rebuilding the data "
                       "failed, so the pages still show the previous version. An administrator has the "
                       "details in the server log.", report + f"\nRebuild failed: {type(exc).__name__}",
                       outcome.rows, None, previous)
    step(1.0, "Done: the new data is live")
    return _finish(upload_id, user, stored, feed, LIVE,
                   f"'{stored.original_name}' passed every check: {outcome.rows:,} rows loaded"
                   + (f", {outcome.linked_rows:,} linked to a person" if outcome.linked_rows is not None else "")
                   + f". The pages now show data version {version}.", report, outcome.rows, version, previous)


def _build_and_publish(progress=None) -> str:
    """Rebuild every mart from the landed feeds and publish the result; the new version's name."""
    from portal import marts

    return marts.build(progress=progress).name


def _live_version_name() -> str | None:
    from portal import store

    try:
        return store.current_version().name
    except (store.NoMartsError, store.MartsUnavailableError):
        return None


def _named(text: str, stored: StoredFile) -> str:
    """Messages from ingest name the stored file; people know it by the name they gave it."""
    return text.replace(stored.path.name, stored.original_name)


def _report_text(outcome, stored: StoredFile) -> str:
    if outcome.report and Path(outcome.report).exists():
        return _named(Path(outcome.report).read_text(), stored)
    return _named(outcome.message or "", stored)


def _record(stored: StoredFile, feed: str, username: str) -> int:
    with ops.connect() as conn:
        cur = conn.execute(
            "INSERT INTO uploads (stored_name, original_name, feed, size_bytes, sha256, uploaded_by, uploaded_at,"
            " status) VALUES (?, ?, ?, ?, ?, ?, ?, 'received')",
            (stored.path.name, stored.original_name, feed, stored.size_bytes, stored.sha256, username,
             datetime.now(timezone.utc).isoformat(timespec="seconds")))
        return cur.lastrowid


def _finish(upload_id: int, user, stored: StoredFile, feed: str, status: str, message: str, report: str,
            rows: int, version: str | None, previous: str | None) -> UploadResult:
    with ops.connect() as conn:
        conn.execute("UPDATE uploads SET status = ?, message = ?, report = ?, mart_version = ? WHERE id = ?",
                     (status, message, json.dumps({"text": report, "rows": rows}), version, upload_id))
    event = {LIVE: "upload_accepted", UNCHANGED: "upload_unchanged", REJECTED: "upload_rejected",
             BUILD_FAILED: "upload_build_failed"}[status]
    ops.audit(event, user.username, {"upload_id": upload_id, "feed": feed, "file": stored.original_name,
                                     "stored_as": stored.path.name, "sha256": stored.sha256, "rows": rows,
                                     "status": status, "mart_version": version, "previous_version": previous})
    return UploadResult(upload_id, feed, stored.original_name, status, message, report, rows, version, previous)


def original_names() -> dict[str, str]:
    """Generated stored name -> the name the uploader gave the file, for every feed upload."""
    with ops.connect() as conn:
        return {row["stored_name"]: row["original_name"]
                for row in conn.execute("SELECT stored_name, original_name FROM uploads")}


def recent_uploads(limit: int = 50) -> list[dict]:
    """The newest uploads first, with their outcome (for the Data status page)."""
    with ops.connect() as conn:
        rows = conn.execute("SELECT * FROM uploads ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
    out = []
    for row in rows:
        item = dict(row)
        try:
            item["report"] = json.loads(item.get("report") or "{}").get("text", "")
        except ValueError:
            item["report"] = ""
        out.append(item)
    return out
