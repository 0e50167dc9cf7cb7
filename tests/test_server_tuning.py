"""The production server's own settings: the entry script's path stays put on ``sys.path`` while many
sessions run at once (Streamlit's insert-and-remove shifted the list under other sessions' imports, and
pages failed with "No module named 'unittest'"), and websockets send without Nagle delay."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest
from streamlit.runtime.scriptrunner.exec_code import modified_sys_path

from bench.load import run_async
from portal.ports import free_loopback_port
from bench.ws_client import StreamlitSession, wait_until_healthy
from portal import config, queries, server_tuning
from portal.commands.serve import streamlit_command

pytestmark = pytest.mark.timeout(180)

# Watches sys.path from its own thread, from the first run on, and writes every distinct list it sees.
SAMPLING_SCRIPT = textwrap.dedent('''
    import json, os, sys, threading, time
    import streamlit as st

    def sample(out):
        seen = []
        while True:
            now = list(sys.path)
            if now not in seen:
                seen.append(now)
                with open(out, "w") as handle:
                    json.dump(seen, handle)
            time.sleep(0.0005)

    if not hasattr(sys, "_path_sampler"):
        sys._path_sampler = threading.Thread(target=sample, args=(os.environ["PATH_SAMPLES"],), daemon=True)
        sys._path_sampler.start()
    st.title("Sampling")
    st.write(sum(i * i for i in range(200_000)))  # long enough for runs to overlap
''')


def _serve(tmp_path, script, env: dict, scenario) -> str:
    """Start the production server command on ``script``, run ``scenario(url)`` against it, stop it and
    return its log."""
    port = free_loopback_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(streamlit_command(port, "127.0.0.1", script), cwd=config.REPO_ROOT,
                                  env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
                                  stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    async def healthy_then_scenario():
        await wait_until_healthy(url)
        await scenario(url)

    try:
        run_async(healthy_then_scenario())
    finally:
        server.terminate()
        server.wait(timeout=30)
    return log.read_text()


def test_pinned_script_path_is_never_inserted_or_removed_by_a_run(monkeypatch):
    script = "/nonexistent/portal/app.py"
    monkeypatch.setattr(sys, "path", list(sys.path))
    server_tuning.pin_script_path(script)
    server_tuning.pin_script_path(script)  # idempotent
    before = list(sys.path)
    assert before.count(script) == 1 and before[-1] == script
    with modified_sys_path(script):
        assert sys.path == before
    assert sys.path == before


def test_concurrent_sessions_never_change_the_server_import_path(tmp_path):
    script = tmp_path / "sampling_app.py"
    script.write_text(SAMPLING_SCRIPT)
    samples = tmp_path / "samples.json"

    async def overlapping_runs(url):
        sessions = [StreamlitSession(url) for _ in range(4)]
        for session in sessions:
            await session.connect()
        try:
            for _round in range(3):
                results = await asyncio.gather(*(session.open() for session in sessions))
                assert all(result.ok for result in results)
        finally:
            for session in sessions:
                await session.close()

    log = _serve(tmp_path, script, {"PATH_SAMPLES": str(samples)}, overlapping_runs)
    seen = json.loads(samples.read_text())
    assert len(seen) == 1, f"sys.path changed while sessions ran: {seen}\n{log}"
    assert seen[0].count(str(script)) == 1


def test_page_modules_are_imported_and_frozen_before_the_first_session_runs(tmp_path):
    """The first visit to a page should not pay for importing its analysis (statsmodels took 1.2 s), and
    full garbage collections should not walk everything imported at start-up (65–85 ms pauses)."""
    script = tmp_path / "first_run_app.py"
    report = tmp_path / "first_run.json"
    script.write_text(textwrap.dedent('''
        import gc, json, os, sys
        import streamlit as st
        with open(os.environ["FIRST_RUN_REPORT"], "w") as handle:
            json.dump({"modules": sorted(m for m in sys.modules if m.startswith(("portal.", "statsmodels.api"))),
                       "frozen": gc.get_freeze_count(),
                       "query_specs": len(sys.modules["portal.queries"]._spec_cache)}, handle)
        st.title("First run")
    '''))

    async def first_run(url):
        session = StreamlitSession(url)
        await session.connect()
        try:
            assert (await session.open()).ok
        finally:
            await session.close()

    log = _serve(tmp_path, script, {"FIRST_RUN_REPORT": str(report)}, first_run)
    first = json.loads(report.read_text())
    loaded = set(first["modules"])
    assert "statsmodels.api" in loaded, log
    assert {"portal.journeys.health_services", "portal.journeys.sleep_services", "portal.journeys.home"} <= loaded
    assert set(server_tuning.APP_MODULES) <= loaded
    assert first["query_specs"] == len(queries.list_queries())
    # pandas, Altair, statsmodels and Streamlit alone are well over 100,000 objects
    assert first["frozen"] > 100_000, first["frozen"]


def test_elements_are_created_as_streamlit_creates_them_without_the_renaming():
    """The replacement ``DeltaGenerator.__init__`` sets exactly what Streamlit's own does (a Streamlit
    upgrade that changes its ``__init__`` fails here), and the mixins' methods are renamed once."""
    import inspect

    from streamlit.cursor import RunningCursor
    from streamlit.delta_generator import DeltaGenerator
    from streamlit.proto.RootContainer_pb2 import RootContainer

    assert server_tuning.create_elements_without_renaming()
    assert server_tuning.create_elements_without_renaming()  # idempotent
    original = DeltaGenerator._portal_original_init
    assert DeltaGenerator.__init__ is not original
    assert inspect.signature(DeltaGenerator.__init__).parameters.keys() == \
        inspect.signature(original).parameters.keys()
    assert DeltaGenerator.__init__.__defaults__ == original.__defaults__

    main = DeltaGenerator(root_container=RootContainer.MAIN)
    cases = [{}, {"root_container": RootContainer.SIDEBAR, "parent": main},
             {"root_container": RootContainer.MAIN, "cursor": RunningCursor(RootContainer.MAIN, [0]),
              "parent": main, "block_type": "expandable"},
             {"root_container": None, "block_type": "column"}]
    for arguments in cases:
        ours, theirs = DeltaGenerator(**arguments), DeltaGenerator.__new__(DeltaGenerator)
        original(theirs, **arguments)
        assert vars(ours) == vars(theirs), arguments
    with pytest.raises(RuntimeError):
        DeltaGenerator(root_container=RootContainer.SIDEBAR, cursor=RunningCursor(RootContainer.MAIN, [0]))
    from streamlit.elements.markdown import MarkdownMixin
    assert MarkdownMixin.markdown.__module__ == "streamlit.delta_generator"


def test_the_journey_pages_are_warmed_up_as_a_commissioner_without_writing_anything(on_small_demo, caplog):
    """Each journey page runs once before the server accepts anyone: what a process does once is paid then,
    the default filters' figures are cached and each page's opening plan is known. Nothing is written to
    the operational database (no audit event, no session)."""
    from portal import navigation, ops, prefetch
    from portal.roles import COMMISSIONER, User

    queries.clear_cache()
    prefetch.forget_openings()
    events = len(ops.audit_events())
    with caplog.at_level("WARNING", logger="portal.server_tuning"):
        took = server_tuning.warm_up_pages()
    journeys = [p.url_path for p in navigation.pages_for(COMMISSIONER) if p.section == "Journeys"]
    assert list(took) == journeys
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert len(ops.audit_events()) == events
    plan = prefetch.opening_plan("waiting_lists", COMMISSIONER)
    assert plan, "the opening plan of Waiting lists was not recorded"
    hits = queries.cache_stats["hits"]
    name, params = plan[0]
    queries.run(name, User("someone", "Someone", COMMISSIONER), None, **dict(params))
    assert queries.cache_stats["hits"] == hits + 1, "the warm-up's figures for the default filters were not kept"
