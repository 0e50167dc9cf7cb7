"""Data requests: the form's rules, the status life-cycle, who may do what, history and audit."""
from __future__ import annotations

import io
import sqlite3
from datetime import date, timedelta

import pandas as pd
import pytest

from portal import config, data_requests, ops
from portal.data_requests import RequestError
from portal.roles import ANALYST, COMMISSIONER, GP, User
from tests.apptest_helpers import shown_tables

TODAY = date(2026, 11, 22)


@pytest.fixture
def ops_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path))
    return tmp_path


def _make_people(monkeypatch) -> dict:
    monkeypatch.setattr(ops, "BCRYPT_ROUNDS", 4)  # real bcrypt, fewer rounds: these tests are not about it
    ops.add_user("ana", "analyst-password", ANALYST, "Ana Lyst")
    ops.add_user("bob", "analyst-password", ANALYST, "Bob Analyst")
    return {
        "requester": User("cara", "Cara Commissioner", COMMISSIONER),
        "other": User("gina", "Gina GP", GP, practice_code="P001"),
        "analyst": User("ana", "Ana Lyst", ANALYST),
        "analyst2": User("bob", "Bob Analyst", ANALYST),
    }


@pytest.fixture
def people(ops_dir, monkeypatch):
    return _make_people(monkeypatch)


@pytest.fixture
def page_people(tiny_marts, monkeypatch):
    """People in the data directory of the tiny published marts (the page's filters need marts)."""
    return _make_people(monkeypatch)


def _submit(user, **overrides):
    fields = dict(what="Melatonin patients by school year", why="Planning the sleep service",
                  needed_by=TODAY + timedelta(days=14), area="Eastfield", group="Children with an EHCP",
                  today=TODAY)
    fields.update(overrides)
    return data_requests.submit(user, **fields)


def _audit_events(event_prefix="data_request_"):
    return [e for e in reversed(ops.audit_events(limit=1000)) if e["event"].startswith(event_prefix)]


def test_submission_to_completion_with_a_link_is_tracked_and_audited(people):
    requester, analyst = people["requester"], people["analyst"]
    req = _submit(requester)
    assert req.status == data_requests.SUBMITTED and req.requester == "cara"
    assert [r.id for r in data_requests.my_requests(requester)] == [req.id]
    assert [r.id for r in data_requests.inbox(analyst)] == [req.id]

    req = data_requests.assign(analyst, req.id)
    assert (req.status, req.assigned_to) == (data_requests.ASSIGNED, "ana")
    req = data_requests.ask_question(analyst, req.id, "Which school years?")
    assert req.status == data_requests.QUESTION
    assert data_requests.get(requester, req.id).open_question == "Which school years?"
    req = data_requests.answer_question(requester, req.id, "Years 1 to 6")
    assert req.status == data_requests.ASSIGNED
    req = data_requests.complete(analyst, req.id, link="https://example.org/reports/42", note="Here it is")
    assert req.status == data_requests.COMPLETED and req.result_link == "https://example.org/reports/42"
    assert not req.is_open
    assert data_requests.inbox(analyst) == []

    seen_by_requester = data_requests.get(requester, req.id)
    assert [e.action for e in seen_by_requester.events] == ["submit", "assign", "ask", "answer", "complete"]
    assert [(e.from_status, e.to_status) for e in seen_by_requester.events][1:] == [
        ("submitted", "assigned"), ("assigned", "question asked"), ("question asked", "assigned"),
        ("assigned", "completed")]
    events = _audit_events()
    assert [(e["event"], e["username"]) for e in events] == [
        ("data_request_submitted", "cara"), ("data_request_assigned", "ana"),
        ("data_request_question_asked", "ana"), ("data_request_question_answered", "cara"),
        ("data_request_completed", "ana")]
    assert all(e["detail"]["request_id"] == req.id for e in events)


