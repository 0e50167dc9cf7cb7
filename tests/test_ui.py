"""The page scaffold: heading, help, friendly errors, and the indicator block's chart, table, downloads
and definitions."""
from __future__ import annotations

import io
import json
import textwrap

import pandas as pd
import pytest

from portal import queries, suppression, ui
from portal.roles import User

COMMISSIONER = User("comm", "Commissioner", "commissioner")

PAGE = """
import altair as alt
import streamlit as st
from portal import ui
from portal.roles import User
if {signed_in}:
    st.session_state.setdefault("portal_user", User("comm", "Commissioner", "commissioner"))
user, filters = ui.page_setup("Test page", {page_file!r})
result = ui.run("people_by_locality", filters)
if result is not None:
    chart = alt.Chart(result.df).mark_bar().encode(x="n_people:Q", y="locality:N")
    ui.indicator_block("People by locality", result, chart, summary="Most people live in Northfield.",
                       columns={{"locality": "Locality", "n_people": "People"}})
ui.run({second_query!r}, filters, **{second_params!r})
"""


def _page(tmp_path, signed_in=True, second_query="people_by_locality", second_params=None, help_text=True):
    from streamlit.testing.v1 import AppTest

    pages = tmp_path / "pages"
    pages.mkdir(exist_ok=True)
    if help_text:
        (pages / "test_page.md").write_text("# About\nWhat this page is for.")
        (pages / "test_page.walkthrough.md").write_text("1. Pick a locality.\n2. Read the chart.")
    script = tmp_path / "page.py"
    script.write_text(textwrap.dedent(PAGE.format(
        signed_in=signed_in, page_file=str(pages / "test_page.py"), second_query=second_query,
        second_params=second_params or {})))
    return AppTest.from_file(str(script), default_timeout=30)


@pytest.fixture
def help_dir(tmp_path, monkeypatch):
    from portal import config

    monkeypatch.setattr(config, "PAGES_DIR", tmp_path / "pages")
    return tmp_path / "pages"


def test_indicator_block_draws_every_part(tiny_marts, tmp_path, help_dir):
    at = _page(tmp_path).run()
    assert not at.exception and not at.error and not at.warning
    assert at.title[0].value == "Test page"
    assert [h.value for h in at.header] == ["People by locality", "Filters"]
    assert "Most people live in Northfield." in [m.value for m in at.markdown]
    assert len(at.get("arrow_vega_lite_chart")) == 1
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Chart: People by locality") for c in captions)
    assert any("Fewer than 8 people" in c for c in captions)
    assert any(m.value.startswith("**Table: People by locality**") for m in at.markdown)
    table = at.table[0].value
    assert list(table.index) == ["Eastbrook", "Northfield", "Southmoor", "Westdale"]
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download CSV: People by locality", "Download Excel: People by locality"]
    expanders = [e.label for e in at.expander]
    assert "How to use this page (short walkthrough)" in expanders and "About this page" in expanders
    panel = next(e for e in at.expander if e.label.startswith("What does this mean?"))
    text = " ".join(m.value for m in panel.markdown)
    assert "people_by_locality" in text
    assert "GP registrations (the linkage spine) (gp_registrations), last received 1 November 2026" in text
    assert "v20261101T000000" in text and "31 October 2026" in text
    assert "**N people**: Number of children and young people aged 0 to 25" in text


def test_help_headings_sit_below_the_page_heading(tiny_marts, tmp_path, help_dir):
    at = _page(tmp_path).run()
    about = next(e for e in at.expander if e.label == "About this page")
    assert about.markdown[0].value.startswith("### About")


def test_query_problems_show_a_friendly_message_not_a_trace(tiny_marts, tmp_path, help_dir):
    at = _page(tmp_path, second_query="service_waiting_list").run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["Your role (commissioner) cannot see 'Your service's waiting list'."]
    at = _page(tmp_path, second_params={"min_weeks": "x'; DROP TABLE dim_person"}).run()
    assert not at.exception and "no setting called" in at.warning[0].value


def test_missing_data_says_so_plainly(tmp_path, monkeypatch, help_dir):
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "nothing"))
    at = _page(tmp_path).run()
    assert not at.exception and "not been built yet" in at.warning[0].value


def test_nobody_signed_in_sees_nothing_but_a_prompt(tiny_marts, tmp_path, help_dir):
    at = _page(tmp_path, signed_in=False).run()
    assert not at.exception and [w.value for w in at.warning] == ["Please sign in to see this page."]
    assert not at.table and not at.get("arrow_vega_lite_chart")


