"""Starting, checking and stopping portal server processes.

``serve --workers N`` (``portal.worker_pool``), the benchmark's server, the help videos' recorder and the
browser tests all start a server process, wait for its health check and stop it; this is the one way they do.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from portal import config
from portal.ports import free_loopback_port

HEALTH_PATH = "/_stcore/health"  # Streamlit's own: 200 once the server accepts sessions


class ServerDidNotStart(RuntimeError):
    """The server process exited, or did not answer its health check in time; the message says which."""


def healthy(url: str) -> bool:
    """True if ``url`` answers 200 within two seconds."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:  # refused, timed out, or an HTTP error status (urllib's errors are OSErrors)
        return False


def wait_until_healthy(base_url: str, process: subprocess.Popen, timeout: float,
                       stopping: Callable[[], bool] = lambda: False) -> bool:
    """True once ``process`` answers its health check at ``base_url``; False if ``stopping()`` turns true
    first. Raises ServerDidNotStart if the process exits, or does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopping():
            return False
        if process.poll() is not None:
            raise ServerDidNotStart(f"exited at start (exit {process.returncode})")
        if healthy(base_url + HEALTH_PATH):
            return True
        time.sleep(0.25)
    if stopping():
        return False
    raise ServerDidNotStart(f"did not answer within {timeout:.0f} s")


def stop(*processes: subprocess.Popen, grace: float = 20.0) -> None:
    """Ask each process to end, and kill any that has not within ``grace`` seconds."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextlib.contextmanager
def serving(data_dir: Path, log_path: Path, *serve_args: str, timeout: float = 120.0) -> Iterator[str]:
    """``python -m portal serve`` over ``data_dir`` on a free loopback port, its output in ``log_path``; yields
    the base URL once the server answers, and stops it afterwards."""
    port = free_loopback_port()
    env = {**os.environ, "SEND_PORTAL_DATA_DIR": str(data_dir)}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--port", str(port), "--no-build", *serve_args],
            cwd=config.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_healthy(base_url, process, timeout)
        except ServerDidNotStart as exc:
            raise ServerDidNotStart(f"The portal server {exc}. The end of its log ({log_path}):\n"
                                    f"{log_tail(log_path)}") from None
        yield base_url
    finally:
        stop(process)
