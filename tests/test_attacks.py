"""Attacks, tried against the real parts (the query runner over the small demo's Parquet marts, the
sign-in through AppTest, the upload checks, the redaction): each must fail safely.

Browser-level attacks (cookie reuse, URL values, the server's log) are in tests/browser/test_attacks_browser.py.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import config, filters as global_filters, ops, queries, store, uploads
from portal.navigation import PAGES
from portal.redaction import redact
from portal.roles import ROLES, User

INJECTIONS = [
    "'; DROP VIEW dim_person; --",
    "' OR '1'='1",
    "x' UNION SELECT nhs_number, given_name FROM read_parquet('data/identifiable/persons.parquet') --",
    "1; COPY (SELECT 1) TO '/tmp/owned.csv'",
    "$scope_practice_code",
    "{{ filters }}",
    "Eastfield\" OR 1=1 --",
    "ASD') OR ('a'='a",
    "0 OR 1=1",
    "1e308",
    "-1",
    "\x00",
    "%' --",
    "ATTACH '/tmp/x.db' AS x",
]


def _users() -> dict[str, User]:
    return {
        "commissioner": User("a-commissioner", "A Commissioner", "commissioner"),
        "clinician": User("a-clinician", "A Clinician", "clinician", service="ASD", locality="Eastfield"),
        "gp": User("a-gp", "A GP", "gp", practice_code="Z80001"),
        "analyst": User("a-analyst", "An Analyst", "analyst"),
        "admin": User("a-admin", "An Admin", "admin"),
    }


def _mart_digests(data_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((data_dir / "marts").rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------ SQL injection
def _attack_every_parameter(names: list[str]) -> tuple[int, int, list[str]]:
    """Each named query, as a role allowed to run it, with every injection string in each of its
    parameters and each of its filters. Returns (tried, refused, failures)."""
    users = _users()
    tried = refused = 0
    failures = []
    for name in names:
        spec = queries.load_query(name)
        role = next(r for r in ("analyst", "commissioner", "gp", "clinician", "admin") if r in spec.roles)
        user = users[role]
        required = {p: ([s.allowed[0]] if s.allowed else ["E92000001"]) if s.type == "list"
                    else (s.default if s.default is not None else (s.allowed or ["x"])[0])
                    for p, s in spec.params.items() if s.required}
        targets = [("param", p) for p in spec.params] + [("filter", f) for f in spec.filters]
        for kind, target in targets:
            for value in INJECTIONS:
                tried += 1
                try:
                    if kind == "param":
                        bad = [value] if spec.params[target].type == "list" else value
                        queries.run(name, user, None, **{**required, target: bad})
                    else:
                        queries.run(name, user, {target: value}, **required)
                except queries.BadParameter as exc:
                    refused += 1
                    if "Traceback" in str(exc) or "duckdb" in str(exc).lower():
                        failures.append(f"{name}.{target}: message leaks internals: {exc}")
                except queries.QueryError as exc:
                    failures.append(f"{name}.{target}={value!r}: {type(exc).__name__}: {exc}")
                except Exception as exc:  # noqa: BLE001 - anything else is a crash
                    failures.append(f"{name}.{target}={value!r}: crashed with {type(exc).__name__}: {exc}")
    return tried, refused, failures


def test_injection_strings_in_every_query_parameter_and_filter_are_refused_or_inert(on_small_demo, small_demo):
    """Refused with a plain message, or run with the string as a harmless literal value; nothing changes
    in the marts, no file is written, and a canary query answers as before."""
    analyst = _users()["analyst"]
    canary = queries.run("people_by_locality", analyst).df.copy()
    before = _mart_digests(small_demo)
    names = [n for n in queries.list_queries() if queries.load_query(n).output != "published"]
    tried, refused, failures = _attack_every_parameter(names)
    assert not failures, "\n".join(failures[:20])
    assert tried > 300 and refused > 0
    assert _mart_digests(small_demo) == before, "a mart file changed"
    assert not Path("/tmp/owned.csv").exists() and not Path("/tmp/x.db").exists()
    queries.clear_cache()
    pd.testing.assert_frame_equal(queries.run("people_by_locality", analyst).df, canary)


def test_injection_strings_in_the_published_statistics_queries_are_refused_or_inert(public_marts, tmp_path):
    names = [n for n in queries.list_queries() if queries.load_query(n).output == "published"]
    before = _mart_digests(tmp_path / "data")
    tried, refused, failures = _attack_every_parameter(names)
    assert not failures, "\n".join(failures[:20])
    assert tried >= len(INJECTIONS) * 2
    assert _mart_digests(tmp_path / "data") == before


def test_free_text_search_values_are_bound_not_spliced(on_small_demo):
    """The survey search box is the one free-text parameter: hostile text is searched for literally."""
    analyst = _users()["analyst"]
    everything = queries.run("survey_comments", analyst, None, search="")
    assert len(everything.df) > 0
    for value in ("' OR '1'='1", "%' --", "x' UNION SELECT 1 --", "%", "_"):
        result = queries.run("survey_comments", analyst, None, search=value)
        assert len(result.df) < len(everything.df) or value in ("%", "_"), value
        for text in result.df.get("comment_redacted", pd.Series(dtype=str)):
            assert value.lower() in str(text).lower()


# ------------------------------------------------------------------------------------------ roles
def test_every_query_refuses_every_role_it_does_not_list(on_small_demo):
    users = _users()
    checked = 0
    for name in queries.list_queries():
        spec = queries.load_query(name)
        for role in set(ROLES) - set(spec.roles):
            with pytest.raises(queries.ForbiddenQuery):
                queries.run(name, users[role])
            checked += 1
        with pytest.raises(queries.ForbiddenQuery):
            queries.run(name, None)  # not signed in
    assert checked > 10


def test_a_forged_user_object_or_role_string_is_refused(on_small_demo):
    with pytest.raises(ValueError):
        User("mallory", "Mallory", "superuser")
    for forged in ({"username": "x", "role": "analyst"}, "analyst", ("analyst",)):
        with pytest.raises(queries.ForbiddenQuery):
            queries.run("feed_status", forged)


@pytest.mark.parametrize("page", [p for p in PAGES if p.roles != frozenset(ROLES)], ids=lambda p: p.url_path)
def test_every_page_run_directly_refuses_every_role_it_does_not_list(on_small_demo, page):
    """The page script itself (as if reached by URL or a crafted rerun message) shows a refusal to a
    role it is not for, and draws no figures."""
    from tests.conftest import run_page_as

    users = _users()
    for role in set(ROLES) - set(page.roles):
        at = run_page_as(Path(page.path).stem, users[role])
        assert not at.exception, (role, [e.value for e in at.exception])
        shown = " ".join(str(e.value) for e in [*at.warning, *at.error, *at.info])
        assert shown, f"{page.path} shows no refusal to {role}"
        assert not at.get("vega_lite_chart") and not at.dataframe and not at.table, \
            f"{page.path} drew data for {role}"


# ------------------------------------------------------------------------------------------ GP scope
def test_a_gp_never_sees_another_practices_children(on_small_demo, small_demo):
    persons = pd.read_parquet(small_demo / "identifiable" / "persons.parquet")
    practices = sorted(persons.practice_code.dropna().unique())
    assert len(practices) >= 2
    for practice in practices:
        gp = User(f"gp-{practice}", "GP", "gp", practice_code=practice)
        for name in ("gp_cohort", "gp_cohort_practice", "practice_send_register"):
            spec = queries.load_query(name)
            required = {p: [s.allowed[0]] if s.type == "list" and s.allowed else s.default
                        for p, s in spec.params.items() if s.required}
            result = queries.run(name, gp, None, **required)
            if "nhs_number" in result.df:
                theirs = set(persons.loc[persons.practice_code == practice, "nhs_number"])
                assert set(result.df.nhs_number) <= theirs, f"{name} for {practice} lists other practices' children"
            if "practice_code" in result.df:
                assert set(result.df.practice_code) <= {practice}
            for param in ("practice_code", "practice"):
                other = next(p for p in practices if p != practice)
                with pytest.raises(queries.ScopeViolation):
                    queries.run(name, gp, None, **{param: other, **required})
    with pytest.raises(queries.ForbiddenQuery):  # a GP account without a practice sees nobody
        queries.run("gp_cohort", User("gp-none", "GP", "gp"), None)


# ------------------------------------------------------------------------------------------ suppression
_SMALL_QUERIES = [n for n in queries.list_queries()
                  if queries.load_query(n).output == "aggregate" and "commissioner" in queries.load_query(n).roles
                  and not any(s.required for s in queries.load_query(n).params.values())]


def _filter_values():
    return st.fixed_dictionaries({}, optional={
        "locality": st.sampled_from(["Eastfield", "Northgate", "Riverton", "Westmoor", "Southbrook"]),
        "age_band": st.sampled_from(global_filters.AGE_BANDS),
        "sex": st.sampled_from(global_filters.SEXES),
        "ethnicity": st.sampled_from(global_filters.ETHNICITIES),
        "imd_quintile": st.sampled_from([str(q) for q in global_filters.IMD_QUINTILES]),
        "send_status": st.sampled_from(global_filters.SEND_STATUSES),
    })


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(_SMALL_QUERIES), chosen=_filter_values())
def test_suppressed_counts_cannot_be_recovered_from_what_is_shown(on_small_demo, name, chosen):
    """For any query and any combination of filters a commissioner can choose: no count of 1-7 is shown,
    every count shown is a multiple of 5, and in every group whose rows add up to a total shown elsewhere
    no hidden cell stands alone (so total minus the others never gives it back)."""
    spec = queries.load_query(name)
    commissioner = _users()["commissioner"]
    version = store.reader().version()
    valid = global_filters.allowed_values(version)
    usable = {k: v for k, v in chosen.items() if k in spec.filters
              and (v in [str(x) for x in valid.get(k, [])] or k != "locality")}
    try:
        result = queries.run(name, commissioner, usable)
    except queries.BadParameter:
        return  # a value this area does not have: refused, which is safe
    df, hidden = result.df, result.suppressed_cells
    for column in spec.suppress.counts:
        if column not in df:
            continue
        shown = df[column].dropna().astype(float)
        assert not ((shown >= 1) & (shown <= 7)).any(), f"{name}.{column} shows a count of 1-7"
        assert (shown % 5 == 0).all(), f"{name}.{column} shows an unrounded count"
        for group in spec.suppress.group_by:
            keys = [g for g in group if g in df]
            groups = [df.index] if not keys else df.groupby(keys, dropna=False).groups.values()
            for index in groups:
                lone = int(hidden.loc[index, column].sum())
                nonzero_shown = int((df.loc[index, column].fillna(0) > 0).sum())
                assert lone != 1 or nonzero_shown == 0, \
                    f"{name}.{column}: one hidden cell alone in group {keys} with filters {usable}"


def test_differencing_two_filtered_totals_does_not_pin_a_hidden_count(on_small_demo):
    """All children minus boys = girls: where the girls' count for a locality is hidden, the two shown
    (rounded) figures leave at least two possible values for it."""
    commissioner = _users()["commissioner"]
    analyst = _users()["analyst"]
    checked = 0
    for status in global_filters.SEND_STATUSES:
        for age in global_filters.AGE_BANDS:
            both = queries.run("people_by_locality", commissioner, {"send_status": status, "age_band": age}).df
            male = queries.run("people_by_locality", commissioner,
                               {"send_status": status, "age_band": age, "sex": "Male"}).df
            female = queries.run("people_by_locality", commissioner,
                                 {"send_status": status, "age_band": age, "sex": "Female"})
            truth = queries.run("people_by_locality", analyst,
                                {"send_status": status, "age_band": age, "sex": "Female"}).df
            for locality in female.df.locality[female.suppressed_cells.n_people]:
                b = both.set_index("locality").n_people.get(locality)
                m = male.set_index("locality").n_people.get(locality)
                if pd.isna(b) or pd.isna(m):
                    continue
                candidates = [v for v in range(1, 8) if abs((b - m) - v) <= 5]  # each figure is within 2.5
                assert len(candidates) >= 2, (status, age, locality, b, m, candidates)
                assert int(truth.set_index("locality").n_people[locality]) in range(1, 8)
                checked += 1
    assert checked > 0, "the demo has hidden cells to attack"


# ------------------------------------------------------------------------------------------ sign-in
def _login(at, username: str, password: str):
    fields = {box.label: box for box in at.text_input}
    fields["Username"].input(username)
    fields["Password"].input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    return at


def test_brute_force_locks_the_account_and_does_not_reveal_which_usernames_exist(tiny_marts, portal_users):
    from streamlit.testing.v1 import AppTest

    app = str(config.REPO_ROOT / "portal" / "app.py")
    victim = portal_users["analyst"]
    messages = []
    for i in range(ops.LOCKOUT_THRESHOLD + 3):
        at = _login(AppTest.from_file(app, default_timeout=60).run(), victim, f"guess-{i}")
        messages.append([e.value for e in at.error])
    assert ops.get_user(victim).is_locked()
    at = _login(AppTest.from_file(app, default_timeout=60).run(), victim, portal_users.password)
    assert "locked" in " ".join(e.value for e in at.error).lower()
    assert "portal_user" not in at.session_state, "the right password must not open a locked account"
    # an unknown username gets exactly the message a known one gets for a wrong password
    unknown = _login(AppTest.from_file(app, default_timeout=60).run(), "no-such-user", "guess")
    known = _login(AppTest.from_file(app, default_timeout=60).run(), portal_users["commissioner"], "guess")
    assert [e.value for e in unknown.error] == [e.value for e in known.error] == messages[0]
    events = [e["event"] for e in ops.audit_events(limit=100)]
    assert events.count("login_failed") >= ops.LOCKOUT_THRESHOLD + 4


# ------------------------------------------------------------------------------------------ uploads
@pytest.mark.parametrize("name", ["../../../etc/cron.d/evil.csv", "..\\..\\windows\\evil.csv", "/etc/passwd.csv",
                                  "feed.csv\x00.sh", "a" * 500 + ".csv", "<script>alert(1)</script>.csv",
                                  "gp_events.csv/../../../x.csv"])
def test_uploads_with_hostile_names_are_stored_under_generated_names_inside_the_folder(tmp_path, monkeypatch, name):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "data"))
    try:
        stored = uploads.store_upload(b"a,b\n1,2\n", name, uploads.FEED_KINDS, "feeds", prefix="gp_events")
    except uploads.UploadError as exc:  # refused outright (a name ending in another type): also safe
        assert "Rename it" in str(exc) and not [p for p in tmp_path.rglob("*") if p.is_file()]
        return
    folder = (config.uploads_dir() / "feeds").resolve()
    assert stored.path.resolve().parent == folder
    assert re.fullmatch(r"gp_events_upload_[0-9T]+_[0-9a-f]+\.csv", stored.path.name) or \
        re.fullmatch(r"gp_events_[\w]+\.csv", stored.path.name), stored.path.name
    assert "/" not in stored.original_name and "\x00" not in stored.original_name and len(stored.original_name) < 200
    assert not (stored.path.stat().st_mode & 0o111), "never executable"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [stored.path.name]


def test_oversized_uploads_are_refused_before_anything_is_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "data"))
    big = b"a,b\n" + b"1,2\n" * (3 * 1024 * 1024 // 4)
    with pytest.raises(uploads.UploadError, match="limit"):
        uploads.store_upload(big, "gp_events.csv", uploads.FEED_KINDS, "feeds", max_bytes=1024 * 1024)
    assert not list(tmp_path.rglob("*.csv"))
    with pytest.raises(uploads.UploadError, match="limit"):  # the real limit, with a file just over it
        uploads.check_upload(b"x" * (uploads.MAX_UPLOAD_BYTES + 1), "gp_events.csv", uploads.FEED_KINDS)


def _excel_bomb(expanded_mb: int) -> bytes:
    """A real .xlsx whose one sheet unpacks to ``expanded_mb`` MB of repeated rows (a few hundred KB packed)."""
    from openpyxl import Workbook

    plain = io.BytesIO()
    wb = Workbook()
    wb.active.append(["small_area_code", "locality_code", "locality_name", "imd_decile"])
    wb.save(plain)
    row = b'<row><c t="inlineStr"><is><t>Z01000001</t></is></c><c t="inlineStr"><is><t>LOC001</t></is></c></row>'
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for item in source.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with bomb.open(item.filename, "w", force_zip64=True) as sheet:
                    sheet.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                                b'spreadsheetml/2006/main"><sheetData>')
                    block = row * 10_000
                    for _ in range(expanded_mb * 1024 * 1024 // len(block) + 1):
                        sheet.write(block)
                    sheet.write(b"</sheetData></worksheet>")
            else:
                bomb.writestr(item, source.read(item.filename))
    return out.getvalue()


def test_archives_that_expand_hugely_are_refused_unopened(tmp_path, monkeypatch):
    from portal.contracts import load_contracts, validate_file

    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "data"))
    bomb = _excel_bomb(300)
    assert len(bomb) < 3 * 1024 * 1024, "packed small"
    with pytest.raises(uploads.UploadError, match="unpack"):
        uploads.check_upload(bomb, "geography_2026.xlsx", uploads.FEED_KINDS)
    path = tmp_path / "geography_bomb.xlsx"  # the command-line route refuses it too, without unpacking
    path.write_bytes(bomb)
    validation = validate_file(path, load_contracts()["geography"])
    assert not validation.ok and "unpack" in validation.faults[0].reason
    # a zip of CSVs is not a type the portal reads at all
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("gp_events.csv", "a,b\n1,2\n")
    with pytest.raises(uploads.UploadError, match="not a file type"):
        uploads.check_upload(packed.getvalue(), "gp_events.zip", uploads.FEED_KINDS)


# ------------------------------------------------------------------------------------------ redaction
CRAFTED_COMMENTS = [
    ("NHS number 943 476 5919", "943"), ("nhs no 943-476-5919", "5919"), ("ref 943.476.5919 thanks", "5919"),
    ("9 4 3 4 7 6 5 9 1 9 is his number", "5 9 1 9"), ("nine four three four seven six five nine one nine", "nine one nine"),
    ("email jane.doe@example.co.uk", "jane.doe"), ("JANE.DOE@EXAMPLE.COM wrote", "JANE.DOE"),
    ("ring +44 7700 900123", "900123"), ("call 07700900123 after 5", "07700900123"),
    ("call oh seven seven oh oh nine oh oh one two three", "nine oh oh"),
    ("born on 3rd March 2015", "March 2015"), ("dob: 3.3.15", "3.3.15"), ("DOB 2015-03-03", "2015-03-03"),
    ("my daughter Amelia Hughes waited", "Hughes"), ("AMELIA HUGHES waited a year", "HUGHES"),
    ("amelia hughes waited a year", "hughes"), ("\u041eliver Clarke was seen", "Clarke"),
    ("Dr Patel was lovely", "Patel"), ("Mrs O'Brien the SENCO", "Brien"), ("we live at 12 Acacia Avenue, KX1 2AB", "Acacia"),
    ("postcode kx12ab", "kx12ab"), ("Amelia's plan was late", "Amelia"),
]


@pytest.mark.parametrize("comment, secret", CRAFTED_COMMENTS, ids=[c for c, _ in CRAFTED_COMMENTS])
def test_comments_crafted_to_slip_past_redaction_are_caught(comment, secret):
    redacted = redact(comment)
    assert secret.lower() not in redacted.lower(), redacted
    assert "[" in redacted


# ------------------------------------------------------------------------------------------ logs
@pytest.fixture
def demo_copy(small_demo, tmp_path, monkeypatch):
    """A private copy of the small demo's data directory (users and uploads may be added to it)."""
    import shutil

    shutil.copytree(small_demo, tmp_path / "data", ignore=shutil.ignore_patterns("feeds", "ops"))
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "data"))
    queries.clear_cache()
    yield tmp_path / "data"
    queries.clear_cache()