def test_completion_with_a_file_stores_it_under_a_generated_name(people):
    requester, analyst = people["requester"], people["analyst"]
    req = data_requests.assign(analyst, _submit(requester).id)
    buffer = io.BytesIO()
    pd.DataFrame({"locality": ["Eastfield"], "patients": [120]}).to_excel(buffer, index=False)
    req = data_requests.complete(analyst, req.id, file_bytes=buffer.getvalue(), file_name="../../answer.xlsx")
    assert req.result_file_name == "answer.xlsx"
    stored = list((config.uploads_dir() / "requests").iterdir())
    assert len(stored) == 1 and stored[0].name != "answer.xlsx" and stored[0].suffix == ".xlsx"
    data, name = data_requests.result_file(requester, req.id)
    assert data == buffer.getvalue() and name == "answer.xlsx"
    data_requests.record_file_download(requester, req.id)
    assert _audit_events("data_request_file_downloaded")[-1]["username"] == "cara"
    with pytest.raises(RequestError):
        data_requests.result_file(people["other"], req.id)


def test_decline_needs_a_reason_and_is_final(people):
    requester, analyst = people["requester"], people["analyst"]
    req = _submit(requester)
    with pytest.raises(RequestError, match="Reason"):
        data_requests.decline(analyst, req.id, "   ")
    req = data_requests.decline(analyst, req.id, "Already on the Sleep services page")
    assert (req.status, req.decline_reason) == ("declined", "Already on the Sleep services page")
    for action in (lambda: data_requests.assign(analyst, req.id),
                   lambda: data_requests.complete(analyst, req.id, link="https://example.org/x"),
                   lambda: data_requests.decline(analyst, req.id, "again")):
        with pytest.raises(RequestError, match="declined"):
            action()
    assert data_requests.get(requester, req.id).status == "declined"


@pytest.mark.parametrize("overrides, message", [
    ({"what": " "}, "What do you need"),
    ({"why": ""}, "Why do you need"),
    ({"area": ""}, "Which area"),
    ({"group": ""}, "Which group"),
    ({"needed_by": TODAY - timedelta(days=1)}, "today or later"),
    ({"needed_by": "next week"}, "as a date"),
    ({"identifiable": True, "legal_basis": None}, "legal basis"),
    ({"identifiable": True, "legal_basis": "Because I want it"}, "legal basis"),
])
def test_the_form_refuses_incomplete_requests_and_stores_nothing(people, overrides, message):
    with pytest.raises(RequestError, match=message):
        _submit(people["requester"], **overrides)
    assert data_requests.my_requests(people["requester"]) == []


def test_identifiable_request_keeps_its_legal_basis(people):
    basis = data_requests.LEGAL_BASES[1]
    req = _submit(people["requester"], identifiable=True, legal_basis=basis)
    assert req.identifiable and req.legal_basis == basis
    assert _audit_events()[-1]["detail"]["legal_basis"] == basis
    assert _submit(people["requester"], identifiable=False, legal_basis=basis).legal_basis is None


def test_only_analysts_work_the_inbox_and_people_see_only_their_own(people):
    requester, other, analyst = people["requester"], people["other"], people["analyst"]
    req = _submit(requester)
    for action in (lambda: data_requests.inbox(requester), lambda: data_requests.assign(requester, req.id),
                   lambda: data_requests.decline(other, req.id, "no"),
                   lambda: data_requests.complete(requester, req.id, link="https://example.org/x")):
        with pytest.raises(PermissionError):
            action()
    with pytest.raises(RequestError, match="no request number"):
        data_requests.get(other, req.id)
    assert data_requests.my_requests(other) == []
    data_requests.assign(analyst, req.id)
    data_requests.ask_question(analyst, req.id, "Which years?")
    with pytest.raises(PermissionError):
        data_requests.answer_question(other, req.id, "All of them")
    assert data_requests.get(requester, req.id).status == "question asked"


def test_assign_to_another_analyst_only(people):
    req = _submit(people["requester"])
    assert data_requests.assign(people["analyst"], req.id, "bob").assigned_to == "bob"
    with pytest.raises(RequestError, match="not an active analyst"):
        data_requests.assign(people["analyst"], req.id, "cara")


def test_completion_needs_a_safe_link_or_a_readable_file(people):
    analyst = people["analyst"]
    req = data_requests.assign(analyst, _submit(people["requester"]).id)
    with pytest.raises(RequestError, match="attach a file or give a link"):
        data_requests.complete(analyst, req.id)
    with pytest.raises(RequestError, match="https://"):
        data_requests.complete(analyst, req.id, link="javascript:alert(1)")
    with pytest.raises(RequestError, match="Upload one of"):
        data_requests.complete(analyst, req.id, file_bytes=b"MZ\x90\x00\x03binary", file_name="answer.exe")
    assert data_requests.get(analyst, req.id).status == "assigned"
    assert not (config.uploads_dir() / "requests").exists() or not any((config.uploads_dir() / "requests").iterdir())


