"""`python -m portal serve` on an empty data directory: builds the demo, makes the demo users, serves."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import requests

from portal import config, ops, store, worker_pool
from portal.demo_users import DEMO_USERS
from portal.ports import free_loopback_port


def test_serve_builds_the_demo_then_serves_it(tmp_path):
    data_dir = tmp_path / "data"
    port = free_loopback_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "SEND_PORTAL_DATA_DIR": str(data_dir)}
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "portal", "serve", "--port", str(port),
                                   "--demo-scale", "small"], cwd=config.REPO_ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        healthy = False
        while time.monotonic() < deadline and server.poll() is None and not healthy:
            try:
                healthy = requests.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text == "ok"
            except requests.RequestException:
                time.sleep(1)
        output = log.read_text()
        assert healthy, output
        # serve replaces itself with the server, which glibc set up with few malloc arenas (worker_pool)
        assert psutil.Process(server.pid).environ().get("MALLOC_ARENA_MAX") == \
            os.environ.get("MALLOC_ARENA_MAX", worker_pool.MALLOC_ARENAS)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "building the synthetic small demo first" in output
    # Start-up work done outside a script run (importing the pages, warming them up) logs nothing an operator
    # would have to act on or ignore (server_tuning.outside_a_run_warnings_dropped, forget_startup_configuration)
    for alarm in ("missing ScriptRunContext", "No runtime found", "please restart streamlit"):
        assert alarm not in output, output
    assert store.current_version(data_dir / "marts").manifest
    users = {user.username: user for user in ops.list_users(path=data_dir / "ops" / "portal.sqlite")}
    assert set(users) == {username for username, _name, _role in DEMO_USERS}
    assert all(user.demo and user.active for user in users.values())
    assert users["demo-gp"].practice_code and users["demo-clinician"].locality
