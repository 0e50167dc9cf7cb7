"""Secrets: made once on first use, the same value for every caller, never lost to a race."""
from __future__ import annotations

import stat
import subprocess
import sys
import threading

from portal import config


def test_a_secret_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COOKIE_KEY", "from-the-environment")
    assert config.get_secret("COOKIE_KEY") == "from-the-environment"
    assert not (tmp_path / "secrets").exists()


def test_a_new_secret_is_stored_privately_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COOKIE_KEY", raising=False)
    first = config.get_secret("COOKIE_KEY")
    assert len(first) == 64 and config.get_secret("COOKIE_KEY") == first
    secret_file = tmp_path / "secrets" / "secrets.env"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert f"COOKIE_KEY={first}" in secret_file.read_text()
    second = config.get_secret("LINKAGE_KEY")
    assert second != first and config.get_secret("COOKIE_KEY") == first  # adding one keeps the others


def test_threads_asking_at_once_all_get_the_one_stored_secret(tmp_path, monkeypatch):
    # The first sign-ins of a new portal arrive together, each in its own script thread.
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path))
    for name in ("COOKIE_KEY", "LINKAGE_KEY"):
        monkeypatch.delenv(name, raising=False)
    threads_count = 16
    start = threading.Barrier(threads_count)
    values: list[tuple[str, str]] = []
    failures: list[BaseException] = []

    def ask(name: str) -> None:
        start.wait()
        try:
            values.append((name, config.get_secret(name)))
        except BaseException as exc:  # noqa: BLE001 - the test reports every failure
            failures.append(exc)

    threads = [threading.Thread(target=ask, args=("COOKIE_KEY" if i % 2 else "LINKAGE_KEY",))
               for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures, failures
    stored = config._read_env_file(tmp_path / "secrets" / "secrets.env")
    assert len(values) == threads_count
    assert all(value == stored[name] for name, value in values)
    assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == ["secrets.env", "secrets.lock"]


def test_processes_asking_at_once_all_get_the_one_stored_secret(tmp_path):
    # A build (linkage key) can start while the server makes its first secret.
    code = "from portal import config; print(config.get_secret('LINKAGE_KEY'))"
    env = {"SEND_PORTAL_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=config.REPO_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _out, err in outputs]
    stored = config._read_env_file(tmp_path / "secrets" / "secrets.env")["LINKAGE_KEY"]
    assert {out.strip() for out, _err in outputs} == {stored}
