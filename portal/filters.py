"""The global filters of SPEC §3: their values, their URL form, and the sidebar that sets them.

Interface::

    from portal import filters
    f = filters.sidebar()        # draws the filters in the sidebar, returns a Filters, keeps the URL in step
    f.locality, f.send_status    # None means "all"
    f.period, f.period_start, f.period_end   # a named window resolved against the data's as_of date
    f.describe()                 # "Eastfield · EHCP · last 12 months" for headings and summaries

The filters live in ``st.session_state["global_filters"]`` (a dict of URL values) so they carry across
pages, and in ``st.query_params`` under the same names as the :class:`Filters` fields, so a copied URL
reproduces the view. Only allow-listed values are ever accepted: a value in a URL that is unknown or no
longer in the data (a stale shared link) falls back to the default and the page shows a short notice;
nothing a URL says ever reaches SQL except as a bound value from these lists.

Periods: ``Last 12 months`` (default), ``Last 3 years``, ``All years``, and financial years such as
``2024/25`` (1 April to 31 March), each resolved to ``period_start``/``period_end`` dates against the
mart version's ``as_of`` snapshot date (the end never passes ``as_of``).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Mapping

from portal import store

log = logging.getLogger(__name__)

# Global filter -> mart column (the standard dimensions of docs/architecture.md). Column names used in
# SQL come only from here.
FILTER_COLUMNS = {
    "locality": "locality",
    "age_band": "age_band",
    "sex": "sex",
    "ethnicity": "ethnicity",
    "imd_quintile": "imd_quintile",
    "send_status": "send_status",
    "primary_need": "primary_need",
}
FILTER_LABELS = {
    "period": "Period",
    "locality": "Locality",
    "age_band": "Age band",
    "sex": "Sex",
    "ethnicity": "Ethnicity",
    "imd_quintile": "Deprivation (IMD quintile)",
    "send_status": "SEND status",
    "primary_need": "Primary need",
}
AGE_BANDS = ("0-4", "5-10", "11-15", "16-17", "18-25")
SEXES = ("Female", "Male")
ETHNICITIES = ("Asian", "Black", "Mixed", "White", "Other", "Not known")
IMD_QUINTILES = (1, 2, 3, 4, 5)
IMD_LABELS = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}
SEND_STATUSES = ("EHCP", "SEN support", "No SEND")
PRIMARY_NEEDS = {
    "ASD": "Autistic spectrum disorder",
    "SLCN": "Speech, language and communication needs",
    "SEMH": "Social, emotional and mental health",
    "MLD": "Moderate learning difficulty",
    "SpLD": "Specific learning difficulty",
    "SLD": "Severe learning difficulty",
    "PMLD": "Profound and multiple learning difficulty",
    "HI": "Hearing impairment",
    "VI": "Visual impairment",
    "MSI": "Multi-sensory impairment",
    "PD": "Physical disability",
    "OTH": "Other difficulty or disability",
    "NSA": "SEN support but no specialist assessment",
}
ROLLING_PERIODS = {"Last 12 months": 12, "Last 3 years": 36}
ALL_YEARS = "All years"
DEFAULT_PERIOD = "Last 12 months"
FINANCIAL_YEARS_SHOWN = 6
ALL_YEARS_START = dt.date(1900, 1, 1)
SESSION_KEY = "global_filters"
# The menu entry meaning "no filter". Streamlit shows a None value as an empty box, so the widgets use
# this marker and Filters use None.
ALL_OPTION = "(all)"


@dataclass(frozen=True)
class Filters:
    period: str = DEFAULT_PERIOD
    period_start: dt.date = ALL_YEARS_START
    period_end: dt.date = dt.date(2100, 1, 1)
    locality: str | None = None
    age_band: str | None = None
    sex: str | None = None
    ethnicity: str | None = None
    imd_quintile: int | None = None
    send_status: str | None = None
    primary_need: str | None = None

    def as_query_params(self) -> dict[str, str]:
        """The URL form: only values that differ from the defaults."""
        out = {} if self.period == DEFAULT_PERIOD else {"period": self.period}
        for name in FILTER_COLUMNS:
            value = getattr(self, name)
            if value is not None:
                out[name] = str(value)
        return out

    def describe(self) -> str:
        """A short phrase naming the chosen filters, for headings, captions and summaries."""
        parts = []
        for name in FILTER_COLUMNS:
            value = getattr(self, name)
            if value is None:
                continue
            if name == "imd_quintile":
                parts.append(f"IMD quintile {IMD_LABELS[value]}")
            elif name == "age_band":
                parts.append(f"aged {value}")
            elif name == "primary_need":
                parts.append(f"primary need {PRIMARY_NEEDS.get(value, value)}")
            else:
                parts.append(str(value))
        parts.append(period_phrase(self.period))
        return " · ".join(parts)

    def is_default(self) -> bool:
        return not self.as_query_params()


def period_phrase(period: str) -> str:
    if period in ROLLING_PERIODS or period == ALL_YEARS:
        return period.lower() if period != ALL_YEARS else "all years"
    return f"financial year {period}"


# ------------------------------------------------------------------------------------------- resolving
def as_of_date(version: store.MartVersion | None) -> dt.date:
    """The data's snapshot date: the manifest's ``as_of``, else the build date, else today."""
    if version is not None:
        for key in ("as_of", "built_at"):
            value = version.manifest.get(key)
            if value:
                try:
                    return dt.date.fromisoformat(str(value)[:10])
                except ValueError:
                    log.warning("manifest %s of %s is not a date: %r", key, version.name, value)
    return dt.date.today()


def _month_start(day: dt.date, months_back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def financial_year_of(day: dt.date) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{str(start + 1)[-2:]}"


def period_options(as_of: dt.date) -> list[str]:
    latest = int(financial_year_of(as_of)[:4])
    years = [f"{y}/{str(y + 1)[-2:]}" for y in range(latest, latest - FINANCIAL_YEARS_SHOWN, -1)]
    return [*ROLLING_PERIODS, ALL_YEARS, *years]


def resolve_period(period: str, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """(period_start, period_end) for a named window; ValueError for a name that is not offered."""
    if period in ROLLING_PERIODS:
        return _month_start(as_of, ROLLING_PERIODS[period] - 1), as_of
    if period == ALL_YEARS:
        return ALL_YEARS_START, as_of
    if period in period_options(as_of)[len(ROLLING_PERIODS) + 1:]:
        start_year = int(period[:4])
        return dt.date(start_year, 4, 1), min(dt.date(start_year + 1, 3, 31), as_of)
    raise ValueError(f"unknown period {period!r}")


_localities: dict[tuple[str, str], list[str]] = {}


def localities(version: store.MartVersion | None) -> list[str]:
    """The localities in the live data (from dim_locality), for the allow-list and the menu."""
    if version is None:
        return []
    key = (str(version.path), version.name)
    if key not in _localities:
        found = _read_localities(version)
        if not found:
            return found  # not remembered: the mart may be readable on the next try
        _localities[key] = found
    return list(_localities[key])


def _read_localities(version: store.MartVersion) -> list[str]:
    try:
        with store.reader().pooled_cursor(version) as (cur, _):
            return [row[0] for row in cur.execute(
                "SELECT DISTINCT locality FROM dim_locality WHERE locality IS NOT NULL ORDER BY locality"
            ).fetchall()]
    except Exception as exc:  # a missing or unreadable mart only empties the menu; pages report it
        log.warning("localities unavailable in %s: %s", getattr(version, "name", None), exc)
        return []


def allowed_values(version: store.MartVersion | None) -> dict[str, list]:
    """Every filter's allowed values (besides None = all) for this data version."""
    return {
        "period": period_options(as_of_date(version)),
        "locality": localities(version),
        "age_band": list(AGE_BANDS),
        "sex": list(SEXES),
        "ethnicity": list(ETHNICITIES),
        "imd_quintile": list(IMD_QUINTILES),
        "send_status": list(SEND_STATUSES),
        "primary_need": list(PRIMARY_NEEDS),
    }


