"""Education (SPEC §3.5): Attainment 8 by SEND status and the gap, absence, suspensions and exclusions.

Works on the (already suppressed) frames of the education_* named queries; hidden cells are missing
values, so a gap is only worked out where both averages are shown.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from portal import theme
from portal.journeys.common import (breakdowns, fmt_number, fmt_pct, grouped_bar_chart_height, is_missing,
                                   join_names, melted, records, rounded_for_display)

STATUSES = ["EHCP", "SEN support", "No SEND"]
STATUS_PHRASES = {"EHCP": "pupils with an EHCP", "SEN support": "pupils on SEN support",
                  "No SEND": "pupils with no SEN"}

BREAKDOWNS = breakdowns("all", "locality", "sex", "ethnicity", "imd_quintile", "primary_need",
                        labels={"all": "Whole area"})
ABSENCE_BREAKDOWNS = {**BREAKDOWNS, **breakdowns("age_band")}

ABSENCE_MEASURES: dict[str, str] = {
    "absence_rate": "Absence rate (% of sessions missed)",
    "pct_persistently_absent": "% persistently absent (missing 10% or more)",
    "suspensions_per_100": "Suspensions per 100 pupils",
    "pct_suspended": "% of pupils suspended at least once",
}

LABELS = {
    "academic_year": "Academic year",
    "group_value": "Group",
    "send_status": "SEND status",
    "pupils": "Pupils",
    "mean_attainment8": "Average Attainment 8",
    "absence_rate": "Absence rate (%)",
    "persistently_absent": "Persistently absent",
    "pct_persistently_absent": "% persistently absent",
    "pupils_suspended": "Pupils suspended",
    "pct_suspended": "% suspended",
    "suspensions": "Suspensions",
    "suspensions_per_100": "Suspensions per 100 pupils",
    "permanent_exclusions": "Permanent exclusions",
}


def _capital(text: str) -> str:
    """First letter up, the rest as written (str.capitalize would turn 'EHCP' into 'ehcp')."""
    return text[:1].upper() + text[1:]


def breakdown_title(what: str, by: str, labels: dict[str, str]) -> str:
    return f"{what} for the whole area" if by == "all" else f"{what} by {labels[by].split(' (')[0].lower()}"


def table(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Shown columns with plain-English headings (from ``display_df()``, so hidden cells keep their marker)."""
    return rounded_for_display(df[[c for c in columns if c in df.columns]].rename(columns=LABELS))


