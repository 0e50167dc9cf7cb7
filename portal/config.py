"""Where things live on disk, and how secrets are found.

Everything that is generated or private (feeds, marts, the operational database, secrets) lives under
the data directory, which is outside version control. ``SEND_PORTAL_DATA_DIR`` moves it, so tests can
work in a temporary folder without touching the demo.
"""
from __future__ import annotations

import fcntl
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = REPO_ROOT / "queries"
MODELS_DIR = REPO_ROOT / "models"
PAGES_DIR = REPO_ROOT / "pages"
HELP_VIDEOS_DIR = REPO_ROOT / "help_videos"
CONTRACTS_DIR = REPO_ROOT / "portal" / "contracts"
REFERENCE_DIR = REPO_ROOT / "data" / "reference"


def data_dir() -> Path:
    """The root of generated and private data (read each call so tests can point it elsewhere)."""
    return _resolved(os.environ.get("SEND_PORTAL_DATA_DIR") or str(REPO_ROOT / "data"))


@lru_cache(maxsize=64)
def _resolved(path: str) -> Path:
    # Every query and page run asks for the data directory; resolving it walks the file system each time.
    return Path(path).resolve()


def feeds_dir() -> Path:
    """Raw feed files as received (the synthetic generator writes here too)."""
    return data_dir() / "feeds"


def landed_dir() -> Path:
    """Validated, ingested feed files, normalised to Parquet, one folder per feed."""
    return data_dir() / "landed"


def quarantine_dir() -> Path:
    """Files that failed their contract, each with a report beside it."""
    return data_dir() / "quarantine"


def marts_dir() -> Path:
    """Published mart versions (``v<timestamp>/``) and the ``CURRENT`` pointer."""
    return data_dir() / "marts"


def identifiable_dir() -> Path:
    """The only store that keeps direct identifiers, for direct care (GP cohort finder)."""
    return data_dir() / "identifiable"


def uploads_dir() -> Path:
    return data_dir() / "uploads"


def ops_db_path() -> Path:
    """SQLite database for users, sessions, audit log and data requests."""
    return data_dir() / "ops" / "portal.sqlite"


def _secret_file() -> Path:
    return data_dir() / "secrets" / "secrets.env"


def get_secret(name: str) -> str:
    """A secret from the environment, else from the data directory's secrets file.

    The demo creates the file with random values on first use, so no secret ever sits in the repository.
    A real deployment sets the environment variables instead.
    """
    value = os.environ.get(name)
    if value:
        return value
    path = _secret_file()
    stored = _read_env_file(path)
    if name in stored:
        return stored[name]
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The first sign-ins of a new portal, and a build beside it, can all ask for a new secret at once. Each
    # would make its own value, and all but one would be lost (a session signed with a lost cookie key, or
    # records linked with a lost linkage key). So one lock serves every thread and process, the file is
    # read again under it, and only a caller that still finds no value makes one.
    with open(path.with_name("secrets.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        stored = _read_env_file(path)
        if name not in stored:
            stored[name] = secrets.token_hex(32)
            _write_private(path, "".join(f"{k}={v}\n" for k, v in stored.items()))
    return stored[name]


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` in one step with a file only its owner can read (mkstemp creates it 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            pairs[key.strip()] = value.strip()
    return pairs
