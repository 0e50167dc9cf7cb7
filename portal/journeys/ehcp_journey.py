"""EHCP journey (SPEC §3.3): the SEN2 measures from request to plan, reviews, ceased plans and disputes.

Works on the (already suppressed) frames of the ehcp_* named queries; hidden cells are missing values.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from portal.journeys.common import (breakdowns, fmt_count, fmt_pct, is_missing, join_names, melted, records,
                                    rounded_for_display)

BREAKDOWNS = breakdowns("locality", "primary_need", "age_band", "sex", "ethnicity", "imd_quintile")

# SEN2 reasons a plan ceased (send_register contract codes) in plain English; unknown codes show as given.
CEASE_REASONS = {
    "max_age": "Reached the age limit (25)",
    "needs_met": "Needs met without a plan",
    "he": "Moved on to higher education",
    "employment": "Moved into paid work",
    "moved": "Moved to another area",
    "no_engage": "Young person no longer in education or training",
    "other": "Other reason",
}

LABELS = {
    "year_label": "12 months to",
    "group_value": "Group",
    "requests": "Requests received",
    "decisions": "Decisions made",
    "decided_to_assess": "Decided to assess",
    "decided_within_6_weeks": "Decided within 6 weeks",
    "pct_decided_within_6_weeks": "% decided within 6 weeks",
    "plans_issued": "Plans issued",
    "issued_within_20_weeks": "Issued within 20 weeks",
    "pct_issued_within_20_weeks": "% within 20 weeks (with exceptions)",
    "plans_issued_no_exception": "Plans issued (no exception)",
    "issued_within_20_weeks_no_exception": "Issued within 20 weeks (no exception)",
    "pct_issued_within_20_weeks_no_exception": "% within 20 weeks (without exceptions)",
    "median_weeks_to_issue": "Median weeks from request to plan",
    "plans_in_place": "Plans in place",
    "reviews_held": "Reviews held in period",
    "reviews_due_next_3_months": "Reviews due in next 3 months",
    "reviews_overdue": "Reviews overdue now",
    "pct_overdue": "% of plans overdue",
    "cease_reason": "Reason",
    "plans_ceased": "Plans ceased",
    "mediations": "Mediations",
    "tribunals": "Tribunal appeals",
}


def year_label(year_ending) -> str:
    """'Oct 2026' for the 12-month period whose last month starts on 2026-10-01."""
    return pd.Timestamp(year_ending).strftime("%b %Y")


def _year_labels(by_year: pd.DataFrame) -> list[str]:
    return [year_label(year_ending) for year_ending in by_year["year_ending"]]


def with_year_labels(by_year: pd.DataFrame) -> pd.DataFrame:
    out = by_year.copy()
    out.insert(0, "year_label", pd.Series(_year_labels(by_year), index=out.index, dtype=object))
    return out


def cease_reason_name(code) -> str:
    return CEASE_REASONS.get(str(code), str(code))


def table(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = df.copy()
    if "cease_reason" in out.columns:
        out["cease_reason"] = out["cease_reason"].map(cease_reason_name)
    if "year_ending" in out.columns and "year_label" not in out.columns:
        out = with_year_labels(out)
    return rounded_for_display(out[[c for c in columns if c in out.columns]].rename(columns=LABELS))


# ------------------------------------------------------------------------------------------- summaries


def journey_summary(by_year: pd.DataFrame, reviews: pd.DataFrame, ceased: pd.DataFrame) -> str:
    """The page's plain-English paragraph, from the latest 12 months and the year before."""
    years = by_year.sort_values("year_ending")
    if years.empty:
        return "There are no EHC needs assessment requests in the data for these filters."
    latest = years.iloc[-1]
    previous = years.iloc[-2] if len(years) > 1 else None
    period = f"In the 12 months to {year_label(latest['year_ending'])}"
    parts = [f"{period}, {fmt_count(latest['requests'])} requests for an EHC needs assessment were received"]
    if not is_missing(latest["pct_decided_within_6_weeks"]):
        parts[-1] += f" and {fmt_pct(latest['pct_decided_within_6_weeks'])} of decisions were made within 6 weeks"
    parts[-1] += "."
    issued = f"{fmt_count(latest['plans_issued'])} new plans were issued"
    pct20 = latest["pct_issued_within_20_weeks"]
    if not is_missing(pct20):
        issued += f", {fmt_pct(pct20)} within 20 weeks"
        pct_ex = latest["pct_issued_within_20_weeks_no_exception"]
        if not is_missing(pct_ex):
            issued += f" ({fmt_pct(pct_ex)} leaving out exceptions)"
        if previous is not None and not is_missing(previous["pct_issued_within_20_weeks"]):
            change = float(pct20) - float(previous["pct_issued_within_20_weeks"])
            if abs(change) < 0.5:
                issued += ", about the same as the year before"
            else:
                issued += (f", {'up' if change > 0 else 'down'} from {fmt_pct(previous['pct_issued_within_20_weeks'])} "
                           "the year before")
    parts.append(issued + ".")
    parts.append(reviews_sentence(reviews))
    parts.append(ceased_sentence(ceased))
    return " ".join(p for p in parts if p)


