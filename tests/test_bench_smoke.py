"""The benchmark machinery works end to end at small scale: it times the named queries, answers the same
questions in pandas and in a real PostgreSQL, drives a real portal server over websockets, and writes the
report tables. Behaviour only: timings on a shared CI machine prove nothing, so none are asserted."""
from __future__ import annotations

import shutil

import pytest

from bench import pg
from bench.runner import BenchOptions, run_all
from bench.load import run_async
from bench.server import PortalServer
from bench.ws_client import StreamlitSession

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def bench_data(small_demo, tmp_path, monkeypatch):
    """A private copy of the small demo (the benchmark adds demo users to its operational database)."""
    data = tmp_path / "small"
    shutil.copytree(small_demo, data)
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(data))
    return data


def test_benchmark_writes_every_table(bench_data, tmp_path):
    report = tmp_path / "performance.md"
    report.write_text("# Performance\n\nWritten analysis that a re-run must keep.\n")
    options = BenchOptions(scales=["small"], parts=["queries", "compare", "load", "pages"], data_root=tmp_path,
                           data_dirs={"small": bench_data}, users=[1, 2], load_seconds=6, query_runs=2,
                           query_cold_runs=1, think_s=(0.2, 0.5), page_changes=2, output=report, workers=2)
    assert run_all(options) == 0

    text = report.read_text()
    assert "Written analysis that a re-run must keep." in text
    for heading in ("### Targets", "### Named query latency, small scale", "### Side by side, small scale",
                    "### Load: concurrent sessions, small scale",
                    "### Every page, one session, small scale"):
        assert heading in text
    assert "| DuckDB |" in text and "| CPU |" in text  # the machine the figures came from
    speed = next(line for line in text.splitlines() if line.startswith("| machine speed"))
    assert len([float(s) for s in speed.split("|")[2].split(",")]) == 2  # at the start and the end

    from bench.query_latency import queries_used_by_pages

    latency = _table(text, "### Named query latency, small scale")
    for name in queries_used_by_pages():
        assert name in latency, f"{name} missing from the latency table"
    side = _table(text, "### Side by side, small scale")
    assert any(_is_number(row[2]) for row in side.values()), "pandas answered none of the questions"
    if pg.available():
        assert any(_is_number(row[4]) for row in side.values()), "DuckDB alone timed none of the questions"
        assert any(_is_number(row[5]) for row in side.values()), "PostgreSQL answered none of the questions"
    load = _table(text, "### Load: concurrent sessions, small scale")
    assert set(load) == {"1", "2"}
    for row in load.values():
        assert row[10] == "0", f"errors under load: {row}"
        assert int(row[1].replace(",", "")) + int(row[5].replace(",", "")) > 0, "no action was timed"
    every_page = _table(text, "### Every page, one session, small scale")
    assert {"home", "waiting-lists", "health-services", "sleep-services"} <= set(every_page)
    for page, row in every_page.items():
        assert row[-1] == "0", f"errors on {page}: {row}"
    assert int(every_page["waiting-lists"][2]) == 2, "the filters of a page were not changed"


def test_client_signs_in_opens_pages_and_changes_a_filter(bench_data):
    from portal import demo_users

    demo_users.ensure_demo_users()

    async def visit(url):
        async with StreamlitSession(url, timeout=60) as session:
            first = await session.open()
            assert session.find("Username", "text_input") and not session.pages.get("waiting-lists")
            refused = await session.login("demo-commissioner", "wrong password")
            assert refused.errors, "a wrong password must show an error"
            signed_in = await session.login("demo-commissioner", "demo-commissioner-password")
            assert signed_in.ok and "waiting-lists" in session.pages
            opened = await session.go_to("waiting-lists")
            assert opened.ok and opened.charts > 0 and opened.tables > 0
            locality = session.find("Locality")
            changed = await session.set("Locality", locality.options[-1])
            assert changed.ok and changed.seconds > 0
            assert any(locality.options[-1] in text for text in changed.texts)
            return first

    with PortalServer(bench_data) as server:
        run_async(visit(server.url))


def test_client_refuses_non_loopback_addresses():
    with pytest.raises(ValueError, match="loopback"):
        StreamlitSession("http://192.0.2.10:8501")


def _table(markdown: str, heading: str) -> dict[str, list[str]]:
    """The rows of the Markdown table under ``heading``, keyed by their first cell."""
    section = markdown.split(heading, 1)[1]
    rows = {}
    for line in section.splitlines()[1:]:
        if line.startswith("### ") or line.startswith("<!--"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells
    rows.pop(next(iter(rows)), None)  # the header row
    return rows


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", ""))
    except ValueError:
        return False
    return True


def test_load_counts_the_portal_failure_messages_as_errors():
    from bench.load import LoadConfig, LoadResult, _record
    from bench.ws_client import RunResult
    from portal import ui

    result = LoadResult(config=LoadConfig(users=1, duration_s=1))
    validation = "'From' must be on or before 'To'."
    assert _record(result, 0, "audit-log", RunResult(seconds=0.1, runs=1, messages=5, errors=[validation]))
    assert result.errors == [] and result.error_boxes == [validation]
    for failure in ui.FAILURE_MESSAGES:
        assert not _record(result, 1, "home", RunResult(seconds=0.1, runs=1, messages=5, errors=[failure]))
    assert not _record(result, 2, "nowhere", RunResult(seconds=0.1, runs=1, messages=5, page_not_found=True))
    assert len(result.errors) == len(ui.FAILURE_MESSAGES) + 1
    assert result.errors[0].startswith("user 1 on home: Sorry")


def test_load_percentiles_can_leave_out_the_actions_begun_before_the_last_sign_in():
    from bench.load import Action, LoadConfig, LoadResult

    result = LoadResult(config=LoadConfig(users=2, duration_s=1))
    result.actions = [Action("login", "", 0.5, True, at=1.0), Action("filter", "home", 2.0, True, at=2.5),
                      Action("login", "", 1.5, True, at=3.0), Action("filter", "home", 0.2, True, at=3.1),
                      Action("filter", "home", 0.4, True, at=4.0), Action("filter", "home", 9.0, False, at=5.0)]
    assert result.signed_in_at == 3.0
    assert sorted(result.latencies("filter")) == [0.2, 0.4, 2.0]
    assert sorted(result.latencies("filter", after=result.signed_in_at)) == [0.4]  # 0.2 began at 2.9 s
    assert result.percentiles_ms("filter", after=3.0)["n"] == 1
