"""GP cohort finder (SPEC §3.11): the recall list as shown, its chart, its summary, its downloads.

The list comes from ``portal.cohorts.run_cohort`` (practice-scoped and audited); everything here turns it
into what the page shows, so the table, the chart, the summary and the downloads hold the same rows.
"""
from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd

from portal import theme
from portal.cohorts import EVENTS, LIST_COLUMNS, CohortDefinition
from portal.journeys.common import count_axis, filters_phrase as common_filters_phrase
from portal.journeys.common import join_names

NEVER = "never recorded"
# Bands of time since the last relevant event, oldest first: what a practice recalls first.
GAP_BANDS = ("Never recorded", "More than 2 years", "1 to 2 years", "6 to 12 months", "Under 6 months")
SORTS = {
    "Longest since the last relevant event": (["_gap_days", "Name"], [False, True]),
    "Name (A to Z)": (["Name"], [True]),
    "Age (youngest first)": (["Age", "Name"], [True, True]),
    "Age (oldest first)": (["Age", "Name"], [False, True]),
}


def display_frame(df: pd.DataFrame, as_of: date, sort: str = next(iter(SORTS))) -> pd.DataFrame:
    """The list as the page shows and exports it: labelled columns, readable events and dates."""
    out = pd.DataFrame({
        LIST_COLUMNS["nhs_number"]: df["nhs_number"].astype(str),
        LIST_COLUMNS["name"]: df["name"].astype(str),
        LIST_COLUMNS["date_of_birth"]: pd.to_datetime(df["date_of_birth"]).dt.date,
        LIST_COLUMNS["age"]: pd.to_numeric(df["age"]).astype("Int64"),
        LIST_COLUMNS["send_status"]: df["send_status"].astype(str),
        LIST_COLUMNS["last_event"]: [EVENTS.get(e, str(e)) if isinstance(e, str) else "" for e in df["last_event"]],
        LIST_COLUMNS["last_event_date"]: [d.date() if pd.notna(d) else None
                                          for d in pd.to_datetime(df["last_event_date"])],
    })
    gap = [(as_of - d).days if d is not None else 10**6 for d in out[LIST_COLUMNS["last_event_date"]]]
    columns, ascending = SORTS.get(sort, SORTS[next(iter(SORTS))])
    out = out.assign(_gap_days=gap).sort_values(columns, ascending=ascending, kind="stable")
    out[LIST_COLUMNS["last_event_date"]] = [d.isoformat() if d is not None else NEVER
                                            for d in out[LIST_COLUMNS["last_event_date"]]]
    out[LIST_COLUMNS["date_of_birth"]] = [d.isoformat() for d in out[LIST_COLUMNS["date_of_birth"]]]
    out.loc[out[LIST_COLUMNS["last_event"]] == "", LIST_COLUMNS["last_event"]] = "none recorded"
    return out.drop(columns="_gap_days").reset_index(drop=True)


def filters_phrase(filters) -> str:
    """The sidebar filters that narrow this list (period and locality do not apply to it)."""
    return common_filters_phrase(filters) or "no filters"


def gap_band(last_date: str, as_of: date) -> str:
    if last_date == NEVER or not last_date:
        return GAP_BANDS[0]
    days = (as_of - date.fromisoformat(last_date)).days
    if days > 730:
        return GAP_BANDS[1]
    if days > 365:
        return GAP_BANDS[2]
    if days > 182:
        return GAP_BANDS[3]
    return GAP_BANDS[4]


def gap_counts(shown: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """How many people fall in each band of time since their last relevant event (all bands, in order)."""
    bands = [gap_band(d, as_of) for d in shown[LIST_COLUMNS["last_event_date"]]]
    counts = pd.Series(bands, dtype="object").value_counts()
    return pd.DataFrame({"Time since the last relevant event": list(GAP_BANDS),
                         "People": [int(counts.get(b, 0)) for b in GAP_BANDS]})


def gap_chart(counts: pd.DataFrame, definition: CohortDefinition) -> alt.Chart:
    label = "Time since the last relevant event"
    return alt.Chart(counts, title=f"People by time since {definition.relevant_event_label()}").mark_bar(
        color=theme.NHS_BLUE).encode(
        x=alt.X("People:Q", axis=count_axis(counts["People"].max(), "Number of people")),
        y=alt.Y(f"{label}:N", sort=list(GAP_BANDS), title=None),
        tooltip=[alt.Tooltip(f"{label}:N"), alt.Tooltip("People:Q")],
    ).properties(height=200)


def summary(shown: pd.DataFrame, definition: CohortDefinition, as_of: date, practice: str) -> str:
    """One plain-English paragraph computed from the list as shown."""
    n = len(shown)
    who = definition.describe()
    if n == 0:
        return (f"No {who} are registered with {practice} on {as_of:%d %B %Y}. "
                "Try fewer conditions, a longer time window, or clearing the filters in the sidebar.")
    people = "person" if n == 1 else "people"
    text = (f"{n:,} {people} registered with {practice} {'matches' if n == 1 else 'match'} this cohort "
            f"({who}) on {as_of:%d %B %Y}.")
    dates = shown[LIST_COLUMNS["last_event_date"]]
    never = int((dates == NEVER).sum())
    if definition.no_event:
        event = EVENTS[definition.no_event]
        event = event if event[:2].isupper() else event.lower()
        if never:
            text += f" {never:,} of them {'has' if never == 1 else 'have'} never had {_article(event)} {event} recorded."
        recorded = sorted(d for d in dates if d != NEVER)
        if recorded:
            text += f" Of the rest, the longest gap is since {date.fromisoformat(recorded[0]):%d %B %Y}."
    ages = shown[LIST_COLUMNS["age"]].dropna()
    if len(ages):
        low, high = int(ages.min()), int(ages.max())
        text += f" Ages range from {low} to {high}." if low != high else f" {'The person is' if n == 1 else 'All are'} aged {low}."
    statuses = shown[LIST_COLUMNS["send_status"]].value_counts()
    if len(statuses) > 1:
        text += " By SEND status: " + join_names([f"{v:,} {k}" for k, v in statuses.items()]) + "."
    return text


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def about_sheet(definition: CohortDefinition, practice: str, rows: int) -> dict[str, str]:
    """Lines for the Excel 'About' sheet, added to the query's provenance."""
    return {
        "Cohort": definition.describe(),
        "Practice": practice,
        "People": str(rows),
        "Confidential": "Identifiable patient data for direct care only. Do not forward. Every view and "
                        "download of this list is recorded in the audit log.",
    }


def file_stem(definition: CohortDefinition, as_of: date) -> str:
    parts = [definition.send_status, *definition.conditions]
    if definition.no_event:
        parts.append(f"no-{definition.no_event}-{definition.no_event_months}m")
    slug = "-".join(p.lower().replace(" ", "-") for p in parts)
    return f"cohort-{slug}-{as_of.isoformat()}"
