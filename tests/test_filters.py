"""Global filters: period windows, URL round trip, bad or stale URL values, and the sidebar across pages."""
from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import TINY_AS_OF, TINY_LOCALITY_COUNTS
from portal import filters
from portal.filters import Filters, from_values, period_options, resolve_period

AS_OF = dt.date(2026, 10, 31)
LOCALITIES = sorted(TINY_LOCALITY_COUNTS)


def _allowed(as_of=AS_OF):
    return {
        "period": period_options(as_of), "locality": LOCALITIES, "age_band": list(filters.AGE_BANDS),
        "sex": list(filters.SEXES), "ethnicity": list(filters.ETHNICITIES),
        "imd_quintile": list(filters.IMD_QUINTILES), "send_status": list(filters.SEND_STATUSES),
        "primary_need": list(filters.PRIMARY_NEEDS),
    }


# -------------------------------------------------------------------------------------------- periods
@pytest.mark.parametrize("period, start, end", [
    ("Last 12 months", dt.date(2025, 11, 1), AS_OF),
    ("Last 3 years", dt.date(2023, 11, 1), AS_OF),
    ("All years", filters.ALL_YEARS_START, AS_OF),
    ("2026/27", dt.date(2026, 4, 1), AS_OF),          # the current year ends at the snapshot date
    ("2025/26", dt.date(2025, 4, 1), dt.date(2026, 3, 31)),
    ("2021/22", dt.date(2021, 4, 1), dt.date(2022, 3, 31)),
])
def test_named_periods_resolve_against_the_snapshot_date(period, start, end):
    assert resolve_period(period, AS_OF) == (start, end)


def test_period_menu_offers_rolling_windows_then_recent_financial_years():
    assert period_options(AS_OF) == ["Last 12 months", "Last 3 years", "All years", "2026/27", "2025/26",
                                     "2024/25", "2023/24", "2022/23", "2021/22"]
    assert period_options(dt.date(2026, 3, 31))[3] == "2025/26"  # 31 March is still the old year
    assert resolve_period("Last 12 months", dt.date(2026, 1, 15)) == (dt.date(2025, 2, 1), dt.date(2026, 1, 15))


@pytest.mark.parametrize("period", ["2020/21", "2030/31", "Last week", "2024-25", ""])
def test_periods_not_offered_are_refused(period):
    with pytest.raises(ValueError):
        resolve_period(period, AS_OF)


# -------------------------------------------------------------------------------------------- the URL
filter_values = st.fixed_dictionaries({}, optional={
    "period": st.sampled_from(period_options(AS_OF)),
    "locality": st.sampled_from(LOCALITIES),
    "age_band": st.sampled_from(filters.AGE_BANDS),
    "sex": st.sampled_from(filters.SEXES),
    "ethnicity": st.sampled_from(filters.ETHNICITIES),
    "imd_quintile": st.sampled_from(filters.IMD_QUINTILES),
    "send_status": st.sampled_from(filters.SEND_STATUSES),
    "primary_need": st.sampled_from(list(filters.PRIMARY_NEEDS)),
})


@settings(max_examples=200, deadline=None)
@given(filter_values)
def test_property_filters_survive_a_round_trip_through_the_url(values):
    chosen, notices = from_values(values, _allowed(), AS_OF)
    assert not notices
    url = chosen.as_query_params()
    assert all(isinstance(v, str) for v in url.values())  # what a URL can carry
    again, notices = from_values(url, _allowed(), AS_OF)
    assert again == chosen and not notices
    assert (chosen.period_start, chosen.period_end) == resolve_period(values.get("period", "Last 12 months"), AS_OF)


def test_defaults_are_left_out_of_the_url():
    assert Filters(period="Last 12 months").as_query_params() == {}
    assert Filters(period="2024/25", imd_quintile=1).as_query_params() == {"period": "2024/25", "imd_quintile": "1"}


@pytest.mark.parametrize("name, bad", [
    ("locality", "Atlantis"),           # not (or no longer) in the data: a stale shared link
    ("locality", "northfield"),         # values are exact
    ("period", "2015/16"),              # a financial year that has dropped out of the menu
    ("period", "Last week"),
    ("imd_quintile", "6"),
    ("imd_quintile", "1.0"),
    ("send_status", "ehcp"),
    ("primary_need", "None"),
    ("age_band", "0-5"),
    ("sex", "x' OR '1'='1"),
    ("ethnicity", "'; DROP TABLE dim_person; --"),
    ("locality", "A" * 500),
])
def test_bad_or_stale_values_fall_back_to_the_default_with_a_notice(name, bad):
    chosen, notices = from_values({name: bad, "send_status": "EHCP"} if name != "send_status" else {name: bad},
                                  _allowed(), AS_OF)
    default = Filters(period="Last 12 months")
    assert getattr(chosen, name) == getattr(default, name)
    assert len(notices) == 1 and filters.FILTER_LABELS[name] in notices[0] and len(notices[0]) < 200
    if name != "send_status":
        assert chosen.send_status == "EHCP"  # good values in the same link still apply


def test_repeated_url_keys_take_the_last_and_unknown_keys_are_ignored():
    chosen, notices = from_values({"locality": ["Eastbrook", "Westdale"], "service": "ASD", "": "x"},
                                  _allowed(), AS_OF)
    assert chosen.locality == "Westdale" and not notices


