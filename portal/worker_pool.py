"""Several portal server processes behind HAProxy, for ``python -m portal serve --workers N``.

One Streamlit server is one Python process, and its scripts hold the interpreter lock while they draw: on a
2-core machine it uses about one core however many people are signed in. So the portal runs N servers on
free loopback ports and HAProxy (Debian's package) in front of them on the public address.

A session must stay on the server that holds it: its websocket, and also its downloads (``/media/...``) and
uploads (``/_stcore/upload_file/<session>/...``), which only that process can answer. HAProxy gives each
browser a cookie naming its server on the first page load (``cookie ... insert``); every later request of that
browser goes to the same server. New browsers go to the server with the fewest open connections, which for
websockets means the fewest sessions. Everything else a session needs is already shared between processes:
sign-in sessions, lockouts, the audit log and data requests are in the SQLite operational database, and each
process reads the published mart version on every query.

If any process stops, the others are stopped too and ``serve`` exits with an error, so the service manager
that started it restarts the whole set (a half-running portal would send some people to a dead server).

``serve`` replaces itself with ``python -m portal.worker_pool`` (``pool_command``) to supervise, so the
supervisor is a fresh interpreter holding only this module's imports (about 20 MB), not the 140 MB of pandas,
DuckDB and the rest that the command line had loaded: memory the workers can use instead.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from portal import config
from portal.ports import free_loopback_ports
from portal.server_process import HEALTH_PATH, ServerDidNotStart, stop, wait_until_healthy

APP = config.REPO_ROOT / "portal" / "app.py"

WORKER_COOKIE = "portal_worker"


def streamlit_command(port: int, address: str, script: Path = APP) -> list[str]:
    """The production server command: no file watcher, no forced GC after each run, headless; started
    through ``portal.server_tuning`` so its settings hold before the first session connects."""
    return [
        sys.executable, "-m", "portal.server_tuning", "run", str(script),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--runner.postScriptGC", "false",
        "--global.developmentMode", "false",
        "--browser.gatherUsageStats", "false",
    ]


# glibc gives each thread that allocates under contention an arena of its own, up to eight per core, and
# memory freed in one arena cannot serve another. A server process runs a thread per page run, DuckDB's
# threads and the query-ahead pool, so its memory spread over many half-empty arenas: in the full soak, two
# arenas per process took about 100 MB less for the same work (docs/performance.md). An operator's own value
# is kept.
MALLOC_ARENAS = "2"


def server_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a server process starts with: ``base`` (the current one by default) with glibc's arena
    count set, unless it already is. glibc reads it when the process starts, so it must be in place then."""
    environment = dict(os.environ if base is None else base)
    environment.setdefault("MALLOC_ARENA_MAX", MALLOC_ARENAS)
    return environment


def recommended_workers() -> int:
    """Server processes for many people at once: one more than the cores. A process leaves part of its core
    idle while its threads hand the interpreter lock to each other, so on two cores a third process answered
    50 sessions faster in each of seven alternated runs; with few malloc arenas (above) its memory stays within
    the full soak's bounds (docs/performance.md)."""
    return (os.cpu_count() or 1) + 1


def pool_command(address: str, port: int, workers: int) -> list[str]:
    """The command that runs a pool: what ``serve --workers N`` replaces itself with."""
    return [sys.executable, "-m", "portal.worker_pool", "--address", address, "--port", str(port),
            "--workers", str(workers)]


class PoolError(RuntimeError):
    """The pool could not start; the message says why, for the person who ran ``serve``."""


