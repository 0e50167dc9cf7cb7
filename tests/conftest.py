"""Shared test fixtures."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

TINY_AS_OF = dt.date(2026, 10, 31)
# people per locality in the tiny marts: Southmoor (5) is hidden; Westdale (9) is the smallest other
# count, so it is hidden too (secondary suppression against the area total).
TINY_LOCALITY_COUNTS = {"Northfield": 100, "Eastbrook": 23, "Westdale": 9, "Southmoor": 5}


def _write_tiny_marts(data_dir: Path, *, version: str = "v20261101T000000", extra: dict | None = None) -> Path:
    """Write a small, fully known mart version (plus persons.parquet) under data_dir and publish it."""
    from portal import store

    marts_root = data_dir / "marts"
    folder = marts_root / version
    folder.mkdir(parents=True, exist_ok=True)
    people = []
    n = 0
    practices = {"Northfield": "P001", "Eastbrook": "P002", "Westdale": "P002", "Southmoor": "P003"}
    for locality, count in TINY_LOCALITY_COUNTS.items():
        for i in range(count):
            n += 1
            people.append({
                "person_key": f"K{n:04d}",
                "practice_code": practices[locality],
                "small_area_code": f"SA{n % 7}",
                "age": 3 + i % 20,
                "locality": locality,
                "age_band": ["0-4", "5-10", "11-15", "16-17", "18-25"][i % 5],
                "sex": ["Female", "Male"][i % 2],
                "ethnicity": ["White", "Asian", "Black", "Mixed", "Other", "Not known"][i % 6],
                "imd_quintile": 1 + i % 5,
                "send_status": ["EHCP", "SEN support", "No SEND", "No SEND"][i % 4],
                "primary_need": ["ASD", "SLCN", "None", "None"][i % 4],
                "has_asthma": i % 3 == 0, "has_obesity": False, "has_autism": i % 4 == 0, "has_adhd": False,
            })
    dim_person = pd.DataFrame(people)
    dim_person["imd_quintile"] = dim_person["imd_quintile"].astype("int32")
    dim_person.to_parquet(folder / "dim_person.parquet", index=False)
    pd.DataFrame({
        "locality": list(TINY_LOCALITY_COUNTS),
        "locality_code": [f"L{i}" for i in range(len(TINY_LOCALITY_COUNTS))],
        "n_cyp": list(TINY_LOCALITY_COUNTS.values()),
        "centroid_lon": [-1.0, -1.1, -1.2, -1.3], "centroid_lat": [52.0, 52.1, 52.2, 52.3],
    }).to_parquet(folder / "dim_locality.parquet", index=False)
    referrals = dim_person[dim_person.locality.isin(["Northfield", "Eastbrook"])].copy()
    referrals["referral_id"] = [f"R{i:04d}" for i in range(len(referrals))]
    referrals["service"] = ["ASD", "SLT"] * (len(referrals) // 2) + ["ASD"] * (len(referrals) % 2)
    referrals["referral_date"] = [TINY_AS_OF - dt.timedelta(weeks=i % 60) for i in range(len(referrals))]
    referrals["waiting_now"] = [i % 3 != 0 for i in range(len(referrals))]
    referrals["wait_weeks"] = [float(i % 60) for i in range(len(referrals))]
    referrals["seen_date"] = None
    referrals.drop(columns=["practice_code", "small_area_code", "age", "has_asthma", "has_obesity",
                            "has_autism", "has_adhd"]).to_parquet(folder / "fct_referrals.parquet", index=False)
    pd.DataFrame({
        "feed": ["gp_registrations", "send_register", "community_services"],
        "last_file": ["a.csv", "b.csv", "c.csv"],
        "received_at": ["2026-11-01 06:00:00", "2026-10-28 09:00:00", "2026-10-30 12:00:00"],
        "rows": [137, 137, 123], "failures": [0, 0, 0], "linkage_match_rate": [1.0, 0.98, 0.99],
    }).to_parquet(folder / "feed_status.parquet", index=False)
    for name, frame in (extra or {}).items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    (folder / "manifest.json").write_text(json.dumps({
        "version": version, "built_at": "2026-11-01T00:00:00Z", "as_of": TINY_AS_OF.isoformat(),
        "marts": {p.stem: {} for p in folder.glob("*.parquet")},
    }))
    ident = data_dir / "identifiable"
    ident.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({
        "person_key": dim_person.person_key,
        "nhs_number": [f"999{n:07d}" for n in range(len(dim_person))],
        "given_name": [f"Given{n}" for n in range(len(dim_person))],
        "family_name": [f"Family{n}" for n in range(len(dim_person))],
        "date_of_birth": [dt.date(2010, 1, 1) + dt.timedelta(days=n) for n in range(len(dim_person))],
        "practice_code": dim_person.practice_code,
    }).to_parquet(ident / "persons.parquet", index=False)
    store.publish(folder, root=marts_root)
    return folder


@pytest.fixture
def tiny_marts(tmp_path, monkeypatch):
    """A data directory with one small published mart version whose every count is known.

    Yields a callable ``publish(version=..., extra={mart: DataFrame})`` that publishes another version
    (to test that results follow a publish), and clears the query cache around the test.
    """
    from portal import queries

    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "data"))
    queries.clear_cache()
    _write_tiny_marts(tmp_path / "data")

    def publish(**kwargs):
        return _write_tiny_marts(tmp_path / "data", **kwargs)

    yield publish
    queries.clear_cache()


# --- users (portal shell) ---------------------------------------------------------------------------

class UsersByRole(dict):
    """{role: username}; every user's password is ``.password``."""
    password = "correct-horse-battery"