def test_describe_names_the_filters_in_plain_words():
    f = Filters(period="2024/25", locality="Eastbrook", send_status="EHCP", imd_quintile=1, primary_need="ASD")
    assert f.describe() == ("Eastbrook · IMD quintile 1 (most deprived) · EHCP · "
                            "primary need Autistic spectrum disorder · financial year 2024/25")
    assert Filters().describe() == "last 12 months"


def test_allowed_localities_come_from_the_live_data(tiny_marts):
    from portal import store

    version = store.reader().version()
    assert filters.localities(version) == LOCALITIES
    assert filters.as_of_date(version) == TINY_AS_OF
    assert filters.allowed_values(None)["locality"] == []


# ------------------------------------------------------------------------------------ sidebar (AppTest)
PAGE = """
from portal import queries, ui
user, filters = ui.page_setup({title!r}, __file__)
result = ui.run("people_by_locality", filters)
if result is not None:
    ui.indicator_block("People by locality", result, None, summary="People by locality.")
"""


@pytest.fixture
def nav_app(tmp_path, tiny_marts):
    """A two-page app like portal/app.py: pages registered with st.navigation, a signed-in commissioner."""
    (tmp_path / "first.py").write_text(PAGE.format(title="First page"))
    (tmp_path / "second.py").write_text(PAGE.format(title="Second page"))
    app = tmp_path / "app" / "entry.py"
    app.parent.mkdir()
    app.write_text(textwrap.dedent(f"""
        import streamlit as st
        from portal.roles import User
        st.session_state.setdefault("portal_user", User("comm", "Commissioner", "commissioner"))
        page = st.navigation([st.Page({str(tmp_path / 'first.py')!r}, url_path="first"),
                              st.Page({str(tmp_path / 'second.py')!r}, url_path="second")])
        page.run()
    """))
    return app


def _app(path, **query_params):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(path), default_timeout=30)
    for key, value in query_params.items():
        at.query_params[key] = value
    return at.run()


def _table(at):
    """The table shown, as {locality: count}, hidden cells as the marker."""
    shown = at.table[0].value
    return {locality: str(count).replace("\\", "") for locality, count in shown["n_people"].items()}


def test_url_values_set_the_filters_and_the_table(nav_app):
    at = _app(nav_app, locality="Northfield", send_status="EHCP")
    assert not at.exception
    assert at.selectbox(key="filter_locality").value == "Northfield"
    assert at.selectbox(key="filter_send_status").value == "EHCP"
    assert _table(at) == {"Northfield": "25"}
    assert not at.info
    assert at.selectbox(key="filter_age_band").options[0] == "All ages"  # "no filter" is a named choice


def test_bad_url_values_show_a_notice_not_an_error(nav_app):
    at = _app(nav_app, locality="Atlantis'; DROP TABLE dim_person; --", sex="Male", period="1999/00")
    assert not at.exception and not at.error
    notices = [i.value for i in at.info]
    assert any("Locality" in n for n in notices) and any("Period" in n for n in notices)
    assert at.selectbox(key="filter_locality").value == filters.ALL_OPTION
    assert at.selectbox(key="filter_sex").value == "Male"
    assert dict(at.query_params) == {"sex": ["Male"]}  # the URL is corrected to what is shown


def test_url_text_is_never_shown_as_markdown_and_several_problems_make_one_notice(nav_app):
    at = _app(nav_app, locality="[click](https://ex.org)")
    assert [i.value for i in at.info] == [
        r"Locality '\[click\]\(https://ex\.org\)' is not available in the current data; "
        r"showing all localities instead\."]
    at = _app(nav_app, locality="Atlantis", sex="x", period="1999/00")
    assert [i.value for i in at.info] == [
        "Some filters in this link are not available in the current data, so their defaults are shown: "
        "Period, Locality, Sex."]


def test_choosing_a_filter_updates_the_url_and_carries_to_the_next_page(nav_app):
    at = _app(nav_app)
    at.selectbox(key="filter_locality").set_value("Eastbrook").run()
    at.selectbox(key="filter_period").set_value("Last 3 years").run()
    assert dict(at.query_params) == {"locality": ["Eastbrook"], "period": ["Last 3 years"]}
    shown_first = _table(at)
    at.switch_page("../second.py").run()
    assert not at.exception
    assert at.title[0].value == "Second page"
    assert at.selectbox(key="filter_locality").value == "Eastbrook"
    assert at.selectbox(key="filter_period").value == "Last 3 years"
    assert at.query_params["locality"] == ["Eastbrook"]
    assert _table(at) == shown_first


def test_a_shared_url_reproduces_the_view_in_another_session(nav_app):
    first = _app(nav_app)
    first.selectbox(key="filter_send_status").set_value("SEN support").run()
    first.selectbox(key="filter_imd_quintile").set_value(2).run()
    shared = {k: v[-1] for k, v in first.query_params.items()}
    second = _app(nav_app, **shared)
    assert second.selectbox(key="filter_send_status").value == "SEN support"
    assert second.selectbox(key="filter_imd_quintile").value == 2
    assert _table(second) == _table(first)


def test_clear_all_filters_returns_to_the_defaults(nav_app):
    at = _app(nav_app, locality="Northfield", age_band="5-10")
    at.button[0].click().run()
    assert at.selectbox(key="filter_locality").value == filters.ALL_OPTION and dict(at.query_params) == {}
