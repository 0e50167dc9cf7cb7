"""The recognised published files and their indicators, read from ``portal/public/indicators.yaml``."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

SPEC_FILE = Path(__file__).with_name("indicators.yaml")


@lru_cache(maxsize=1)
def specs() -> dict:
    return yaml.safe_load(SPEC_FILE.read_text())


def caveat(key: str | None) -> str | None:
    return specs().get("caveats", {}).get(key) if key else None