@pytest.fixture
def portal_users(tmp_path, monkeypatch):
    """One user per role in the operational database of the current data directory (set by another
    fixture, e.g. ``tiny_marts``, or a fresh one here); returns a UsersByRole.

    bcrypt runs with few rounds so sign-in tests stay quick; the hashing itself is the real one.
    """
    import os

    from portal import ops
    from portal.roles import ROLES

    # Never touch a real data directory: only one this test's fixtures made under tmp_path.
    if not os.environ.get("SEND_PORTAL_DATA_DIR", "").startswith(str(tmp_path)):
        monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(ops, "BCRYPT_ROUNDS", 4)
    scope = {"gp": {"practice_code": "P001"}, "clinician": {"service": "ASD", "locality": "Northfield"}}
    users = UsersByRole()
    for role in ROLES:
        ops.add_user(f"test-{role}", users.password, role, f"Test {role.title()}", **scope.get(role, {}))
        users[role] = f"test-{role}"
    return users


# --- published national statistics (How do we compare?) -------------------------------------------

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "real-data"


@pytest.fixture(scope="session")
def real_public_load():
    """The real published files in ../shared/real-data, loaded once per session (a LoadResult)."""
    if not REAL_DATA.is_dir():
        pytest.skip("real published data (../shared/real-data) not present")
    from portal.public import loader

    return loader.load_folder(REAL_DATA)


@pytest.fixture(scope="session")
def real_public_dir(real_public_load, tmp_path_factory):
    """A saved data/public folder holding the real published figures (copied into tests' data dirs)."""
    import os

    from portal.public import mart

    data = tmp_path_factory.mktemp("public_real") / "data"
    previous = os.environ.get("SEND_PORTAL_DATA_DIR")
    os.environ["SEND_PORTAL_DATA_DIR"] = str(data)
    try:
        return mart.save(real_public_load, str(REAL_DATA))
    finally:
        if previous is None:
            os.environ.pop("SEND_PORTAL_DATA_DIR", None)
        else:
            os.environ["SEND_PORTAL_DATA_DIR"] = previous


@pytest.fixture
def public_marts(tiny_marts, real_public_dir, tmp_path):
    """``tiny_marts`` plus the real published statistics, published as the live version the page reads."""
    import shutil

    from portal import queries
    from portal.public import mart

    shutil.copytree(real_public_dir, tmp_path / "data" / "public")
    version = mart.publish_public()
    queries.clear_cache()
    return version


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """The ``small`` synthetic ICB generated, ingested and built once per test session.

    Returns the data directory (use it as ``SEND_PORTAL_DATA_DIR``); its feeds and ground truth are in
    ``feeds/small/``, the published marts in ``marts/``.
    """
    import os

    from portal.commands.data import build_demo

    data_dir = tmp_path_factory.mktemp("small_demo")
    previous = os.environ.get("SEND_PORTAL_DATA_DIR")
    os.environ["SEND_PORTAL_DATA_DIR"] = str(data_dir)
    try:
        build_demo("small")
    finally:
        if previous is None:
            os.environ.pop("SEND_PORTAL_DATA_DIR", None)
        else:
            os.environ["SEND_PORTAL_DATA_DIR"] = previous
    return data_dir


def _pointed_at(data_dir: Path, monkeypatch):
    from portal import queries

    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(data_dir))
    queries.clear_cache()
    yield json.loads(next(data_dir.glob("feeds/*/ground_truth.json")).read_text())
    queries.clear_cache()


@pytest.fixture
def on_small_demo(small_demo, monkeypatch):
    """Point the portal at the small demo (published marts) for one test; returns its ground truth."""
    yield from _pointed_at(small_demo, monkeypatch)


@pytest.fixture
def on_county_demo(monkeypatch):
    """Point the portal at a built county demo for one test; returns its ground truth. The county demo takes
    a minute or two to build, so it is opt-in: SEND_PORTAL_COUNTY_DATA_DIR=<its data directory>
    (python -m portal build-demo --scale county); without it the test is skipped."""
    import os

    county = os.environ.get("SEND_PORTAL_COUNTY_DATA_DIR")
    if not county:
        pytest.skip("set SEND_PORTAL_COUNTY_DATA_DIR to a built county demo to run this at county scale")
    yield from _pointed_at(Path(county), monkeypatch)


def run_page_as(page: str, user, **state):
    """Run ``pages/<page>.py`` in AppTest with ``user`` signed in and widget values seeded by key."""
    from streamlit.testing.v1 import AppTest

    from portal import config

    at = AppTest.from_file(str(config.PAGES_DIR / f"{page}.py"), default_timeout=180)
    at.session_state["portal_user"] = user
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()
