"""Start and stop a real portal server for a benchmark or soak, on a free loopback port.

The server runs the production entry (``portal/app.py``) with the production flags of ``portal serve``, in its
own process group with its own data directory, and is always stopped afterwards (even on error), so a
benchmark never leaves a server behind.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import requests

from portal import config
from portal.commands.serve import streamlit_command

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PortalServer:
    """``with PortalServer(data_dir) as server: server.url ...``; ``server.rss_bytes()`` for memory."""

    def __init__(self, data_dir: Path, port: int | None = None, startup_timeout: float = 90.0,
                 log_path: Path | None = None, extra_env: dict[str, str] | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"portal-bench-{self.port}.log"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "PortalServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        env = dict(os.environ, SEND_PORTAL_DATA_DIR=str(self.data_dir), PYTHONUNBUFFERED="1", **self.extra_env)
        # Exactly the command ``python -m portal serve`` runs, so the figures are production's.
        cmd = streamlit_command(self.port, "127.0.0.1")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(cmd, cwd=config.REPO_ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.close()
                raise RuntimeError(f"portal server exited at start; log:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/_stcore/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"portal server not healthy within {self.startup_timeout:.0f} s; log:\n{self.log_tail()}")

    def rss_bytes(self) -> int:
        """Resident memory of the server and any children it started."""
        if not self.process or self.process.poll() is not None:
            return 0
        try:
            proc = psutil.Process(self.process.pid)
            procs = [proc, *proc.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs if p.is_running())
        except psutil.Error:
            return 0

    def cpu_seconds(self) -> float:
        if not self.process or self.process.poll() is not None:
            return 0.0
        try:
            times = psutil.Process(self.process.pid).cpu_times()
            return times.user + times.system
        except psutil.Error:
            return 0.0

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if not self.process:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)  # our own process group only
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=15)
        if not self._log.closed:
            self._log.close()
        self.process = None
