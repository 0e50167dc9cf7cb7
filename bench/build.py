"""Build time and peak memory: the demo built from nothing, as an adopter's first run would.

Runs ``python -m portal build-demo --scale <scale>`` in a child process with its own data directory and
measures wall time, the peak memory of the whole process tree (sampled; proportional set size, so pages
that forked processes share are counted once) and the peak resident memory of the largest single process
(from the kernel's accounting, exact). Phase timings and CPU seconds are read from the
command's own summary line (``generate 40.2s, ingest 30.5s, build 24.4s; CPU seconds {...}``). The memory
samples are also attributed to the step the command's progress output last named (a feed file being
ingested, a model being built), so a peak can be traced to the step that reached it.
"""
from __future__ import annotations

import ast
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
_PHASE_CPU = re.compile(r"CPU seconds (?P<cpu>\{[^}]*\})")
# Progress lines: "build-demo: people and geography" while generating, then
# "ingest [###---] 3/64 gp_events_001.parquet (159s)" and "build [##---] 3/36 stg_person_spells slice 2/9 (35s)".
_PROGRESS = re.compile(r"^(?:build-demo: (?P<note>.+)|(?P<phase>ingest|build) \[[#-]*\] \d+/\d+ (?P<step>.+?)"
                       r"(?: \(\d+s\))?)$")


@dataclass
class BuildResult:
    scale: str
    seconds: float
    # bytes, sampled every second over the process and its children: the sum of their proportional set sizes. A sum
    # of resident sizes counts the pages a forked process shares with its parent once per process: the national
    # generator's two workers made that 25.6 GB, on a machine of 23.5 GiB with no swap.
    peak_tree_memory: int
    peak_process_rss: int     # bytes, the largest single process (kernel's ru_maxrss)
    returncode: int
    phases: dict[str, float] = field(default_factory=dict)
    output_tail: str = ""
    data_bytes: int = 0       # size of the data directory afterwards
    cpu_seconds: float = 0.0  # user + system CPU of the whole tree: what the build costs on an idle machine
    phase_cpu_seconds: dict[str, float] = field(default_factory=dict)
    # phase -> [peak bytes of the process tree while in it, the step the progress output last named then]
    phase_peaks: dict[str, list] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _tree_memory(pid: int) -> int:
    """Bytes of memory the process tree holds, shared pages counted once (the sum of proportional set sizes)."""
    try:
        proc = psutil.Process(pid)
        processes = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in processes:
        try:
            total += p.memory_full_info().pss
        except psutil.Error:  # it ended between the listing and the reading
            pass
    return total


class _StepTracker:
    """Follows the build's log as it is written: which phase and step the command is in now."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.offset = 0
        self.partial = ""
        self.phase, self.step = "generate", "starting"

    def update(self) -> tuple[str, str]:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.offset)
                chunk = log.read()
        except OSError:
            return self.phase, self.step
        self.offset += len(chunk)
        # a progress bar on a terminal rewrites its line with "\r"; each rewrite names the step now
        lines = (self.partial + chunk.decode(errors="replace")).replace("\r", "\n").split("\n")
        self.partial = lines.pop()
        for line in lines:
            found = _PROGRESS.match(line)
            if not found:
                continue
            if found["phase"]:
                self.phase, self.step = found["phase"], found["step"]
            elif "; ingesting" in found["note"]:
                self.phase, self.step = "ingest", "starting"
            elif "; building marts" in found["note"]:
                self.phase, self.step = "build", "starting"
            else:
                self.step = found["note"]
        return self.phase, self.step


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# Long enough for a national build on a slow machine (76 minutes measured on one): the target is 30 minutes,
# but a build stopped at the limit could only be reported as failed, not measured.
def build(scale: str, data_dir: Path, fresh: bool = True, timeout_s: float = 4 * 3600,
          extra_args: list[str] | None = None) -> BuildResult:
    data_dir = Path(data_dir)
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SEND_PORTAL_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "portal", "build-demo", "--scale", scale, *(extra_args or [])]
    log_path = data_dir.parent / f"build-{scale}.log"
    peak = 0
    phase_peaks: dict[str, list] = {}
    stop = threading.Event()

    started = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=config.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

        tracker = _StepTracker(log_path)

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                held = _tree_memory(proc.pid)
                phase, step = tracker.update()
                peak = max(peak, held)
                if held > phase_peaks.get(phase, [0, ""])[0]:
                    phase_peaks[phase] = [held, step]
                # Reading proportional set sizes walks each process's pages: every 0.2 s it took a quarter
                # of a core beside the national generator, so once a second.
                stop.wait(1.0)

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
    cpu = _PHASE_CPU.search(output)
    phase_cpu = {k: float(v) for k, v in ast.literal_eval(cpu["cpu"]).items()} if cpu else {}
    return BuildResult(
        scale=scale, seconds=seconds, peak_tree_memory=peak,
        peak_process_rss=(rusage.ru_maxrss * 1024) if rusage else 0,  # Linux reports kilobytes
        returncode=returncode, phases=phases, output_tail="\n".join(output.splitlines()[-15:]),
        data_bytes=_dir_bytes(data_dir),
        cpu_seconds=(rusage.ru_utime + rusage.ru_stime) if rusage else 0.0,
        phase_cpu_seconds=phase_cpu, phase_peaks=phase_peaks,
    )
