"""Loading a folder of published files, the public marts, publishing them as a mart version, the CLI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from portal import config, store
from portal.public import loader, mart
from portal.public.common import CATALOGUE_COLUMNS, GEOGRAPHY_LEVELS, INDICATOR_COLUMNS, PublicDataError

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="real published data not present")


def copy_real(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(REAL / name, folder / name)
    return folder


def test_whole_real_folder(real_public_load):
    result = real_public_load
    assert list(result.indicators.columns) == INDICATOR_COLUMNS
    assert list(result.catalogue.columns) == CATALOGUE_COLUMNS
    assert set(result.indicators.geography_level) == set(GEOGRAPHY_LEVELS)
    assert set(result.indicators.indicator_id) == set(result.catalogue.indicator_id)
    assert {"SOURCES.md: not a CSV or Parquet file", "eng_lad2013_topo.json: not a CSV or Parquet file"} <= set(result.skipped)
    assert result.neighbours.area_code.nunique() == 158
    # One figure per indicator, area and period, whichever files publish it.
    keys = ["indicator_id", "geography_level", "area_code", "period_end"]
    assert not result.indicators.duplicated(keys).any()


def test_newer_release_replaces_older_collection_for_overlapping_years(real_public_load):
    rows = real_public_load.indicators
    england = rows[(rows.indicator_id == "ehcp_pct_issued_20_weeks") & (rows.area_code == "E92000001")]
    by_year = england.set_index("period")
    assert by_year.loc["2019", "source"] == "Education, health and care plans"           # 2025 release
    assert by_year.loc["2014", "source"] == "Education, health and care plans (SEN2, 2014 to 2022)"
    assert by_year.loc["2022", "value"] == 47.7 and len(england) == 11                     # 2014..2024


def test_publish_adds_public_marts_to_a_new_live_version(tiny_marts, real_public_dir, tmp_path):
    before = store.current_version()
    shutil.copytree(real_public_dir, tmp_path / "data" / "public")
    after = mart.publish_public()
    assert after.name != before.name and store.current_version().name == after.name
    files = {p.name for p in after.path.glob("*.parquet")}
    assert {"dim_person.parquet", "public_indicators.parquet", "public_statistical_neighbours.parquet"} <= files
    assert after.manifest["marts"]["public_indicators"]["rows"] > 600_000
    assert after.manifest["feeds"]["public_statistics"]["received_at"]
    assert (before.path / "manifest.json").exists()  # the old version is left whole for running queries
    cur, _ = store.reader().cursor()
    try:
        value = cur.execute(
            "SELECT value FROM public_indicators WHERE indicator_id = $i AND area_code = $a AND period = $p",
            {"i": "ehcp_plans_in_place", "a": "891", "p": "2024/25"}).fetchone()[0]
        people = cur.execute("SELECT count(*) FROM dim_person").fetchone()[0]
    finally:
        cur.close()
    assert value == 5422 and people == 137


def test_a_build_carries_the_public_marts_forward(tiny_marts, real_public_dir, tmp_path):
    shutil.copytree(real_public_dir, tmp_path / "data" / "public")
    folder = tmp_path / "data" / "marts" / "v20261201T000000"
    folder.mkdir()
    entries = mart.include_in_version(folder)
    assert set(entries) == set(mart.MARTS)
    assert pd.read_parquet(folder / "public_indicator_catalogue.parquet").shape[0] == entries[
        "public_indicator_catalogue"]["rows"]


def test_before_any_build_the_figures_wait_for_the_first(tmp_path, monkeypatch, real_public_load):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "data"))
    mart.save(real_public_load, "test")
    assert mart.publish_public() is None
    assert (config.data_dir() / "public" / "public_indicators.parquet").exists()
    assert mart.load_record()["rows"]["public_statistical_neighbours"] == 1580


def test_lait_without_its_dictionary_is_refused(tmp_path):
    folder = copy_real(tmp_path / "in", "lait_bds_long.parquet")
    with pytest.raises(PublicDataError, match="lait_bds_long.parquet: .*data dictionary"):
        loader.load_folder(folder)


def test_a_folder_with_nothing_recognised(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(PublicDataError, match="holds no published statistics file"):
        loader.load_folder(folder)


def _cli(*args, data_dir: Path):
    env = dict(os.environ, SEND_PORTAL_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "portal", "public", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_load_publishes_and_a_bad_file_changes_nothing(tiny_marts, tmp_path):
    data_dir = tmp_path / "data"
    folder = copy_real(tmp_path / "in", "ehcp2025_timeliness_20_week.csv", "lait_statistical_neighbours_may2025.csv",
                       "ehcp2025_send_tribunal_appeal_rate_2014_2024.csv")
    done = _cli("load", str(folder), data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert "ehcp2025_timeliness_20_week.csv: 1,940 figures, 2 indicator(s)" in done.stdout
    assert "Published mart version" in done.stdout
    live = (data_dir / "marts" / "CURRENT").read_text()
    record = json.loads((data_dir / "public" / "public_load.json").read_text())
    assert record["rows"]["public_statistical_neighbours"] == 1580

    text = (folder / "ehcp2025_timeliness_20_week.csv").read_text(encoding="utf-8-sig")
    (folder / "ehcp2025_timeliness_20_week.csv").write_text(text.replace(",58.7,", ",n/a,", 1), encoding="utf-8")
    failed = _cli("load", str(folder), data_dir=data_dir)
    assert failed.returncode == 1
    assert "Nothing was loaded: ehcp2025_timeliness_20_week.csv: column 'pc_plans_issued_within_20_weeks' holds 'n/a'" \
        in failed.stderr
    assert "Traceback" not in failed.stderr
    assert (data_dir / "marts" / "CURRENT").read_text() == live


def test_rebuilding_the_marts_keeps_the_public_figures(small_demo, real_public_dir, tmp_path, monkeypatch):
    from portal import marts, queries

    data = tmp_path / "data"
    shutil.copytree(small_demo, data, ignore=shutil.ignore_patterns("public"))
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(data))
    shutil.copytree(real_public_dir, data / "public")
    queries.clear_cache()
    version = marts.build()
    assert {f"{name}.parquet" for name in mart.MARTS} <= {p.name for p in version.path.glob("*.parquet")}
    assert version.manifest["marts"]["public_statistical_neighbours"]["rows"] == 1580
    assert version.manifest["feeds"]["public_statistics"]["received_at"]
    assert version.manifest["feeds"]["gp_registrations"]["received_at"]  # the build's own feeds are kept
