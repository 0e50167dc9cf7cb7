"""The synthetic generator: reproducible, realistic identifiers, drawable boundaries."""
from __future__ import annotations

import json

import numpy as np
import pytest
import pandas as pd

from portal.linkage import nhs_check_digit_ok
from portal.synth import SCALES, as_of_for, generate, generator
from portal.synth.generator import add_years, age_at, days, nhs_numbers


def test_same_seed_gives_byte_identical_feeds(tmp_path, small_demo):
    generate("small", tmp_path / "again")
    first = small_demo / "feeds" / "small"
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "again").iterdir())
    for name in names:
        if name == "ground_truth.json":
            continue  # holds person keys, which depend on each data directory's own linkage key
        assert (first / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    truth_a = json.loads((first / "ground_truth.json").read_text())
    truth_b = json.loads((tmp_path / "again" / "ground_truth.json").read_text())
    assert truth_a["autism_waits"] == truth_b["autism_waits"] and truth_a["melatonin"] == truth_b["melatonin"]


def test_a_different_seed_gives_different_people(tmp_path):
    a = nhs_numbers(np.random.default_rng(1), 1000)
    b = nhs_numbers(np.random.default_rng(2), 1000)
    assert len(set(a)) == 1000 and set(a) != set(b)
    assert all(nhs_check_digit_ok(n) for n in a)


def test_snapshot_date_and_scales():
    import datetime as dt

    assert as_of_for(dt.date(2026, 10, 31)) == dt.date(2026, 9, 30)
    assert SCALES["county"].n_cyp == 350_000 and SCALES["county"].n_localities == 8
    assert SCALES["county"].n_practices == 60


def test_age_arithmetic_handles_leap_days():
    dob = np.array([days(__import__("datetime").date(2008, 2, 29))])
    assert age_at(dob, days(__import__("datetime").date(2026, 2, 28)))[0] == 17
    assert age_at(dob, days(__import__("datetime").date(2026, 3, 1)))[0] == 18
    assert add_years(dob, 18)[0] == days(__import__("datetime").date(2026, 3, 1))


def test_boundaries_are_drawable_polygons_one_per_locality(small_demo):
    collection = json.loads((small_demo / "feeds" / "small" / "geography_boundaries.geojson").read_text())
    features = collection["features"]
    assert len(features) == 8 and len({f["properties"]["locality"] for f in features}) == 8
    for feature in features:
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) > 10
        area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:]))
        assert area2 > 0, "exterior rings run counter-clockwise (RFC 7946)"
    # neighbours share their border exactly: every edge used twice is used once in each direction
    edges: dict = {}
    for feature in features:
        ring = [tuple(p) for p in feature["geometry"]["coordinates"][0]]
        for a, b in zip(ring, ring[1:]):
            edges[(a, b)] = edges.get((a, b), 0) + 1
    shared = [e for e in edges if (e[1], e[0]) in edges]
    assert shared and all(edges[e] == 1 for e in edges)


def test_waits_and_rates_follow_published_figures(small_demo):
    feeds = small_demo / "feeds" / "small"
    referrals = pd.read_csv(feeds / "community_referrals.csv", encoding="utf-8-sig", dtype=str)
    waiting = referrals[referrals["seen_date"].isna()].copy()
    waiting["weeks"] = (pd.Timestamp("2026-09-30") - pd.to_datetime(waiting["referral_date"], dayfirst=True)).dt.days / 7
    therapy = waiting[waiting["service"].isin(["SLT", "OT", "PHYSIO", "PAEDS"])]
    share_over_18 = (therapy["weeks"] > 18).mean()
    assert 0.4 <= share_over_18 <= 0.75
    truth = json.loads((feeds / "ground_truth.json").read_text())
    assert 3.5 <= truth["prevalence_age_5_15"]["ehcp_pct"] <= 7
    assert 11 <= truth["prevalence_age_5_15"]["sen_support_pct"] <= 18
    assert 12 <= truth["attainment"]["mean_attainment8"]["EHCP"] <= 18
    assert 46 <= truth["attainment"]["mean_attainment8"]["No SEND"] <= 53


def test_chunked_generation_as_at_national_scale(tmp_path, monkeypatch):
    """The national scale generates activity in chunks of people; chunked output still passes contracts,
    ingests and builds, with identifiers unique across chunks."""
    import dataclasses

    import duckdb

    from portal import store
    from portal.commands.data import build_demo
    from portal.synth import generator

    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(generator.SCALES, "small", dataclasses.replace(generator.SCALES["small"], chunk_people=2500))
    build_demo("small")
    feeds = tmp_path / "feeds" / "small"
    assert len(list(feeds.glob("gp_events_*.parquet"))) == 3 and len(list(feeds.glob("school_census_*"))) == 3
    cur, version = store.MartReader(tmp_path / "marts").cursor()
    assert cur.execute("SELECT count(*) = count(DISTINCT attendance_id) FROM fct_ae_attendances").fetchone()[0]
    truth = json.loads((feeds / "ground_truth.json").read_text())
    rates = dict(cur.execute("SELECT feed, linkage_match_rate FROM feed_status").fetchall())
    assert rates["school_census"] == truth["expected_match_rate"]["school_census"]
    median = cur.execute("SELECT median(wait_weeks) FROM fct_referrals WHERE service = 'ASD' AND waiting_now "
                         "AND locality = $l", {"l": truth["autism_waits"]["locality"]}).fetchone()[0]
    assert median == pytest.approx(truth["autism_waits"]["median_wait_weeks_waiting_now"], abs=0.01)


