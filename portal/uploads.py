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
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from portal import config, ops

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
    suffix = Path(original_name or "").suffix.lower()
    if suffix not in EXTENSIONS[kind]:
        raise UploadError(f"'{_label(original_name)}' contains {KIND_LABELS[kind]} data but is named "
                          f"'{suffix or 'without an extension'}'. Rename it to end in {EXTENSIONS[kind][0]} "
                          "and upload it again.")
    return kind


def store_upload(data: bytes, original_name: str, allowed_kinds: frozenset[str], subdir: str,
                 max_bytes: int = MAX_UPLOAD_BYTES) -> StoredFile:
    """Check an upload and write it under a generated name in ``uploads_dir()/subdir``, read-only."""
    kind = check_upload(data, original_name, allowed_kinds, max_bytes)
    folder = config.uploads_dir() / subdir
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{secrets.token_hex(8)}.{kind}"
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