def test_downloads_hold_exactly_the_table_shown(tiny_marts):
    result = queries.run("people_by_locality", COMMISSIONER)
    table = ui.table_for(result, {"locality": "Locality", "n_people": "People"})
    assert table.to_dict("list") == {"Locality": ["Eastbrook", "Northfield", "Southmoor", "Westdale"],
                                     "People": [25, 100, "*", "*"]}
    from_csv = pd.read_csv(io.BytesIO(ui.csv_bytes(table)), encoding="utf-8-sig", dtype=str)
    assert from_csv.to_dict("list") == {"Locality": ["Eastbrook", "Northfield", "Southmoor", "Westdale"],
                                        "People": ["25", "100", "*", "*"]}
    about = ui.provenance(result)
    workbook = pd.read_excel(io.BytesIO(ui.excel_bytes(table, about)), sheet_name=None)
    assert workbook["Data"].astype(str).to_dict("list") == from_csv.to_dict("list")
    assert dict(zip(workbook["About"]["Item"], workbook["About"]["Value"]))["Named query"] == "people_by_locality"
    assert about["Privacy"] == suppression.SUPPRESSED_NOTE


def test_download_files_are_made_only_when_a_button_is_clicked(tiny_marts, tmp_path, help_dir, monkeypatch):
    made = []
    monkeypatch.setattr(ui, "csv_bytes", lambda table: made.append("csv") or b"")
    monkeypatch.setattr(ui, "excel_bytes", lambda table, about: made.append("xlsx") or b"")
    at = _page(tmp_path).run()
    assert not at.exception and len(at.get("download_button")) == 2
    assert made == [], "a rerun made no file"


def test_a_download_that_fails_tells_the_person_plainly_and_logs_why(caplog):
    def broken() -> bytes:
        raise ValueError("column 'n_people' has an unsupported dtype at /srv/portal/ui.py")

    audited = []
    with pytest.raises(RuntimeError) as raised:
        ui.made_on_click(broken, lambda: audited.append("broken"))()
    assert str(raised.value) == "The file could not be made. Please try again or tell your administrator."
    assert "unsupported dtype" in caplog.text
    assert audited == [], "a file that was not made is not audited as exported"
    assert ui.made_on_click(lambda: b"a,b", lambda: audited.append("made"))() == b"a,b"
    assert audited == ["made"]


def test_exports_are_audited(tiny_marts):
    from portal import ops
    from portal.filters import default_filters

    ui.audit_export(User("comm.a", "Commissioner A", "commissioner"), "csv", 4, query="people_by_locality",
                    filters=default_filters(as_of=pd.Timestamp("2026-10-31").date()))
    event = ops.audit_events(event="export")[0]
    assert event["detail"]["query"] == "people_by_locality" and event["detail"]["format"] == "csv"
    assert event["username"] == "comm.a"

    ui.audit_export(User("analyst.a", "Analyst A", "analyst"), "xlsx", 3, table="feed_status")
    event = ops.audit_events(event="export")[0]
    assert (event["username"], event["detail"]) == ("analyst.a", {"table": "feed_status", "format": "xlsx", "rows": 3})


def test_table_text_is_shown_literally():
    table = pd.DataFrame({"theme": ["Waiting", "Access"], "comment": ["see [link](http://x) *now*", "<b>hi</b>"]})
    shown = ui._for_html_table(table)
    assert shown.loc["Waiting", "comment"] == r"see \[link\]\(http://x\) \*now\*"
    assert shown.loc["Access", "comment"] == r"\<b\>hi\</b\>"


def test_a_long_table_is_a_grid_with_whole_numbers_thousands_separated(tmp_path):
    script = tmp_path / "long_table.py"
    script.write_text(
        "import pandas as pd\nfrom portal import ui\n"
        "ui.show_table(pd.DataFrame({'Locality': [f'L{i}' for i in range(100)], 'Children': range(1000, 1100),"
        " 'Hidden or not': pd.array([None, *range(99)], dtype='Int64'), 'Per 1,000': [27.8] * 100}))\n")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert not at.exception and not at.table  # more rows than an HTML table takes
    columns = json.loads(at.dataframe[0].proto.columns)
    formats = {name: config.get("type_config", {}).get("format") for name, config in columns.items()}
    assert {name for name, format in formats.items() if format} == {"Children", "Hidden or not"}
    assert set(formats.values()) == {"localized", None}  # the rate and the text as the grid shows them


