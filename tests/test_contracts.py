"""Feed contracts: they load, the generated feeds pass them, faults are precise, and the docs are current."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from portal import config
from portal.contracts import contract_for_file, load_contracts, render_markdown, validate_file

FEEDS = ["geography", "gp_registrations", "gp_events", "prescribing", "ae_attendances", "community_referrals",
         "send_register", "sen2_casework", "school_census", "ks4_attainment", "surveys"]


def test_one_contract_per_feed_in_ingest_order():
    contracts = load_contracts()
    assert list(contracts) == FEEDS  # geography, then the spine, before anything that links to it
    for contract in contracts.values():
        assert contract.columns and contract.grain.startswith("one row per")
        assert all(col.description for col in contract.columns)


def test_realistic_codes_are_in_the_contracts():
    contracts = load_contracts()
    snomed = contracts["gp_events"].codes["snomed_code"]
    for code in ["195967001", "394700004", "270442000", "406506008", "35919005", "414916001"]:
        assert code in snomed
    assert "0401010AD" in contracts["prescribing"].codes["bnf_chemical"]
    needs = contracts["send_register"].column("primary_need").allowed
    assert {"ASD", "SLCN", "SEMH", "MLD", "SpLD"} <= set(needs)


def test_every_generated_feed_passes_its_contract(small_demo):
    feeds = small_demo / "feeds" / "small"
    contracts = load_contracts()
    seen = set()
    con = duckdb.connect()
    for path in sorted(feeds.iterdir()):
        contract = contract_for_file(path, contracts)
        if contract is None or contract.companion_kind(path.name):
            continue
        result = validate_file(path, contract, con)
        assert result.ok, [f.text() for f in result.faults[:5]]
        assert result.rows > 0
        seen.add(contract.feed)
    assert seen == set(FEEDS)


def test_feeds_arrive_in_mixed_shapes(small_demo):
    """CSV with and without a byte-order mark, UK dates, reordered columns, Excel and Parquet."""
    feeds = small_demo / "feeds" / "small"
    suffixes = {p.suffix for p in feeds.iterdir()}
    assert {".csv", ".xlsx", ".parquet"} <= suffixes
    assert (feeds / "gp_registrations.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not (feeds / "send_register.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    import csv

    with open(feeds / "ae_attendances_001.csv", newline="") as fh:
        ae_header, first_row = next(csv.reader(fh)), next(csv.reader(fh))
    contract_order = load_contracts()["ae_attendances"].column_names
    assert ae_header != [c for c in contract_order if c in ae_header]  # another column order
    assert "/" in first_row[ae_header.index("arrival_date")]  # dd/mm/yyyy


def _write(tmp_path: Path, name: str, text: str, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


GOOD_REFERRALS = (
    "Referral Source,SERVICE,Referral_ID,nhs number,referral_date,seen_date\n"
    "GP,asd,R1,9434765919,03/02/2025,\n"
    "School,SLT,R2,943 476 5870,2025-01-10,2025-06-01\n"
)


def test_columns_are_matched_by_name_whatever_the_case_order_or_bom(tmp_path):
    path = _write(tmp_path, "community_referrals_x.csv", GOOD_REFERRALS, bom=True)
    result = validate_file(path, load_contracts()["community_referrals"])
    assert result.ok, [f.text() for f in result.faults]
    rows = result.typed.to_pylist()
    assert rows[0]["service"] == "ASD" and rows[0]["referral_date"] == dt.date(2025, 2, 3)
    assert rows[0]["seen_date"] is None
    assert rows[1]["nhs_number"] == "9434765870"


def test_checked_rows_can_stay_in_duckdb_for_the_caller(tmp_path):
    # ingest links and writes large files in SQL: the rows left behind are the rows it would have returned
    path = _write(tmp_path, "community_referrals_x.csv", GOOD_REFERRALS)
    contract = load_contracts()["community_referrals"]
    returned = validate_file(path, contract).typed.to_pylist()
    con = duckdb.connect()
    kept = validate_file(path, contract, con, keep="checked_rows")
    assert kept.ok and kept.typed is None and kept.typed_view == "checked_rows"
    assert con.execute("SELECT * FROM checked_rows ORDER BY _row").fetch_arrow_table().to_pylist() == returned
    with pytest.raises(ValueError):
        validate_file(path, contract, con, keep="x; DROP TABLE parsed")


def test_faults_name_row_column_value_and_reason(tmp_path):
    text = (
        "referral_id,nhs_number,service,referral_date,seen_date\n"
        "R1,9434765919,ASD,31/02/2025,\n"           # row 2: no 31 February
        "R2,9434765918,SLT,2025-01-10,\n"           # row 3: check digit wrong
        "R3,9434765870,DENTAL,2025-01-10,\n"        # row 4: code not allowed
        "R1,9434765870,OT,2025-01-10,2024-12-01\n"  # row 5: duplicate key; seen before referral
        ",9434765870,OT,2025-01-10,\n"              # row 6: required value missing
    )
    result = validate_file(_write(tmp_path, "community_referrals.csv", text), load_contracts()["community_referrals"])
    faults = {(f.row, f.column): f for f in result.faults}
    assert not result.ok and result.typed is None
    assert "is not a date" in faults[(2, "referral_date")].reason and faults[(2, "referral_date")].value == "31/02/2025"
    assert "NHS number" in faults[(3, "nhs_number")].reason
    assert "not an allowed code" in faults[(4, "service")].reason
    assert "duplicate key" in faults[(5, "referral_id")].reason
    assert faults[(5, "seen_date, referral_date")].reason == "seen_date is before referral_date"
    assert faults[(6, "referral_id")].reason == "required value is missing"
    assert result.n_faults == 6
    assert faults[(2, "referral_date")].text().startswith("row 2, column referral_date: is not a date")


def test_missing_required_column_and_unreadable_files(tmp_path):
    contract = load_contracts()["community_referrals"]
    result = validate_file(_write(tmp_path, "community_referrals.csv", "referral_id,service\nR1,ASD\n"), contract)
    assert {f.column for f in result.faults} == {"nhs_number", "referral_date"}
    assert all(f.reason == "required column is missing from the file" for f in result.faults)
    broken = tmp_path / "community_referrals.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    result = validate_file(broken, contract)
    assert not result.ok and "cannot be read as PARQUET" in result.faults[0].reason
    empty = _write(tmp_path, "community_referrals.xlsx.csv", "referral_id,nhs_number,service,referral_date\n")
    assert validate_file(empty, contract).faults[0].reason == "the file has no data rows"


def test_excel_and_parquet_are_read_by_name(tmp_path):
    contract = load_contracts()["community_referrals"]
    frame = pd.DataFrame({"seen_date": [None], "referral_date": [pd.Timestamp("2025-01-10")], "service": ["OT"],
                          "nhs_number": ["9434765919"], "referral_id": ["R9"]})
    frame.to_excel(tmp_path / "community_referrals.xlsx", index=False)
    frame.to_parquet(tmp_path / "community_referrals.parquet")
    for name in ("community_referrals.xlsx", "community_referrals.parquet"):
        result = validate_file(tmp_path / name, contract)
        assert result.ok, [f.text() for f in result.faults]
        assert result.typed.to_pylist()[0]["referral_date"] == dt.date(2025, 1, 10)


def test_docs_contracts_md_is_rendered_from_the_contracts():
    current = (config.REPO_ROOT / "docs" / "contracts.md").read_text()
    assert current == render_markdown(), "run: python -m portal contracts-doc"
    result = subprocess.run([sys.executable, "-m", "portal", "contracts-doc", "--check"], cwd=config.REPO_ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_feed_name_that_is_not_a_plain_identifier_is_refused(tmp_path):
    """The build names a view landed_<feed> after each contract, so the name must be a plain identifier."""
    import shutil

    from portal.contracts import ContractError

    source = config.CONTRACTS_DIR / "surveys.yaml"
    odd = "surveys x; DROP VIEW landed_gp_events"
    (tmp_path / f"{odd}.yaml").write_text(source.read_text().replace("feed: surveys", f"feed: '{odd}'", 1))
    with pytest.raises(ContractError, match="is not a plain identifier"):
        load_contracts(tmp_path)
    shutil.copyfile(source, tmp_path / "surveys.yaml")  # the same contract under a plain name loads
    (tmp_path / f"{odd}.yaml").unlink()
    assert list(load_contracts(tmp_path)) == ["surveys"]