def _shown(frame: pd.DataFrame, column: str) -> list[dict]:
    """The rows whose ``column`` is shown (not hidden by suppression), as records."""
    return [row for row in records(frame) if not is_missing(row[column])]


def _largest(rows: list[dict], column: str) -> dict | None:
    """The row with the largest ``column``; the first of equals, as a descending sort gives."""
    return max(rows, key=lambda row: float(row[column])) if rows else None


def _total(frame: pd.DataFrame, column: str):
    """The sum of the shown figures; None when none is shown (pandas' ``sum(min_count=1)``)."""
    shown = [value for value in frame[column].tolist() if not is_missing(value)]
    return sum(shown) if shown else None


def reviews_sentence(reviews: pd.DataFrame) -> str:
    in_place, overdue = _total(reviews, "plans_in_place"), _total(reviews, "reviews_overdue")
    if in_place is None or overdue is None:
        return ""
    text = f"Of about {fmt_count(in_place)} plans in place, {fmt_count(overdue)} have an overdue annual review"
    shown = _shown(reviews, "pct_overdue")
    if len(shown) > 1:
        top = _largest(shown, "pct_overdue")
        text += f"; the share overdue is highest for {top['group_value']} ({fmt_pct(top['pct_overdue'])})"
    return text + "."


def ceased_sentence(ceased: pd.DataFrame) -> str:
    top = _largest([row for row in _shown(ceased, "plans_ceased") if row["plans_ceased"] > 0], "plans_ceased")
    if top is None:
        return ""
    return (f"The most common reason a plan ended in the period was \u201c{cease_reason_name(top['cease_reason'])}\u201d "
            f"({fmt_count(top['plans_ceased'])} plans).")


def slowest_groups(breakdown: pd.DataFrame, n: int = 2) -> list[str]:
    """The groups with the lowest share of plans issued within 20 weeks (suppressed ones skipped)."""
    shown = _shown(breakdown, "pct_issued_within_20_weeks")
    ranked = sorted(shown, key=lambda row: (float(row["pct_issued_within_20_weeks"]), str(row["group_value"])))
    return [str(row["group_value"]) for row in ranked[:n]]


def breakdown_sentence(breakdown: pd.DataFrame, by: str) -> str:
    slow = slowest_groups(breakdown)
    if not slow:
        return "Too few plans were issued in each group in this period to compare them."
    shares_by_group = {str(row["group_value"]): row["pct_issued_within_20_weeks"] for row in records(breakdown)}
    shares = [f"{g} ({fmt_pct(shares_by_group[g])})" for g in slow]
    return (f"By {BREAKDOWNS.get(by, by).lower()}, the smallest shares of plans issued within 20 weeks were in "
            f"{join_names(shares)}.")


# -------------------------------------------------------------------------------------------- charts

TIMELINESS_MEASURES = {
    "pct_decided_within_6_weeks": "Decisions within 6 weeks",
    "pct_issued_within_20_weeks": "Plans within 20 weeks (with exceptions)",
    "pct_issued_within_20_weeks_no_exception": "Plans within 20 weeks (without exceptions)",
}
VOLUME_MEASURES = {"requests": "Requests received", "decided_to_assess": "Decided to assess",
                   "plans_issued": "Plans issued"}


def _long(by_year: pd.DataFrame, measures: dict[str, str], value_name: str) -> pd.DataFrame:
    long = melted(with_year_labels(by_year), ["year_ending", "year_label"], list(measures), "measure", value_name)
    long["measure"] = long["measure"].map(measures)
    long[value_name] = long[value_name].astype(float)
    return long