# --------------------------------------------------------------------------------------- attainment
def gaps(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per ``keys``: the average for each SEND status and the gap of each SEND group to no SEN.

    ``df`` has ``keys + [send_status, pupils, mean_attainment8]``. A gap is missing when either average is.
    Rows are in order of ``keys``; a key's average is the first one shown for it (as a pivot table with
    ``aggfunc="first"`` gives). Worked out row by row: the page calls this five times a run on frames of a
    few dozen rows, where a pandas pivot table cost about 6 ms each.
    """
    seen: dict[tuple, None] = {}
    means: dict[tuple, float] = {}
    rows = zip(zip(*(df[k].tolist() for k in keys)), df["send_status"].tolist(), df["mean_attainment8"].tolist())
    for key, status, mean in rows:
        seen.setdefault(key, None)
        if not is_missing(mean):
            means.setdefault((key, status), float(mean))
    order = sorted(seen, key=lambda key: tuple((is_missing(v), "" if is_missing(v) else v) for v in key))
    columns = {k: np.array([key[i] for key in order], dtype=object) for i, k in enumerate(keys)}
    for status in STATUSES:
        columns[f"mean_{status}"] = pd.array([means.get((key, status)) for key in order], dtype="Float64")
    columns["gap_EHCP"] = columns["mean_No SEND"] - columns["mean_EHCP"]
    columns["gap_SEN support"] = columns["mean_No SEND"] - columns["mean_SEN support"]
    return pd.DataFrame(columns)


GAP_LABELS = {
    "mean_EHCP": "Average, EHCP", "mean_SEN support": "Average, SEN support", "mean_No SEND": "Average, no SEN",
    "gap_EHCP": "Gap: no SEN minus EHCP", "gap_SEN support": "Gap: no SEN minus SEN support",
}


def gap_table(df: pd.DataFrame, keys: list[str], key_labels: dict[str, str]) -> pd.DataFrame:
    """The gap table shown and downloaded: averages and gaps; '*' where an average is hidden."""
    wide = gaps(df, keys)
    shown = wide.rename(columns={**GAP_LABELS, **key_labels})
    shown = rounded_for_display(shown)
    return shown.astype(object).where(shown.notna(), "*")


def attainment_chart(df: pd.DataFrame) -> alt.Chart | None:
    return _yearly_lines_by_status(
        df, "mean_attainment8", "Average Attainment 8 (0 to 90)", "Average Attainment 8",
        "Line chart: average Attainment 8 score for each academic year, one line per SEND status.",
        y_scale=alt.Scale(domain=[0, 70]))


def _yearly_lines_by_status(df: pd.DataFrame, measure: str, axis_title: str, tooltip_title: str, description: str,
                            y_scale=alt.Undefined) -> alt.Chart | None:
    """One line per SEND status across the academic years (attainment and absence draw the same chart)."""
    data = df.dropna(subset=[measure]).copy()
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    statuses = [s for s in STATUSES if s in set(data["send_status"])]
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("academic_year:N", title="Academic year", axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{measure}:Q", title=axis_title, scale=y_scale),
        color=alt.Color("send_status:N", title="SEND status", sort=statuses,
                        scale=alt.Scale(domain=statuses, range=[theme.SEND_STATUS_COLOURS[s] for s in statuses])),
        strokeDash=alt.StrokeDash("send_status:N", sort=statuses, legend=None),
        shape=alt.Shape("send_status:N", sort=statuses, legend=None),
        tooltip=[alt.Tooltip("academic_year:N", title="Academic year"),
                 alt.Tooltip("send_status:N", title="SEND status"),
                 alt.Tooltip(f"{measure}:Q", title=tooltip_title, format=".1f"),
                 alt.Tooltip("pupils:Q", title="Pupils", format=",")],
    ).properties(height=320, description=description)


def attainment_summary(df: pd.DataFrame) -> str:
    """Latest year's averages and gaps, and how the EHCP gap moved since the first year shown."""
    years = sorted(records(gaps(df, ["academic_year"])), key=lambda row: row["academic_year"])
    shown = [row for row in years if not is_missing(row["mean_No SEND"])]
    if not shown:
        return ("Too few pupils with these filters have GCSE results to show average Attainment 8 scores safely, "
                "or the SEND status filter leaves no pupils with no SEN to compare with.")
    latest = shown[-1]
    year = latest["academic_year"]
    parts = [f"In {year}, pupils with no SEN averaged {fmt_number(latest['mean_No SEND'], 1)} in Attainment 8."]
    for status in ("EHCP", "SEN support"):
        mean, gap = latest[f"mean_{status}"], latest[f"gap_{status}"]
        if not is_missing(mean):
            parts.append(f"{_capital(STATUS_PHRASES[status])} averaged {fmt_number(mean, 1)}, "
                         f"{fmt_number(abs(gap), 1)} points {'below' if gap >= 0 else 'above'}.")
    gap_years = [row for row in shown if not is_missing(row["gap_EHCP"])]
    if len(gap_years) >= 2:
        first = gap_years[0]
        change = gap_years[-1]["gap_EHCP"] - first["gap_EHCP"]
        trend = ("about the same as" if abs(change) < 1 else
                 f"{fmt_number(abs(change), 1)} points {'wider' if change > 0 else 'narrower'} than")
        parts.append(f"The EHCP gap is {trend} in {first['academic_year']} "
                     f"({fmt_number(first['gap_EHCP'], 1)} points).")
    return " ".join(parts)


def gap_chart(df: pd.DataFrame, label: str) -> alt.Chart | None:
    """Bar chart of each group's gap (no SEN minus EHCP, and minus SEN support)."""
    wide = gaps(df, ["group_value"])
    long = melted(wide, ["group_value"], ["gap_EHCP", "gap_SEN support"], "gap", "points")
    if long.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    long["gap"] = long["gap"].map({"gap_EHCP": "EHCP", "gap_SEN support": "SEN support"})
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("group_value:N", title=label),
        yOffset=alt.YOffset("gap:N", sort=["EHCP", "SEN support"]),
        x=alt.X("points:Q", title="Attainment 8 gap to pupils with no SEN (points)"),
        color=alt.Color("gap:N", title="Gap for", sort=["EHCP", "SEN support"],
                        scale=alt.Scale(domain=["EHCP", "SEN support"],
                                        range=[theme.SEND_STATUS_COLOURS["EHCP"], theme.SEND_STATUS_COLOURS["SEN support"]])),
        tooltip=[alt.Tooltip("group_value:N", title=label), alt.Tooltip("gap:N", title="Gap for"),
                 alt.Tooltip("points:Q", title="Gap (points)", format=".1f")],
    ).properties(height=grouped_bar_chart_height(len(long)), description=(
        f"Bar chart: the Attainment 8 gap to pupils with no SEN for pupils with an EHCP and on SEN support, by {label.lower()}."))