def test_chunks_made_by_two_processes_give_the_same_feeds_as_one(tmp_path, monkeypatch):
    """The national scale makes its chunks of people in parallel; the files and the ground truth must be
    exactly those of one process making them in turn."""
    import dataclasses

    from portal.synth import generator

    monkeypatch.setenv("LINKAGE_KEY", "test-key")  # the ground truth's person keys use it
    monkeypatch.setitem(generator.SCALES, "small", dataclasses.replace(generator.SCALES["small"], chunk_people=2500))
    one = generate("small", tmp_path / "one", workers=1)
    two = generate("small", tmp_path / "two", workers=2)
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert len([n for n in names if n.startswith("gp_events_")]) == 3
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert one == two


@pytest.mark.parametrize("dies_in", ["chunk_feeds", "world_feeds"])
def test_a_generator_process_that_dies_stops_the_run_with_a_clear_message(tmp_path, monkeypatch, dies_in):
    """A forked process killed mid-way (as the kernel does when memory runs out) must not leave the run waiting
    for ever: multiprocessing.Pool did."""
    import dataclasses
    import os
    import signal

    from portal.synth import generator

    monkeypatch.setenv("LINKAGE_KEY", "test-key")
    monkeypatch.setitem(generator.SCALES, "small", dataclasses.replace(generator.SCALES["small"], chunk_people=2500))
    real = getattr(generator, dies_in)
    parent = os.getpid()

    def dies_when_forked(*args):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args)

    monkeypatch.setattr(generator, dies_in, dies_when_forked)
    with pytest.raises(generator.WorkerDied, match="ran out of memory"):
        generate("small", tmp_path / "out", workers=2)


def _collect_garbage_and_answer(answer):
    import gc

    gc.collect()
    return answer


def test_a_forked_process_leaves_the_parents_garbage_alone():
    """A DuckDB connection the parent no longer holds, but has not yet collected, keeps its threads in the parent
    only: closed in the forked process it crashed it (seen once in CI, where tests open many connections)."""
    import gc

    import duckdb

    from portal.synth import generator

    class Holder:
        pass

    gc.disable()
    try:
        garbage = Holder()
        garbage.itself = garbage  # a cycle, so only the collector frees it
        garbage.con = duckdb.connect()
        garbage.con.execute("SET threads = 4")
        garbage.con.execute("SELECT sum(range) FROM range(20000000)").fetchall()  # starts its threads
        del garbage
        assert generator.ForkedCall(None, _collect_garbage_and_answer, 42).result() == 42
    finally:
        gc.enable()
        gc.collect()


def test_generate_workers_comes_from_the_environment(monkeypatch):
    from portal.synth import generator

    monkeypatch.setenv("SEND_PORTAL_GENERATE_WORKERS", "3")
    assert generator.generate_workers() == 3
    monkeypatch.setenv("SEND_PORTAL_GENERATE_WORKERS", "many")
    with pytest.raises(ValueError, match="whole number"):
        generator.generate_workers()
    monkeypatch.delenv("SEND_PORTAL_GENERATE_WORKERS")
    assert 1 <= generator.generate_workers() <= 2


def test_dates_looked_up_in_the_day_tables_match_dates_worked_out():
    """Dates are turned into text and calendar parts through tables of 1900-2100; a day outside them (the
    'never' sentinel, far past or future) is worked out instead, with the same answer either way."""
    from portal.synth.generator import NEVER, _iso_text, _uk_text, _ymd_computed, iso, uk, ymd

    inside = np.array([days(d) for d in (pd.Timestamp("1900-01-01").date(), pd.Timestamp("2000-02-29").date(),
                                         pd.Timestamp("2026-09-30").date(), pd.Timestamp("2100-12-31").date())])
    assert list(iso(inside)) == ["1900-01-01", "2000-02-29", "2026-09-30", "2100-12-31"]
    assert list(uk(inside)) == ["01/01/1900", "29/02/2000", "30/09/2026", "31/12/2100"]
    for sample in (inside, np.array([days(pd.Timestamp("1899-12-31").date()), 0]), np.array([0, NEVER // 1000])):
        for looked_up, worked_out in zip(ymd(sample), _ymd_computed(sample)):
            assert looked_up.tolist() == worked_out.tolist()
        assert list(iso(sample)) == list(_iso_text(sample)) and list(uk(sample)) == list(_uk_text(sample))
    assert uk(np.array([days(pd.Timestamp("1899-12-31").date())]))[0] == "31/12/1899"


def test_ehc_needs_assessment_requests_run_steadily_up_to_the_snapshot_date():
    """Requests were made from plans that had started by the snapshot date, so those whose plans come after it
    were missing: the latest 12 months showed about 40% fewer requests than the years before (a fall no area
    had), and almost no one was awaiting an assessment."""
    w = generator.World(SCALES["county"], 20261031, as_of_for(generator.REFERENCE_DATE))
    casework = generator.sen2_casework(w)
    requested = pd.to_datetime(casework["request_date"])
    as_of = pd.Timestamp(generator.to_date(w.as_of))
    per_year = [int(((requested > as_of - pd.DateOffset(years=y + 1))
                     & (requested <= as_of - pd.DateOffset(years=y))).sum()) for y in range(4)]
    assert per_year[0] >= 0.9 * sum(per_year[1:]) / 3, per_year
    in_assessment = casework[(casework["decision"] != "refuse") & (casework["assessment_outcome"] == "")]
    assert len(in_assessment) > per_year[0] / 4, len(in_assessment)  # months of requests are being assessed
    assert (in_assessment["plan_issued_date"] == "").all() and casework["request_id"].is_unique
    assert len(casework.attrs["linkable"]) == len(casework)