def timeliness_chart(by_year: pd.DataFrame) -> alt.Chart:
    long = _long(by_year, TIMELINESS_MEASURES, "percent")
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("year_label:N", title="12 months to", sort=_year_labels(by_year), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("percent:Q", title="Per cent on time", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("measure:N", title="", sort=list(TIMELINESS_MEASURES.values()), legend=alt.Legend(orient="right", labelLimit=0)),
        strokeDash=alt.StrokeDash("measure:N", legend=None),
        tooltip=[alt.Tooltip("year_label:N", title="12 months to"), alt.Tooltip("measure:N", title="Measure"),
                 alt.Tooltip("percent:Q", title="Per cent", format=".1f")],
    ).properties(height=320, description=(
        "Line chart: per cent of EHC needs assessment decisions made within 6 weeks and of plans issued "
        "within 20 weeks, for each of the last five 12-month periods."))


def volumes_chart(by_year: pd.DataFrame) -> alt.Chart:
    long = _long(by_year, VOLUME_MEASURES, "number")
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("year_label:N", title="12 months to", sort=_year_labels(by_year), axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("measure:N", sort=list(VOLUME_MEASURES.values())),
        y=alt.Y("number:Q", title="Number"),
        color=alt.Color("measure:N", title="", sort=list(VOLUME_MEASURES.values()), legend=alt.Legend(orient="right", labelLimit=0)),
        tooltip=[alt.Tooltip("year_label:N", title="12 months to"), alt.Tooltip("measure:N", title="Measure"),
                 alt.Tooltip("number:Q", title="Number", format=",")],
    ).properties(height=300, description="Grouped bar chart: requests, decisions to assess and plans issued per year.")


def breakdown_chart(breakdown: pd.DataFrame, by: str) -> alt.Chart:
    label = BREAKDOWNS.get(by, by)
    data = breakdown.dropna(subset=["pct_issued_within_20_weeks"]).copy()
    data["pct_issued_within_20_weeks"] = data["pct_issued_within_20_weeks"].astype(float)
    return alt.Chart(data).mark_bar(color="#005EB8").encode(
        y=alt.Y("group_value:N", title=label, sort="x"),
        x=alt.X("pct_issued_within_20_weeks:Q", title="% of plans issued within 20 weeks", scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("group_value:N", title=label),
                 alt.Tooltip("pct_issued_within_20_weeks:Q", title="% within 20 weeks", format=".1f"),
                 alt.Tooltip("plans_issued:Q", title="Plans issued", format=",")],
    ).properties(height=max(160, 30 * len(data)), description=f"Bar chart: per cent of plans issued within 20 weeks by {label.lower()}.")


def reviews_chart(reviews: pd.DataFrame, by: str) -> alt.Chart:
    label = BREAKDOWNS.get(by, by)
    data = reviews.dropna(subset=["pct_overdue"]).copy()
    data["pct_overdue"] = data["pct_overdue"].astype(float)
    return alt.Chart(data).mark_bar(color="#AE2573").encode(
        y=alt.Y("group_value:N", title=label, sort="-x"),
        x=alt.X("pct_overdue:Q", title="% of plans with an overdue annual review"),
        tooltip=[alt.Tooltip("group_value:N", title=label), alt.Tooltip("pct_overdue:Q", title="% overdue", format=".1f"),
                 alt.Tooltip("reviews_overdue:Q", title="Overdue", format=","),
                 alt.Tooltip("plans_in_place:Q", title="Plans in place", format=",")],
    ).properties(height=max(160, 30 * len(data)), description=f"Bar chart: per cent of plans with an overdue review by {label.lower()}.")


def ceased_chart(ceased: pd.DataFrame) -> alt.Chart:
    data = ceased.dropna(subset=["plans_ceased"]).copy()
    data["cease_reason"] = data["cease_reason"].map(cease_reason_name)
    return alt.Chart(data).mark_bar(color="#005EB8").encode(
        y=alt.Y("cease_reason:N", title="Reason", sort="-x"),
        x=alt.X("plans_ceased:Q", title="Plans ceased"),
        tooltip=[alt.Tooltip("cease_reason:N", title="Reason"), alt.Tooltip("plans_ceased:Q", title="Plans", format=",")],
    ).properties(height=max(140, 30 * len(data)), description="Bar chart: EHC plans ceased in the period by reason.")


def disputes_chart(disputes: pd.DataFrame) -> alt.Chart:
    long = _long(disputes, {"mediations": "Mediations", "tribunals": "Tribunal appeals"}, "cases")
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("year_label:N", title="12 months to", sort=_year_labels(disputes), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cases:Q", title="Cases"),
        color=alt.Color("measure:N", title="", legend=alt.Legend(orient="right", labelLimit=0)),
        strokeDash=alt.StrokeDash("measure:N", legend=None),
        tooltip=[alt.Tooltip("year_label:N", title="12 months to"), alt.Tooltip("measure:N", title="Kind"),
                 alt.Tooltip("cases:Q", title="Cases", format=",")],
    ).properties(height=260, description="Line chart: mediations and tribunal appeals per year.")


def disputes_sentence(disputes: pd.DataFrame) -> str:
    data = disputes.sort_values("year_ending")
    if data.empty:
        return ""
    latest = data.iloc[-1]
    return (f"In the 12 months to {year_label(latest['year_ending'])} there were {fmt_count(latest['mediations'])} "
            f"mediations and {fmt_count(latest['tribunals'])} tribunal appeals.")


def volumes_sentence(by_year: pd.DataFrame) -> str:
    data = by_year.sort_values("year_ending")
    if len(data) < 2:
        return ""
    first, latest = data.iloc[0], data.iloc[-1]
    if is_missing(first["requests"]) or is_missing(latest["requests"]):
        return ""
    change = float(latest["requests"]) - float(first["requests"])
    if round(change) == 0:
        trend = "about the same as"
    else:
        trend = f"{fmt_count(abs(change))} {'more' if change > 0 else 'fewer'} than"
    return (f"{fmt_count(latest['requests'])} requests were received in the 12 months to "
            f"{year_label(latest['year_ending'])}, {trend} in the 12 months to {year_label(first['year_ending'])}; "
            f"{fmt_count(latest['plans_issued'])} plans were issued.")