def test_requests_survive_a_new_connection_and_history_is_kept(people):
    req = _submit(people["requester"])
    conn = sqlite3.connect(config.ops_db_path())
    try:
        assert conn.execute("SELECT status FROM data_requests WHERE id = ?", (req.id,)).fetchone() == ("submitted",)
        assert conn.execute("SELECT count(*) FROM data_request_events WHERE request_id = ?",
                            (req.id,)).fetchone() == (1,)
    finally:
        conn.close()


# --- the page (AppTest) -------------------------------------------------------------------------------------

PAGE = str(config.PAGES_DIR / "ask_for_data.py")


def _page(user):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["portal_user"] = user
    return at.run()


def _button(at, label):
    return next(b for b in at.button if b.proto.label == label)


def test_page_walks_a_request_from_form_to_completion(page_people):
    requester, analyst = page_people["requester"], page_people["analyst"]
    asker = _page(requester)
    assert [t.label for t in asker.tabs] == ["Ask for data", "My requests"]
    asker.text_area(key="request_what").input("Melatonin patients by school year")
    asker.text_area(key="request_why").input("Planning the sleep service")
    asker.selectbox(key="request_area").select("Northfield")
    asker.text_input(key="request_group").input("EHCP, aged 5-10")
    _button(asker, "Send request").click()
    asker.run()
    assert any("Request 1 sent" in s.value for s in asker.info)
    assert asker.text_area(key="request_what").value == ""  # cleared after a successful send
    mine = shown_tables(asker)[0]
    assert list(mine["Number"]) == [1] and list(mine["Status"]) == ["submitted"] and list(mine["Area"]) == ["Northfield"]
    assert any("You have made 1 request: 1 submitted." in m.value for m in asker.markdown)

    worker = _page(analyst)
    assert [t.label for t in worker.tabs] == ["Ask for data", "My requests", "Inbox (analysts)"]
    inbox = shown_tables(worker)[0]  # the analyst has no requests of their own: the first table is the inbox
    assert list(inbox["Number"]) == [1]
    _button(worker, "Assign").click()
    worker.run()
    assert data_requests.get(analyst, 1).status == "assigned"
    next(t for t in worker.text_area if t.label == "Ask the requester a question").input("Which school years?")
    _button(worker, "Send question").click()
    worker.run()
    assert data_requests.get(analyst, 1).status == "question asked"

    asker = _page(requester)
    assert any("The analyst asks: Which school years?" in i.value for i in asker.info)
    asker.text_area(key="answer_text_1").input("Years 1 to 6")
    _button(asker, "Send answer").click()
    asker.run()
    assert data_requests.get(requester, 1).status == "assigned"

    worker = _page(analyst)
    next(t for t in worker.text_input if t.label == "Or give a link (https://...)").input("https://example.org/r/1")
    _button(worker, "Complete request").click()
    worker.run()
    done = data_requests.get(analyst, 1)
    assert (done.status, done.result_link) == ("completed", "https://example.org/r/1")

    asker = _page(requester)
    assert any("https://example.org/r/1" in m.value for m in asker.markdown)
    assert [e["event"] for e in _audit_events()] == [
        "data_request_submitted", "data_request_assigned", "data_request_question_asked",
        "data_request_question_answered", "data_request_completed"]


def test_page_keeps_the_form_and_explains_a_refused_request(page_people):
    asker = _page(page_people["requester"])
    asker.text_area(key="request_what").input("Names of children with autism")
    asker.text_area(key="request_why").input("Invite them to a group")
    asker.text_input(key="request_group").input("Autism")
    asker.checkbox(key="request_identifiable").check()
    _button(asker, "Send request").click()
    asker.run()
    assert any("legal basis" in e.value for e in asker.error)
    assert asker.text_area(key="request_what").value == "Names of children with autism"
    assert data_requests.my_requests(page_people["requester"]) == []


def test_page_inbox_is_for_analysts_only(page_people):
    _submit(page_people["requester"])
    for role in ("requester", "other"):
        at = _page(page_people[role])
        assert "Inbox (analysts)" not in [t.label for t in at.tabs]
        assert not any(b.proto.label == "Assign" for b in at.button)
