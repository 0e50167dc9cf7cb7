"""``python -m portal query``: the same runner and checks from the command line."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import TINY_LOCALITY_COUNTS
from portal import config, ops
from portal.cli import main


def _query(capsys, *args):
    code = main(["query", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_real_entry_point_prints_suppressed_csv(tiny_marts):
    proc = subprocess.run(
        [sys.executable, "-m", "portal", "query", "people_by_locality", "--role", "commissioner"],
        cwd=config.REPO_ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert {r["locality"]: r["n_people"] for r in rows} == {
        "Eastbrook": "25", "Northfield": "100", "Southmoor": "*", "Westdale": "*"}
    assert "Fewer than 8" in proc.stderr


def test_analysts_get_unsuppressed_json_with_provenance(tiny_marts, capsys):
    code, out, _ = _query(capsys, "people_by_locality", "--role", "analyst", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert {r["locality"]: r["n_people"] for r in doc["rows"]} == TINY_LOCALITY_COUNTS
    assert doc["suppressed"] is False and doc["as_of"] == "2026-10-31"
    assert doc["data_version"] == "v20261101T000000" and doc["feed_refresh"]["gp_registrations"] == "2026-11-01"


def test_json_marks_suppressed_cells(tiny_marts, capsys):
    code, out, _ = _query(capsys, "people_by_locality", "--role", "commissioner", "--format", "json",
                          "--param", "send_status=EHCP", "--param", "period=Last 3 years")
    doc = json.loads(out)
    assert code == 0 and doc["suppressed"] and doc["filters"] == {"send_status": "EHCP", "period": "Last 3 years"}
    hidden_rows = {c["row"] for c in doc["suppressed_cells"]}
    assert all(doc["rows"][r]["n_people"] is None for r in hidden_rows)
    assert {r["locality"]: r["n_people"] for r in doc["rows"]}["Northfield"] == 25


def test_gp_needs_a_practice_and_sees_only_it(tiny_marts, capsys):
    code, _, err = _query(capsys, "practice_send_register", "--role", "gp")
    assert code == 2 and "--practice" in err
    code, out, _ = _query(capsys, "practice_send_register", "--role", "gp", "--practice", "P003")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and 0 < len(rows) < TINY_LOCALITY_COUNTS["Southmoor"]
    code, _, err = _query(capsys, "practice_send_register", "--role", "gp", "--practice", "P003",
                          "--param", "practice_code=P001")
    assert code == 3 and "your own practice" in err


def test_clinician_needs_service_and_locality(tiny_marts, capsys):
    code, _, err = _query(capsys, "service_waiting_list", "--role", "clinician", "--service", "ASD")
    assert code == 2
    code, out, _ = _query(capsys, "service_waiting_list", "--role", "clinician", "--service", "ASD",
                          "--locality", "Eastbrook", "--param", "min_wait_weeks=20")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows and all(float(r["wait_weeks"]) >= 20 for r in rows)
    code, _, _ = _query(capsys, "people_by_locality", "--role", "commissioner", "--practice", "P001")
    assert code == 2


@pytest.mark.parametrize("args, expected", [
    (["service_waiting_list", "--role", "commissioner"], 3),
    (["people_by_locality", "--role", "commissioner", "--param", "locality=x' OR '1'='1"], 2),
    (["people_by_locality", "--role", "commissioner", "--param", "bogus=1"], 2),
    (["people_by_locality", "--role", "commissioner", "--param", "no-equals-sign"], 2),
    (["people_by_locality", "--role", "commissioner", "--param", "sex=Male", "--param", "sex=Female"], 2),
    (["no_such_query", "--role", "analyst"], 2),
    (["../etc/passwd", "--role", "analyst"], 2),
    (["people_by_locality"], 2),
])
def test_refusals_have_clear_messages_and_exit_codes(tiny_marts, capsys, args, expected):
    code, out, err = _query(capsys, *args)
    assert code == expected and out == "" and err.startswith("error: ") and "Traceback" not in err


def test_runs_as_a_real_account_and_refuses_a_disabled_one(tiny_marts, capsys):
    ops.add_user("dr.patel", "a long enough password 1", "gp", "Dr Patel", practice_code="P002")
    code, out, _ = _query(capsys, "practice_send_register", "--user", "dr.patel", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["rows"]
    ops.set_active("dr.patel", False)
    code, _, err = _query(capsys, "practice_send_register", "--user", "dr.patel")
    assert code == 3 and "No active user" in err
    code, _, _ = _query(capsys, "practice_send_register", "--user", "nobody")
    assert code == 3


def test_every_run_is_audited_as_an_export(tiny_marts, capsys):
    _query(capsys, "people_by_locality", "--role", "analyst", "--param", "sex=Female")
    event = ops.audit_events(event="export")[0]
    assert event["username"] == "cli-analyst"
    assert event["detail"]["query"] == "people_by_locality" and event["detail"]["via"] == "command line"
    assert event["detail"]["filters"] == {"sex": "Female"}


def test_list_shows_only_what_the_role_may_run(tiny_marts, capsys):
    code, out, _ = _query(capsys, "--list", "--role", "commissioner")
    names = {line.split("\t")[0] for line in out.splitlines()}
    assert code == 0 and "people_by_locality" in names
    assert "service_waiting_list" not in names and "practice_send_register" not in names


def test_no_data_yet_exits_with_its_own_code(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "empty"))
    code, _, err = _query(capsys, "people_by_locality", "--role", "analyst")
    assert code == 4 and "not been built" in err