def default_filters(version: store.MartVersion | None = None, as_of: dt.date | None = None) -> Filters:
    as_of = as_of or as_of_date(version)
    start, end = resolve_period(DEFAULT_PERIOD, as_of)
    return Filters(period_start=start, period_end=end)


def from_values(
    values: Mapping[str, object], allowed: Mapping[str, list], as_of: dt.date
) -> tuple[Filters, list[str]]:
    """Build Filters from URL-style values, dropping any that are not allowed.

    Returns the filters and one short notice per value dropped. Unknown keys are ignored (a page may
    keep its own settings in the URL).
    """
    notices: list[str] = []
    chosen: dict[str, object] = {}
    for name in ("period", *FILTER_COLUMNS):
        raw = values.get(name)
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else None
        if raw is None or raw == "":
            continue
        text = str(raw)
        match = next((v for v in allowed[name] if str(v) == text), None)
        if match is None:
            shown = text if len(text) <= 30 else text[:27] + "..."
            instead = DEFAULT_PERIOD if name == "period" else _option_label(name, None)
            notices.append(
                f"{FILTER_LABELS[name]} '{shown}' is not available in the current data; "
                f"showing {instead[0].lower() + instead[1:]} instead."
            )
            continue
        chosen[name] = match
    period = str(chosen.pop("period", DEFAULT_PERIOD))
    start, end = resolve_period(period, as_of)
    return Filters(period=period, period_start=start, period_end=end, **chosen), notices


