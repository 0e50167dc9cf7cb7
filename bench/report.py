"""Result tables (printed and written as Markdown) and the machine they were measured on."""
from __future__ import annotations

import datetime as dt
import math
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil

from portal import config


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""

    def add(self, *cells) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(list(cells))

    def _cells(self) -> list[list[str]]:
        return [[fmt(c) for c in row] for row in self.rows]

    def text(self) -> str:
        cells = self._cells()
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        line = "  ".join(c.ljust(w) for c, w in zip(self.columns, widths))
        out = [self.title, "=" * len(self.title), line, "  ".join("-" * w for w in widths)]
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"### {self.title}", ""]
        if self.note:
            out += [self.note, ""]
        out.append("| " + " | ".join(self.columns) + " |")
        out.append("|" + "|".join("---" for _ in self.columns) + "|")
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in self._cells()]
        return "\n".join(out)


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("**met**" if met else "**missed**")


def machine_speed_seconds() -> float:
    """CPU seconds one core takes for a fixed pure-Python loop: lower is faster.

    Machines of the same kind (the same CPU name, two cores) have been seen to differ by four times in this
    figure, and one machine to drift by two times within a day, so every run records it at its start and
    end: figures from runs whose loop times differ are not comparable, whatever the commit."""
    started = time.process_time()
    sum(i * i for i in range(10**7))
    return time.process_time() - started


def machine_details(speed_seconds: Sequence[float] = ()) -> dict[str, str]:
    """What the figures were measured on, so they can be compared fairly; ``speed_seconds`` are the
    machine_speed_seconds() readings taken during the run."""
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for module in ("duckdb", "streamlit", "pandas", "pyarrow"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            versions[module] = "not installed"
    postgres = shutil.which("postgres") or _pg_bin("postgres")
    pg_version = "not installed"
    if postgres:
        try:
            pg_version = subprocess.run([postgres, "--version"], capture_output=True, text=True,
                                        timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=config.REPO_ROOT,
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "measured at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "CPU": f"{cpu} ({os.cpu_count()} logical cores available)",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "DuckDB": versions["duckdb"],
        "Streamlit": versions["streamlit"],
        "pandas": versions["pandas"],
        "pyarrow": versions["pyarrow"],
        "PostgreSQL": pg_version,
        # Other work on the machine slows every figure; a 1-minute load above the core count means
        # the benchmark was sharing the CPU.
        "load average (1, 5, 15 min) when written": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        **({"machine speed: CPU seconds for a fixed Python loop, at the run's start and end (lower is faster)":
            ", ".join(f"{s:.2f}" for s in speed_seconds)} if speed_seconds else {}),
    }


def _pg_bin(name: str) -> str | None:
    import glob

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None
