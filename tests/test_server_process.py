"""Starting, checking and stopping server processes (portal.server_process), with real processes and a real
HTTP server; the portal itself is served this way in the browser tests."""
from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time

import pytest

from portal.ports import free_loopback_port
from portal.server_process import HEALTH_PATH, ServerDidNotStart, stop, wait_until_healthy


def _python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code])


@pytest.fixture
def health_server():
    """An HTTP server that answers 200 at the health path only."""
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == HEALTH_PATH else 404)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_server_that_answers_its_health_check_is_ready(health_server):
    process = _python("import time; time.sleep(30)")
    try:
        assert wait_until_healthy(health_server, process, timeout=10) is True
    finally:
        stop(process)


def test_a_process_that_exits_at_start_is_reported_with_its_exit_code():
    process = _python("import sys; sys.exit(3)")
    with pytest.raises(ServerDidNotStart, match=r"exited at start \(exit 3\)"):
        wait_until_healthy(f"http://127.0.0.1:{free_loopback_port()}", process, timeout=10)


def test_a_server_that_never_answers_is_reported_after_the_timeout():
    process = _python("import time; time.sleep(30)")
    try:
        started = time.monotonic()
        with pytest.raises(ServerDidNotStart, match="did not answer within 1 s"):
            wait_until_healthy(f"http://127.0.0.1:{free_loopback_port()}", process, timeout=1)
        assert time.monotonic() - started < 5
    finally:
        stop(process)


def test_being_asked_to_stop_ends_the_wait_without_an_error():
    process = _python("import time; time.sleep(30)")
    try:
        assert wait_until_healthy(f"http://127.0.0.1:{free_loopback_port()}", process, timeout=10,
                                  stopping=lambda: True) is False
    finally:
        stop(process)


def test_stop_ends_a_process_that_ignores_the_request_to_stop():
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
                                 " print('ignoring', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    polite = _python("import time; time.sleep(60)")
    assert stubborn.stdout.readline().strip() == "ignoring"  # its handler is in place
    stop(stubborn, polite, grace=1)
    stubborn.stdout.close()
    assert polite.returncode == -15 and stubborn.returncode == -9