def haproxy_config(address: str, port: int, worker_ports: list[int]) -> str:
    """HAProxy's configuration: one front end on the public address, the workers behind it, sticky by cookie."""
    servers = "\n".join(
        f"    server worker{i} 127.0.0.1:{worker_port} cookie worker{i} check inter 2s fall 2 rise 1"
        for i, worker_port in enumerate(worker_ports, start=1)
    )
    return f"""\
global
    maxconn 4096

defaults
    mode http
    option redispatch
    retries 2
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    # an open page's websocket is idle between clicks; a signed-in session lasts a working day
    timeout tunnel 12h
    timeout client-fin 10s

frontend portal
    bind {address}:{port}
    default_backend workers

backend workers
    balance leastconn
    cookie {WORKER_COOKIE} insert indirect nocache httponly attr "SameSite=Lax"
    option httpchk
    http-check send meth GET uri {HEALTH_PATH}
    http-check expect status 200
{servers}
"""


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or next(
        (path for path in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(path, os.X_OK)), None)
    if not found:
        raise PoolError("More than one worker needs HAProxy in front of them: install Debian's package "
                        "(apt-get install haproxy), or start with --workers 1.")
    return found


class WorkerPool:
    """``WorkerPool(address, port, workers).run()``: start, supervise until stopped, stop everything."""

    def __init__(self, address: str, port: int, workers: int, startup_timeout: float = 180.0):
        if workers < 2:
            raise ValueError("a pool has at least two workers")
        self.address, self.port, self.workers = address, port, workers
        self.startup_timeout = startup_timeout
        self.processes: dict[str, subprocess.Popen] = {}
        self._stopping = False

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._ask_to_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            return self.supervise()
        except PoolError as exc:
            print(str(exc), file=sys.stderr, flush=True)
            return 1
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def start(self) -> None:
        haproxy = haproxy_binary()
        worker_ports = free_loopback_ports(self.workers)
        for i, worker_port in enumerate(worker_ports, start=1):
            self.processes[f"worker {i}"] = subprocess.Popen(
                streamlit_command(worker_port, "127.0.0.1"), cwd=config.REPO_ROOT, env=server_environment())
        for i, worker_port in enumerate(worker_ports, start=1):
            if not self._wait_until_healthy(f"worker {i}", f"http://127.0.0.1:{worker_port}"):
                return  # asked to stop while starting
        config_dir = Path(tempfile.mkdtemp(prefix="send-portal-haproxy-"))
        config_file = config_dir / "haproxy.cfg"
        config_file.write_text(haproxy_config(self.address, self.port, worker_ports))
        check = subprocess.run([haproxy, "-c", "-q", "-f", str(config_file)], capture_output=True, text=True)
        if check.returncode != 0:
            raise PoolError(f"HAProxy refused its configuration: {check.stderr.strip() or check.stdout.strip()}")
        # -db: stay in the foreground, so this process supervises it like the workers
        self.processes["HAProxy"] = subprocess.Popen([haproxy, "-db", "-f", str(config_file)])
        host = "127.0.0.1" if self.address == "0.0.0.0" else self.address
        try:
            if self._wait_until_healthy("HAProxy", f"http://{host}:{self.port}"):
                print(f"{self.workers} portal workers are serving behind HAProxy.", flush=True)
        finally:
            shutil.rmtree(config_dir, ignore_errors=True)  # read at start; HAProxy does not reread it

    def supervise(self, poll_s: float = 0.5) -> int:
        while not self._stopping:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    print(f"The portal's {name} stopped (exit {process.returncode}); stopping the rest.",
                          file=sys.stderr, flush=True)
                    return 1
            time.sleep(poll_s)
        return 0

    def stop(self) -> None:
        stop(*self.processes.values(), grace=15)

    def _ask_to_stop(self, signum, frame) -> None:
        self._stopping = True

    def _wait_until_healthy(self, name: str, base_url: str) -> bool:
        """True once ``name`` answers its health check; False if asked to stop meanwhile."""
        try:
            return wait_until_healthy(base_url, self.processes[name], self.startup_timeout,
                                      stopping=lambda: self._stopping)
        except ServerDidNotStart as exc:
            raise PoolError(f"The portal's {name} {exc}; see the messages above.") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.worker_pool",
                                     description="Run portal server processes behind HAProxy (as serve --workers N).")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--workers", type=int, default=recommended_workers())
    args = parser.parse_args(argv)
    return WorkerPool(args.address, args.port, args.workers).run()


if __name__ == "__main__":
    raise SystemExit(main())
