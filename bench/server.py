"""Start and stop a real portal server for a benchmark or soak, on a free loopback port.

The server is started by ``python -m portal serve`` itself (the production entry and flags; with ``workers`` > 1,
that many server processes behind HAProxy), in its own process group with its own data directory, and is
always stopped afterwards (even on error), so a benchmark never leaves a server behind. Memory and CPU are
those of the whole process tree: every worker and HAProxy.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from portal import config
from portal.ports import free_loopback_port
from portal.server_process import ServerDidNotStart, log_tail, wait_until_healthy


class PortalServer:
    """``with PortalServer(data_dir) as server: server.url ...``; ``server.rss_bytes()`` for memory."""

    def __init__(self, data_dir: Path, port: int | None = None, startup_timeout: float = 90.0,
                 log_path: Path | None = None, extra_env: dict[str, str] | None = None, workers: int = 1):
        self.data_dir = Path(data_dir)
        self.port = port or free_loopback_port()
        self.startup_timeout = startup_timeout
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"portal-bench-{self.port}.log"
        self.extra_env = extra_env or {}
        self.workers = workers
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
        # The command people start the portal with, so the figures are production's.
        cmd = [sys.executable, "-m", "portal", "serve", "--no-build", "--no-demo-users", "--address", "127.0.0.1",
               "--port", str(self.port), "--workers", str(self.workers)]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(cmd, cwd=config.REPO_ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_healthy(self.url, self.process, self.startup_timeout)
        except ServerDidNotStart as exc:
            self.stop()
            raise RuntimeError(f"portal server {exc}; log:\n{log_tail(self.log_path)}") from None

    def _tree(self) -> list[psutil.Process]:
        """The server and every process it started (workers and HAProxy, with several workers)."""
        if not self.process or self.process.poll() is not None:
            return []
        try:
            proc = psutil.Process(self.process.pid)
            return [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return []

    def rss_bytes(self) -> int:
        """Resident memory of the whole process tree."""
        return sum(_or_zero(lambda p=p: p.memory_info().rss) for p in self._tree())

    def cpu_seconds(self) -> float:
        """User + system CPU of the whole process tree (processes that have exited are not counted)."""
        return sum(_or_zero(lambda p=p: sum(p.cpu_times()[:2])) for p in self._tree())

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


def _or_zero(measure) -> float:
    try:
        return measure()
    except psutil.Error:  # the process ended between listing and measuring it
        return 0