CHARTS = """
import altair as alt
import pandas as pd
import streamlit as st
from portal import theme, ui

def charts():
    frame = pd.DataFrame({"locality": ["North", "South", "East"], "n": [120, 45.5, None]})
    bars = alt.Chart(frame).mark_bar().encode(x="n:Q", y=alt.Y("locality:N", sort="-x"), tooltip=["locality", "n"])
    labels = bars.mark_text(align="left", dx=3).encode(text=alt.Text("n:Q", format=".1f"))
    return [bars.properties(title="Children"), alt.layer(bars, labels)]

for chart in charts():  # Streamlit's own drawing, as ui.draw_chart would set it up
    chart.description, chart.usermeta = "Alt text", {"embedOptions": {"actions": False}}
    st.altair_chart(theme.unvalidated(chart), theme=None, width="stretch")
for _ in range(2):  # the portal's: converted the first time, from the kept spec the second
    for chart in charts():
        ui.draw_chart(chart, "Alt text", keep=True)
"""


def test_charts_are_sent_as_streamlit_sends_them_whether_kept_or_not(tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "charts.py"
    script.write_text(CHARTS)
    ui._kept_vega_lite_spec.cache.clear()
    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert not at.exception, at.exception
    drawn = [chart.proto for chart in at.get("arrow_vega_lite_chart")]
    assert len(drawn) == 6 and len(ui._kept_vega_lite_spec.cache) == 2
    streamlits, first, kept = drawn[:2], drawn[2:4], drawn[4:]
    for theirs, ours_first, ours_kept in zip(streamlits, first, kept):
        for ours in (ours_first, ours_kept):
            assert ours.spec == theirs.spec
            assert [(d.name, d.data.data) for d in ours.datasets] == [(d.name, d.data.data) for d in theirs.datasets]
            assert (ours.use_container_width, ours.theme, ours.selection_mode) == (
                theirs.use_container_width, theirs.theme, theirs.selection_mode)
    assert '"description": "Alt text"' in streamlits[0].spec


def test_a_different_chart_is_never_served_from_another_charts_spec():
    import altair as alt

    def chart(values, description):
        drawn = alt.Chart(pd.DataFrame({"a": ["x", "y"], "n": values})).mark_bar().encode(x="a:N", y="n:Q")
        drawn.description = description
        return drawn

    first = ui.vega_lite_spec(chart([1, 2], "One"), keep=True)
    assert ui.vega_lite_spec(chart([1, 2], "One"), keep=True) == first
    assert ui.vega_lite_spec(chart([1, 3], "One"), keep=True)["datasets"] != first["datasets"]
    assert ui.vega_lite_spec(chart([1, 2], "Two"), keep=True)["description"] == "Two"
    del first["datasets"], first["description"]  # Streamlit takes the data out of the spec it is given
    assert ui.vega_lite_spec(chart([1, 2], "One"), keep=True)["datasets"], "the kept spec must not be changed by its users"


RUN_TOGETHER_PAGE = """
import streamlit as st
from portal import ui
from portal.roles import User
st.session_state.setdefault("portal_user", User("comm", "Commissioner", "commissioner"))
results = ui.run_together(None, ("people_by_locality", {}), ("service_waiting_list", {}),
                          ("people_by_locality", {"min_weeks": 3}), ("people_by_locality", {}))
st.write(repr([None if r is None else r.name for r in results]))
"""


def test_queries_run_together_keep_their_order_and_each_failure_shows_its_message(tiny_marts, tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "together.py"
    script.write_text(RUN_TOGETHER_PAGE)
    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert not at.exception
    assert at.markdown[-1].value == "['people_by_locality', None, None, 'people_by_locality']"
    assert [w.value for w in at.warning] == [
        "Your role (commissioner) cannot see 'Your service's waiting list'.",
        "'Children and young people by locality' has no setting called 'min_weeks'."]


def test_queries_run_together_run_at_the_same_time(tiny_marts, tmp_path, monkeypatch):
    """Each of three queries waits for the other two: run one after another, they would never meet."""
    import threading

    from streamlit.testing.v1 import AppTest

    meeting = threading.Barrier(3, timeout=10)
    run = queries.run

    def run_after_meeting(*args, **kwargs):
        meeting.wait()
        return run(*args, **kwargs)

    monkeypatch.setattr(queries, "run", run_after_meeting)
    script = tmp_path / "together.py"
    script.write_text(RUN_TOGETHER_PAGE.replace('("people_by_locality", {"min_weeks": 3}), ', ""))
    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert not at.exception and not meeting.broken
    assert at.markdown[-1].value == "['people_by_locality', None, 'people_by_locality']"