def gap_sentence(df: pd.DataFrame, label: str) -> str:
    wide = gaps(df, ["group_value"]).dropna(subset=["gap_EHCP"])
    if wide.empty:
        return (f"Too few pupils in each {label.lower()} group have results to show the gap safely, or there are "
                "no pupils with no SEN to compare with.")
    if len(wide) == 1:
        row = wide.iloc[0]
        return (f"Over the years in the chosen period, pupils with an EHCP averaged {fmt_number(row['mean_EHCP'], 1)}, "
                f"{fmt_number(row['gap_EHCP'], 1)} points below pupils with no SEN ({fmt_number(row['mean_No SEND'], 1)}).")
    ordered = wide.sort_values("gap_EHCP", ascending=False)
    top, bottom = ordered.iloc[0], ordered.iloc[-1]
    return (f"The gap between pupils with an EHCP and pupils with no SEN is widest in {top['group_value']} "
            f"({fmt_number(top['gap_EHCP'], 1)} points) and narrowest in {bottom['group_value']} "
            f"({fmt_number(bottom['gap_EHCP'], 1)} points).")


# ------------------------------------------------------------------------------------------ absence
def absence_chart(df: pd.DataFrame, measure: str) -> alt.Chart | None:
    title = ABSENCE_MEASURES[measure]
    return _yearly_lines_by_status(df, measure, title, title,
                                   f"Line chart: {title.lower()} for each academic year, one line per SEND status.")


def absence_summary(df: pd.DataFrame) -> str:
    shown = df.dropna(subset=["absence_rate"])
    if shown.empty:
        return "Too few pupils match these filters to show absence figures safely."
    year = sorted(shown["academic_year"].unique())[-1]
    latest = shown[shown["academic_year"] == year].set_index("send_status")
    parts = []
    rates = [(s, latest.loc[s]) for s in STATUSES if s in latest.index]
    if rates:
        listed = [f"{STATUS_PHRASES[s]} {fmt_pct(r['absence_rate'], 1)}" for s, r in rates]
        parts.append(f"In {year}, the share of school sessions missed was: {join_names(listed)}.")
    persistent = [(s, r["pct_persistently_absent"]) for s, r in rates if not is_missing(r["pct_persistently_absent"])]
    if persistent:
        worst = max(persistent, key=lambda item: item[1])
        parts.append(f"{_capital(STATUS_PHRASES[worst[0]])} were the most likely to be persistently absent "
                     f"({fmt_pct(worst[1])} missed 10% or more of sessions).")
    suspended = [(s, r["suspensions_per_100"]) for s, r in rates if not is_missing(r["suspensions_per_100"])]
    if suspended:
        worst = max(suspended, key=lambda item: item[1])
        parts.append(f"Suspensions were highest for {STATUS_PHRASES[worst[0]]}: "
                     f"{fmt_number(worst[1], 1)} per 100 pupils.")
    exclusions = pd.to_numeric(latest.get("permanent_exclusions"), errors="coerce") if rates else None
    if exclusions is not None and exclusions.sum() > 0:
        parts.append(f"About {fmt_number(exclusions.sum())} pupils were permanently excluded.")
    elif exclusions is not None and exclusions.isna().any():
        parts.append("A small number of pupils were permanently excluded.")
    return " ".join(parts)


def absence_group_chart(df: pd.DataFrame, measure: str, label: str) -> alt.Chart | None:
    data = df.dropna(subset=[measure]).copy()
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    statuses = [s for s in STATUSES if s in set(data["send_status"])]
    title = ABSENCE_MEASURES[measure]
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("group_value:N", title=label),
        yOffset=alt.YOffset("send_status:N", sort=statuses),
        x=alt.X(f"{measure}:Q", title=title),
        color=alt.Color("send_status:N", title="SEND status", sort=statuses,
                        scale=alt.Scale(domain=statuses, range=[theme.SEND_STATUS_COLOURS[s] for s in statuses])),
        tooltip=[alt.Tooltip("group_value:N", title=label), alt.Tooltip("send_status:N", title="SEND status"),
                 alt.Tooltip(f"{measure}:Q", title=title, format=".1f"),
                 alt.Tooltip("pupils:Q", title="Pupils", format=",")],
    ).properties(height=grouped_bar_chart_height(len(data)), description=(
        f"Bar chart: {title.lower()} by {label.lower()}, one bar per SEND status."))


def absence_group_sentence(df: pd.DataFrame, measure: str, label: str) -> str:
    send = df[df["send_status"] != "No SEND"].dropna(subset=[measure])
    if send.empty:
        return f"Too few pupils with SEND in each {label.lower()} group to compare safely."
    top = send.sort_values(measure, ascending=False).iloc[0]
    title = ABSENCE_MEASURES[measure].split(" (")[0].lower()
    where = "" if top["group_value"] == "Whole area" else f" in {top['group_value']}"
    return (f"Among pupils with SEND, the highest {title} is for {STATUS_PHRASES[top['send_status']]}{where}: "
            f"{fmt_number(top[measure], 1)}.")
