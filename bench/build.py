"""Build time and peak memory: the demo built from nothing, as an adopter's first run would.

Runs ``python -m portal build-demo --scale <scale>`` in a child process with its own data directory and
measures wall time, the peak resident memory of the whole process tree (sampled) and of the largest
single process (from the kernel's accounting, exact). Phase timings are read from the command's own
summary line (``generate 40.2s, ingest 30.5s, build 24.4s``).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from portal import config

# build-demo ends with "... ready in 95.1s (generate 40.2s, ingest 30.5s, build 24.4s)".
_PHASE = re.compile(r"\b(?P<phase>generate|ingest|build)\s+(?P<sec>\d+(?:\.\d+)?)s\b")


@dataclass
class BuildResult:
    scale: str
    seconds: float
    peak_tree_rss: int        # bytes, sampled every 0.2 s over the process and its children
    peak_process_rss: int     # bytes, the largest single process (kernel's ru_maxrss)
    returncode: int
    phases: dict[str, float] = field(default_factory=dict)
    output_tail: str = ""
    data_bytes: int = 0       # size of the data directory afterwards
    cpu_seconds: float = 0.0  # user + system CPU of the whole tree: what the build costs on an idle machine

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _tree_rss(pid: int) -> int:
    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
    except psutil.Error:
        return 0


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def build(scale: str, data_dir: Path, fresh: bool = True, timeout_s: float = 3600,
          extra_args: list[str] | None = None) -> BuildResult:
    data_dir = Path(data_dir)
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SEND_PORTAL_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "portal", "build-demo", "--scale", scale, *(extra_args or [])]
    log_path = data_dir.parent / f"build-{scale}.log"
    peak = 0
    stop = threading.Event()

    started = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=config.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss(proc.pid))
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = time.monotonic() + timeout_s
        rusage = None
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                returncode = os.waitstatus_to_exitcode(status)
                proc.returncode = returncode
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, rusage = os.wait4(proc.pid, 0)
                proc.returncode = returncode = -9
                break
            time.sleep(0.1)
        stop.set()
        sampler.join()
    seconds = time.perf_counter() - started
    output = log_path.read_text(errors="replace")
    phases = {m["phase"].strip(): float(m["sec"]) for m in _PHASE.finditer(output)}
    return BuildResult(
        scale=scale, seconds=seconds, peak_tree_rss=peak,
        peak_process_rss=(rusage.ru_maxrss * 1024) if rusage else 0,  # Linux reports kilobytes
        returncode=returncode, phases=phases, output_tail="\n".join(output.splitlines()[-15:]),
        data_bytes=_dir_bytes(data_dir),
        cpu_seconds=(rusage.ru_utime + rusage.ru_stime) if rusage else 0.0,
    )
