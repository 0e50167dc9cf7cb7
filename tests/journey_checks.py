"""Checks every journey page must pass (SPEC §3 'every page'), shared by the page test files."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from portal import store
from portal.roles import ADMIN, ANALYST, CLINICIAN, COMMISSIONER, GP, User


# Pages (by file name) that draw charts as soon as they open, with no choices made; the others draw them
# after a choice or once published figures are loaded.
CHARTED_ON_OPENING = {"waiting_lists", "ehcp_journey", "sleep_services", "education", "health_services",
                      "survey_feedback", "inequalities", "transitions", "data_status"}


def users() -> dict[str, User]:
    """One signed-in user per role, scoped to a real locality and practice of the current marts."""
    cur, _ = store.reader().cursor()
    locality = cur.execute("SELECT min(locality) FROM dim_locality").fetchone()[0]
    practice = cur.execute("SELECT min(practice_code) FROM dim_practice").fetchone()[0]
    return {
        COMMISSIONER: User("c", "Commissioner", COMMISSIONER),
        CLINICIAN: User("n", "Clinician", CLINICIAN, service="ASD", locality=locality),
        GP: User("g", "GP", GP, practice_code=practice),
        ANALYST: User("a", "Analyst", ANALYST),
        ADMIN: User("x", "Admin", ADMIN),
    }


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def assert_complete_page(at: AppTest, title: str, blocks: int, charts: int) -> None:
    """No error; the title; per block a heading, table, CSV and Excel download and definitions panel;
    charts; the walkthrough and help."""
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.title][0] == title
    assert len(at.get("arrow_vega_lite_chart")) >= charts
    text = markdown_text(at)
    assert text.count("**Traceability.** Named query") >= blocks
    labels = [b.proto.label for b in at.get("download_button")]
    assert sum(label.startswith("Download CSV") for label in labels) >= blocks
    assert sum(label.startswith("Download Excel") for label in labels) >= blocks
    expanders = [e.proto.label for e in at.expander]
    assert any("walkthrough" in label for label in expanders)
    assert any(label == "About this page" for label in expanders)


def summary_starting(at: AppTest, start: str) -> str:
    found = [m.value for m in at.markdown if m.value.startswith(start)]
    assert found, f"no summary starting {start!r}"
    return found[0]