def test_no_personal_data_or_secret_reaches_the_log(demo_copy, portal_users, caplog, capsys):
    """Sign-ins (wrong and right), a GP's identifiable list, a failed and a forbidden query and a rejected
    upload with identifiers in it, all with logging at DEBUG: the log holds no NHS number, name,
    password or cookie key."""
    from streamlit.testing.v1 import AppTest

    caplog.set_level(logging.DEBUG)
    app = str(config.REPO_ROOT / "portal" / "app.py")
    _login(AppTest.from_file(app, default_timeout=60).run(), portal_users["gp"], "Wrong-Password-123")
    _login(AppTest.from_file(app, default_timeout=60).run(), portal_users["gp"], portal_users.password)
    persons = pd.read_parquet(config.identifiable_dir() / "persons.parquet")
    ops.set_role(portal_users["gp"], "gp", practice_code=persons.practice_code.iloc[0])
    gp = ops.get_user(portal_users["gp"]).to_user()
    listed = queries.run("gp_cohort", gp, None)
    assert len(listed.df) > 0, "the GP's list holds identifiers to look for in the log"
    for name in ("feed_status", "gp_cohort"):
        try:
            queries.run(name, _users()["commissioner"])
        except queries.QueryError:
            pass
    analyst = ops.get_user(portal_users["analyst"]).to_user()
    upload = ("nhs_number,given_name,family_name,date_of_birth,sex,ethnic_category,postcode,small_area_code,"
              "practice_code,practice_name,registration_date,deregistration_date,extract_date\n"
              "9434765918,Zebedee,Quartermaine,2012-01-01,Q,A,KX1 1AA,Z01,Z80001,Practice,2012-01-01,,2026-09-30\n")
    uploads.upload_feed_file(analyst, upload.encode(), "gp_registrations_2026.csv", None)
    text = caplog.text + capsys.readouterr().err
    secrets = {"password": portal_users.password, "wrong password": "Wrong-Password-123",
               "cookie key": config.get_secret("COOKIE_KEY"), "linkage key": config.get_secret("LINKAGE_KEY"),
               "uploaded NHS number": "9434765918", "uploaded name": "Quartermaine"}
    secrets.update({f"listed NHS number {n}": n for n in listed.df.nhs_number})
    secrets.update({f"NHS number {n}": n for n in persons.nhs_number.head(200)})
    secrets.update({f"name {g} {f}": f"{g} {f}" for g, f in zip(persons.given_name.head(200),
                                                                persons.family_name.head(200))})
    leaked = [label for label, value in secrets.items() if value and str(value) in text]
    assert not leaked, leaked
