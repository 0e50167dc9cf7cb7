"""``python -m portal serve --workers N``: N server processes behind HAProxy, one browser kept on one of them.

The browser tests run their whole suite through such a pool (tests/browser/conftest.py), which is what proves
downloads, uploads, reloads and deep links hold across it; these tests check the pool itself.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest
import requests

from bench.load import run_async
from bench.ws_client import StreamlitSession
from portal import config, worker_pool
from portal.ports import free_loopback_ports
from portal.worker_pool import WORKER_COOKIE, PoolError, WorkerPool, haproxy_config


def test_haproxy_accepts_the_configuration(tmp_path):
    config_file = tmp_path / "haproxy.cfg"
    config_file.write_text(haproxy_config("127.0.0.1", 8501, free_loopback_ports(2)))
    check = subprocess.run([worker_pool.haproxy_binary(), "-c", "-f", str(config_file)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_configuration_keeps_each_browser_on_one_worker():
    text = haproxy_config("0.0.0.0", 8501, [40001, 40002])
    assert "bind 0.0.0.0:8501" in text
    assert f"cookie {WORKER_COOKIE} insert indirect nocache httponly" in text
    servers = [line.split() for line in text.splitlines() if line.strip().startswith("server ")]
    assert [(s[2], s[4]) for s in servers] == [("127.0.0.1:40001", "worker1"), ("127.0.0.1:40002", "worker2")]
    assert all("check" in s for s in servers), "a stopped worker must be taken out of the rotation"


def test_several_workers_without_haproxy_is_refused_with_a_clear_message(monkeypatch, capsys):
    monkeypatch.setattr(worker_pool.shutil, "which", lambda name: None)
    monkeypatch.setattr(worker_pool.os, "access", lambda path, mode: False)
    pool = WorkerPool("127.0.0.1", 8501, 2)
    assert pool.run() == 1
    assert "needs HAProxy" in capsys.readouterr().err
    assert pool.processes == {}, "nothing may be started without the proxy"
    with pytest.raises(PoolError, match="apt-get install haproxy"):
        worker_pool.haproxy_binary()


@pytest.fixture
def pool_server(small_demo, tmp_path):
    """``python -m portal serve --workers 2`` over a private copy of the small demo: (url, process, log)."""
    data_dir = tmp_path / "data"
    shutil.copytree(small_demo, data_dir)
    port = free_loopback_ports(1)[0]
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--no-build", "--port", str(port), "--workers", "2"],
            cwd=config.REPO_ROOT, env={**os.environ, "SEND_PORTAL_DATA_DIR": str(data_dir)},
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while "workers are serving" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield url, process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def test_pool_spreads_browsers_and_keeps_each_on_its_worker(pool_server):
    url, process, _log = pool_server
    workers = psutil.Process(process.pid).children()
    assert len(workers) == 3, "two servers and HAProxy"

    first_visits = [requests.get(url + "/", timeout=10) for _ in range(4)]
    assigned = {response.cookies.get(WORKER_COOKIE) for response in first_visits}
    assert assigned == {"worker1", "worker2"}, "new browsers are spread over both workers"

    browser = requests.Session()
    browser.get(url + "/", timeout=10)
    mine = browser.cookies.get(WORKER_COOKIE)
    for _ in range(4):
        again = browser.get(url + "/", timeout=10)
        assert again.ok and WORKER_COOKIE not in again.cookies, "a browser with a worker keeps it"
    assert browser.cookies.get(WORKER_COOKIE) == mine


def test_the_supervisor_is_a_fresh_process_without_the_portals_libraries(pool_server):
    """serve replaces itself with the supervisor, so the memory its command line had loaded (pandas, DuckDB:
    about 140 MB) is free for the workers."""
    _url, process, _log = pool_server
    supervisor = psutil.Process(process.pid)
    assert "portal.worker_pool" in " ".join(supervisor.cmdline())
    assert supervisor.memory_info().rss < 80 * 1024 * 1024


def test_one_worker_more_than_the_cores_is_recommended_and_passed_to_the_supervisor(monkeypatch):
    monkeypatch.setattr(worker_pool.os, "cpu_count", lambda: 2)
    assert worker_pool.recommended_workers() == 3
    monkeypatch.setattr(worker_pool.os, "cpu_count", lambda: None)  # unknown: still a pool of two
    assert worker_pool.recommended_workers() == 2
    assert worker_pool.pool_command("0.0.0.0", 8080, 3)[-6:] == [
        "--address", "0.0.0.0", "--port", "8080", "--workers", "3"]


def test_a_session_signs_in_and_changes_a_filter_through_the_pool(pool_server):
    url, _process, _log = pool_server

    async def visit():
        async with StreamlitSession(url, timeout=60) as session:
            await session.open()
            signed_in = await session.login("demo-commissioner", "demo-commissioner-password")
            assert signed_in.ok and "waiting-lists" in session.pages
            opened = await session.go_to("waiting-lists")
            assert opened.ok and opened.charts > 0
            locality = session.find("Locality")
            changed = await session.set("Locality", locality.options[-1])
            assert changed.ok and any(locality.options[-1] in text for text in changed.texts)

    run_async(visit())


def test_a_worker_that_stops_stops_the_whole_pool(pool_server):
    """A half-running portal would send some people to a dead server; the service manager restarts the set."""
    url, process, log = pool_server
    children = psutil.Process(process.pid).children()
    worker = next(child for child in children if "server_tuning" in " ".join(child.cmdline()))
    worker.kill()
    assert process.wait(timeout=30) == 1
    assert "stopped (exit" in log.read_text()
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_stcore/health", timeout=5)


def test_a_public_port_already_in_use_stops_the_pool_with_a_message(small_demo, tmp_path):
    import socket

    data_dir = tmp_path / "data"
    shutil.copytree(small_demo, data_dir)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log = tmp_path / "serve.log"
        with open(log, "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "portal", "serve", "--no-build", "--no-demo-users", "--port", str(port),
                 "--workers", "2"],
                cwd=config.REPO_ROOT, env={**os.environ, "SEND_PORTAL_DATA_DIR": str(data_dir)},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            assert process.wait(timeout=180) == 1
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    output = log.read_text()
    assert "HAProxy exited at start" in output, output
    assert not _processes_serving(data_dir), "the workers started before HAProxy failed are stopped"


def _processes_serving(data_dir) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("SEND_PORTAL_DATA_DIR") == str(data_dir):
                found.append(process)
        except psutil.Error:
            pass
    return found


def test_every_server_process_starts_with_few_malloc_arenas(pool_server):
    """glibc reads MALLOC_ARENA_MAX only when a process starts, so the supervisor and each worker must have it
    from the start (serve's exec and the pool's Popen both pass it)."""
    _url, process, _log = pool_server
    supervisor = psutil.Process(process.pid)
    workers = [child for child in supervisor.children() if "server_tuning" in " ".join(child.cmdline())]
    assert len(workers) == 2
    for server_process in (supervisor, *workers):
        expected = os.environ.get("MALLOC_ARENA_MAX", worker_pool.MALLOC_ARENAS)
        assert server_process.environ().get("MALLOC_ARENA_MAX") == expected


def test_an_operators_own_arena_setting_is_kept():
    assert worker_pool.server_environment({"PATH": "/bin"}) == {"PATH": "/bin", "MALLOC_ARENA_MAX": "2"}
    assert worker_pool.server_environment({"MALLOC_ARENA_MAX": "8"})["MALLOC_ARENA_MAX"] == "8"