def from_query_params(
    params: Mapping[str, object], version: store.MartVersion | None = None
) -> tuple[Filters, list[str]]:
    return from_values(params, allowed_values(version), as_of_date(version))


# --------------------------------------------------------------------------------------------- sidebar
def _current_version() -> store.MartVersion | None:
    try:
        return store.reader().version()
    except (store.NoMartsError, store.MartsUnavailableError):
        return None


def _option_label(name: str, value) -> str:
    if value is None or value == ALL_OPTION:
        return {"locality": "All localities", "primary_need": "All needs", "age_band": "All ages",
                "imd_quintile": "All quintiles", "send_status": "All children and young people",
                "sex": "All", "ethnicity": "All ethnic groups"}.get(name, "All")
    if name == "imd_quintile":
        return IMD_LABELS[value]
    if name == "primary_need":
        return f"{value}: {PRIMARY_NEEDS.get(value, value)}"
    return str(value)


def sidebar() -> Filters:
    """Draw the global filters in the sidebar and return the chosen Filters.

    The first call in a browser session reads the URL; after that the session's own choice wins and the
    URL is rewritten to match on every page, so it can always be copied and shared.
    """
    import streamlit as st

    version = _current_version()
    allowed = allowed_values(version)
    as_of = as_of_date(version)
    widget_keys = {name: f"filter_{name}" for name in ("period", *FILTER_COLUMNS)}

    if SESSION_KEY not in st.session_state:
        source = {k: st.query_params.get_all(k) for k in widget_keys}
    else:
        source = st.session_state[SESSION_KEY]
    # Re-validated on every run: a new data version may have dropped a value chosen earlier.
    current, notices = from_values(source, allowed, as_of)
    st.session_state[SESSION_KEY] = _as_values(current)

    # Widget state does not survive a page switch (each page's widgets are new), so the session's own
    # copy sets every widget before it is drawn, and each widget's on_change writes back to that copy.
    for name, key in widget_keys.items():
        stored = st.session_state[SESSION_KEY].get(name)
        st.session_state[key] = ALL_OPTION if stored is None else stored

    with st.sidebar:
        st.header("Filters", anchor=False)
        for name, key in widget_keys.items():
            if name == "period":
                st.selectbox(FILTER_LABELS[name], allowed["period"], key=key, on_change=_remember,
                             args=(name, key),
                             help=f"Named windows end on the data's snapshot date, {as_of:%d %B %Y}. "
                                  "Financial years run from 1 April to 31 March.")
            else:
                st.selectbox(FILTER_LABELS[name], [ALL_OPTION, *allowed[name]], key=key, on_change=_remember,
                             args=(name, key), format_func=lambda v, n=name: _option_label(n, v))
        st.button("Clear all filters", key="filter_clear", on_click=_clear_filters, args=(widget_keys,),
                  width="stretch")

    chosen = {name: _from_widget(st.session_state[key]) for name, key in widget_keys.items()}
    current, more = from_values(chosen, allowed, as_of)
    notices += more
    st.session_state[SESSION_KEY] = _as_values(current)
    _sync_url(current, widget_keys)
    if notices:
        st.info(_combined_notice(notices), icon=":material/info:")
    return current


def _combined_notice(notices: list[str]) -> str:
    """One short notice, with any text that came from the URL shown literally (never as a link)."""
    from portal import markdown

    if len(notices) == 1:
        return markdown.escape(notices[0])
    labels = [label for name, label in FILTER_LABELS.items() if any(n.startswith(f"{label} '") for n in notices)]
    return ("Some filters in this link are not available in the current data, so their defaults are shown: "
            + markdown.escape(", ".join(labels)) + ".")


def _remember(name: str, key: str) -> None:
    import streamlit as st

    st.session_state[SESSION_KEY][name] = _from_widget(st.session_state[key])


def _from_widget(value):
    return None if value == ALL_OPTION else value


def _as_values(f: Filters) -> dict[str, object]:
    return {"period": f.period, **{name: getattr(f, name) for name in FILTER_COLUMNS}}


def _clear_filters(widget_keys: Mapping[str, str]) -> None:
    import streamlit as st

    for name, key in widget_keys.items():
        st.session_state[key] = DEFAULT_PERIOD if name == "period" else None
        st.session_state[SESSION_KEY][name] = _from_widget(st.session_state[key])


def _from_widget(value):
    return None if value == ALL_OPTION else value


def _sync_url(current: Filters, widget_keys: Mapping[str, str]) -> None:
    """Write our keys to the URL, leaving any page-specific keys alone; only touch what changed."""
    import streamlit as st

    wanted = current.as_query_params()
    for name in widget_keys:
        have = st.query_params.get(name)
        if name in wanted and have != wanted[name]:
            st.query_params[name] = wanted[name]
        elif name not in wanted and have is not None:
            del st.query_params[name]
