"""The configured area: which local authorities and ICB "How do we compare?" benchmarks.

Read from ``data/reference/area.yaml`` (committed, editable by an adopting area); ``SEND_PORTAL_AREA_FILE``
points elsewhere for tests.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from portal import config


class AreaConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Area:
    name: str
    local_authorities: tuple[tuple[str, str], ...]  # (3-digit DfE code, name)
    icb: tuple[str, str] | None                    # (ONS code, name)

    @property
    def la_codes(self) -> list[str]:
        return [code for code, _ in self.local_authorities]

    @property
    def icb_code(self) -> str:
        return self.icb[0] if self.icb else ""

    @property
    def codes(self) -> list[str]:
        """Every configured code, LAs first (the order the page lists areas in)."""
        return self.la_codes + ([self.icb[0]] if self.icb else [])

    @property
    def names(self) -> dict[str, str]:
        """Each configured code's name as the area file gives it (shorter than some published names)."""
        return dict(self.local_authorities + ((self.icb,) if self.icb else ()))

    def label(self, code: str) -> str:
        for c, n in self.local_authorities + ((self.icb,) if self.icb else ()):
            if c == code:
                return n
        return code


def area_file() -> Path:
    return Path(os.environ.get("SEND_PORTAL_AREA_FILE", config.REFERENCE_DIR / "area.yaml"))


def load_area(path: Path | None = None) -> Area:
    path = path or area_file()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AreaConfigError(f"The area file {path} cannot be read: {exc}") from None
    las = []
    for item in raw.get("local_authorities") or []:
        code = str(item.get("code", "")).strip()
        if not re.fullmatch(r"\d{3}", code):
            raise AreaConfigError(f"{path.name}: local authority code {code!r} is not a 3-digit DfE number")
        las.append((code, str(item.get("name") or code)))
    icb = raw.get("icb")
    if icb:
        code = str(icb.get("code", "")).strip()
        if not re.fullmatch(r"E54\d{6}", code):
            raise AreaConfigError(f"{path.name}: ICB code {code!r} is not an ONS ICB code (E54 and six digits)")
        icb = (code, str(icb.get("name") or code))
    if not las and not icb:
        raise AreaConfigError(f"{path.name} names no local authority and no ICB")
    return Area(name=str(raw.get("name") or "the area"), local_authorities=tuple(las), icb=icb or None)
