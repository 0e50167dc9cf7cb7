"""The benchmark's build part: a real ``build-demo`` in a child process, timed by phase, with its memory
peaks traced to the phase and step the command was working on. Behaviour only: no timing is asserted."""
from __future__ import annotations

import pytest

from bench.build import _StepTracker, build
from bench.runner import _from_delivered_feeds

pytestmark = pytest.mark.timeout(600)


def test_a_small_build_is_timed_and_its_peaks_traced_by_phase(tmp_path):
    result = build("small", tmp_path / "small")

    assert result.ok, result.output_tail
    assert set(result.phases) == {"generate", "ingest", "build"}
    assert set(result.phase_cpu_seconds) == {"generate", "ingest", "build"}
    assert all(seconds > 0 for seconds in result.phase_cpu_seconds.values())
    assert set(result.phase_peaks) <= {"generate", "ingest", "build"} and result.phase_peaks
    for phase, (peak, step) in result.phase_peaks.items():
        assert 0 < peak <= result.peak_tree_memory, phase
        assert step, f"no step named for the {phase} peak"
    assert (tmp_path / "small" / "marts" / "CURRENT").exists()
    # reported beside the total: what a deployment, whose feeds are delivered, runs
    wall, cpu = _from_delivered_feeds(result)
    assert wall == result.phases["ingest"] + result.phases["build"] < result.seconds
    assert cpu == result.phase_cpu_seconds["ingest"] + result.phase_cpu_seconds["build"]


def test_the_step_tracker_follows_the_log_as_it_grows(tmp_path):
    log = tmp_path / "build.log"
    tracker = _StepTracker(log)
    assert tracker.update() == ("generate", "starting")  # no log yet

    log.write_text("build-demo: generating the small synthetic ICB into /x\nbuild-demo: people and geogr")
    assert tracker.update() == ("generate", "generating the small synthetic ICB into /x")
    with log.open("a") as out:  # the rest of a line written in two parts, then the next phase
        out.write("aphy\nbuild-demo: generated in 3.0s; ingesting\n"
                  "ingest [#-----] 3/64 gp_events_001.parquet (159s)\n")
    assert tracker.update() == ("ingest", "gp_events_001.parquet")
    with log.open("a") as out:  # a terminal's progress bar rewrites its line
        out.write("build-demo: ingested in 9.0s; building marts\n"
                  "build [##---] 3/36 stg_person_spells slice 1/9 (20s)\rbuild [##---] 4/36 agg_population_month")
    assert tracker.update() == ("build", "stg_person_spells slice 1/9")
    with log.open("a") as out:
        out.write(" (185s)\n")
    assert tracker.update() == ("build", "agg_population_month")


def test_memory_a_forked_child_shares_with_its_parent_is_counted_once():
    """The tree's memory is the sum of proportional set sizes: a forked child that only reads its parent's
    pages adds little, where a sum of resident sizes would count those pages twice."""
    import os
    import signal

    import psutil

    from bench.build import _tree_memory

    block = bytearray(os.urandom(1)) * (300 * 2**20)  # 300 MB the child will share without writing
    child = os.fork()
    if child == 0:
        signal.pause()  # hold the shared pages until killed
        os._exit(0)
    try:
        import time

        time.sleep(0.5)
        me = psutil.Process()
        # over the same processes _tree_memory reads: a server an earlier test of this worker started is in the
        # tree too, and counting it on one side only made this fail in CI
        rss_sum = sum(p.memory_info().rss for p in [me, *me.children(recursive=True)])
        held = _tree_memory(os.getpid())
        assert len(block) == 300 * 2**20
        assert held < rss_sum - 200 * 2**20  # the 300 MB counted once, not twice
        assert held > 250 * 2**20
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
