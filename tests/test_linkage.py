"""Linkage: keyed pseudonymous person keys, the documented fallback, and match rates per feed."""
from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from portal import linkage, store
from portal.contracts import load_contracts
from portal.ingest import _link, _link_spine


def test_person_key_is_a_keyed_hash_of_the_nhs_number():
    a = linkage.person_keys(["9434765919", "9434765870", None, "9434765919"], key=b"key-one")
    b = linkage.person_keys(["9434765919"], key=b"key-two")
    assert a[0] == a[3] and a[0] != a[1] and a[2] is None
    assert len(a[0]) == linkage.KEY_HEX_CHARS and a[0] != b[0]
    assert "9434765919" not in a[0]


def test_nhs_check_digit_python_and_sql_agree():
    numbers = ["9434765919", "9434765870", "9434765918", "1234567890", "123", "abcdefghij", "4010232137"]
    con = duckdb.connect()
    for n in numbers:
        sql = con.execute(f"SELECT {linkage.nhs_check_digit_sql('$n')}", {"n": n}).fetchone()[0]
        assert bool(sql) == linkage.nhs_check_digit_ok(n), n


def test_fallback_links_only_a_unique_date_of_birth_postcode_and_sex(tmp_path, monkeypatch):
    import datetime as dt

    import pyarrow.parquet as pq

    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LINKAGE_KEY", "test-key")
    d1, d2 = dt.date(2015, 3, 1), dt.date(2016, 7, 9)
    spine = pa.table({
        "_row": [2, 3, 4, 5], "nhs_number": ["9434765919", "9434765870", "4010232137", "9000000009"],
        "given_name": ["A", "B", "C", "D"], "family_name": ["X", "Y", "Z", "Z"],
        "date_of_birth": [d1, d2, d2, dt.date(2010, 1, 1)], "sex": ["F", "M", "M", "F"],
        "ethnic_category": ["A"] * 4, "postcode": ["KX1 1AA", "KX2 2BB", "kx2 2bb", "KX3 3CC"],
        "small_area_code": ["Z01"] * 4, "practice_code": ["Z80001"] * 4, "practice_name": ["P"] * 4,
        "registration_date": [d1] * 4, "deregistration_date": pa.array([None] * 4, pa.date32()),
        "extract_date": [d2] * 4,
    })
    contracts = load_contracts()
    con = duckdb.connect()
    con.register("spine_rows", spine)
    landed = con.execute(_link_spine(contracts["gp_registrations"], "spine_rows", con)).fetch_arrow_table()
    assert landed.column("person_key").to_pylist() == list(linkage.person_keys(spine.column("nhs_number").to_pylist(),
                                                                              key=b"test-key"))
    assert pq.read_table(tmp_path / "identifiable" / "persons.parquet").num_rows == 4
    council = pa.table({
        "_row": [2, 3, 4, 5],
        "record_id": ["a", "b", "c", "d"],
        "nhs_number": pa.array([None, None, "9434765870", None], pa.string()),
        "date_of_birth": [d1, d2, d2, d1], "sex": ["F", "M", "M", "F"],
        "postcode": ["kx11aa", "KX2 2BB", "", "KX9 9ZZ"],  # unique match; twins at one address; NHS; moved
        "sen_status": ["E"] * 4, "primary_need": ["ASD"] * 4, "start_date": [d1] * 4,
        "end_date": pa.array([None] * 4, pa.date32()), "plan_id": ["p"] * 4,
        "last_review_date": pa.array([None] * 4, pa.date32()), "review_due_date": pa.array([None] * 4, pa.date32()),
        "cease_reason": pa.array([None] * 4, pa.string()),
    })
    con.register("council_rows", council)
    out = con.execute(_link(contracts["send_register"], "council_rows", con)).fetch_arrow_table()
    linked = out.num_rows - out.column("person_key").null_count
    rows = sorted(out.to_pylist(), key=lambda r: r["record_id"])
    keys = linkage.person_keys(["9434765919", "9434765870"], key=b"test-key")
    assert [r["link_method"] for r in rows] == ["demographics", None, "nhs_number", None]
    assert rows[0]["person_key"] == keys[0] and rows[2]["person_key"] == keys[1]
    assert linked == 2
    assert "date_of_birth" not in out.column_names and "nhs_number" not in out.column_names


def test_match_rate_per_feed_is_recorded_and_matches_ground_truth(small_demo):
    version = store.current_version(small_demo / "marts")
    con = duckdb.connect()
    rates = dict(con.execute(
        f"SELECT feed, linkage_match_rate FROM read_parquet('{(version.path / 'feed_status.parquet').as_posix()}')"
    ).fetchall())
    truth = json.loads((small_demo / "feeds" / "small" / "ground_truth.json").read_text())
    for feed, expected in truth["expected_match_rate"].items():
        assert rates[feed] == pytest.approx(expected, abs=1e-6), feed
    assert rates["send_register"] < 1.0  # some council records cannot be linked, and that shows
    for feed in ("gp_registrations", "gp_events", "ae_attendances", "prescribing", "community_referrals"):
        assert rates[feed] == 1.0
    assert rates["surveys"] is None and rates["geography"] is None


def test_the_demographic_lookup_is_used_only_while_it_is_newer_than_the_index(tmp_path):
    import os

    from portal.ingest import DEMOGRAPHICS_FILE, _demographics_source

    index = tmp_path / "linkage_index.parquet"
    index.write_bytes(b"")
    assert "GROUP BY" in _demographics_source(index)  # no lookup yet (a spine landed before it existed)
    lookup = tmp_path / DEMOGRAPHICS_FILE
    lookup.write_bytes(b"")
    os.utime(index, ns=(0, 1_000_000_000))
    os.utime(lookup, ns=(0, 2_000_000_000))
    assert DEMOGRAPHICS_FILE in _demographics_source(index) and "GROUP BY" not in _demographics_source(index)
    os.utime(index, ns=(0, 3_000_000_000))  # the index rewritten, the lookup not (a failed spine ingest)
    assert "GROUP BY" in _demographics_source(index)


@pytest.mark.parametrize("key", [b"test-key", b"k" * 64, b"a-key-longer-than-one-sha256-block-" * 3])
def test_person_key_in_duckdb_is_the_same_keyed_hash(key):
    numbers = ["9434765919", "9434765870", None, "4010232137", "9434765919"]
    expression, binds = linkage.person_key_sql("nhs_number", key=key)
    con = duckdb.connect()
    con.register("numbers", pa.table({"nhs_number": pa.array(numbers, pa.string())}))
    in_sql = [row[0] for row in con.execute(f"SELECT {expression} FROM numbers", binds).fetchall()]
    assert in_sql == list(linkage.person_keys(numbers, key=key))
    assert key.decode() not in expression  # the key is bound, never written into the SQL
