"""Transitions 14-25 (SPEC §3.9): GP and A&E contact by age across 18, and who leaves children's services
without adult follow-up.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from portal import theme
from portal.journeys.common import breakdowns, fmt_count, fmt_number, fmt_pct, is_missing, rounded_for_display

MEASURES = {"gp_per_person_year": "GP consultations per person a year",
            "ae_per_person_year": "A&E attendances per person a year"}
MEASURE_PHRASES = {"gp_per_person_year": "GP consultations", "ae_per_person_year": "A&E attendances"}
GROUP_ORDER = ["SEND", "EHCP", "SEN support", "No SEND"]
GROUP_COLOURS = {"SEND": theme.NHS_BLUE, **theme.SEND_STATUS_COLOURS}
GROUP_PHRASES = {"SEND": "young people with SEND", "EHCP": "young people with an EHCP",
                 "SEN support": "young people on SEN support", "No SEND": "young people without SEND"}
SPLITS = {"send_group": "SEND and no SEND", "send_status": "EHCP, SEN support and no SEND"}
FOLLOWUP_BREAKDOWNS = breakdowns("year", "locality", "sex", "ethnicity", "imd_quintile", "send_status", "primary_need",
                                 labels={"year": "Year they turned 18", "send_status": "SEND status before 18"})
LABELS = {
    "age": "Age",
    "group_value": "Group",
    "person_years": "Person-years",
    "gp_contacts": "GP consultations",
    "ae_attendances": "A&E attendances",
    "gp_per_person_year": "GP consultations per person a year",
    "ae_per_person_year": "A&E attendances per person a year",
    "young_people": "Young people with SEND who turned 18",
    "left_childrens_services": "In children's services before 18",
    "left_without_follow_up": "No GP consultation in the year after 18",
    "pct_left_without_follow_up": "% with no follow-up",
}


def table(df: pd.DataFrame, columns: list[str], group_label: str | None = None) -> pd.DataFrame:
    labels = {**LABELS, **({"group_value": group_label} if group_label else {})}
    return rounded_for_display(df[[c for c in columns if c in df.columns]].rename(columns=labels), decimals=2)


def age_chart(df: pd.DataFrame, measure: str) -> alt.Chart | None:
    data = df.dropna(subset=[measure]).copy()
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    present = set(data["group_value"])
    groups = [g for g in GROUP_ORDER if g in present]
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("age:O", title="Age (years)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{measure}:Q", title=MEASURES[measure]),
        color=alt.Color("group_value:N", title="Group", sort=groups,
                        scale=alt.Scale(domain=groups, range=[GROUP_COLOURS[g] for g in groups])),
        strokeDash=alt.StrokeDash("group_value:N", sort=groups, legend=None),
        shape=alt.Shape("group_value:N", sort=groups, legend=None),
        tooltip=[alt.Tooltip("age:O", title="Age"), alt.Tooltip("group_value:N", title="Group"),
                 alt.Tooltip(f"{measure}:Q", title=MEASURES[measure], format=".2f")],
    )
    eighteen = alt.Chart(pd.DataFrame({"age": [18], "label": ["18th birthday"]}))
    rule = eighteen.mark_rule(color=theme.NHS_TEXT, strokeDash=[2, 2]).encode(x=alt.X("age:O"))
    label = eighteen.mark_text(align="left", dx=4, y=8, color=theme.NHS_TEXT).encode(
        x=alt.X("age:O"), text=alt.Text("label:N"))
    return alt.layer(lines, rule, label).properties(height=320, description=(
        f"Line chart: {MEASURES[measure].lower()} at each age from 14 to 25, one line per group; "
        "a dashed line marks the 18th birthday."))


def _rate_at(df: pd.DataFrame, group: str, age: int, measure: str):
    """The measure on the first row for the group and age (found on arrays: selecting the rows as a frame,
    six times a summary, took about 11 ms)."""
    found = np.flatnonzero((df["group_value"].to_numpy() == group) & (df["age"].to_numpy() == age))
    if not len(found):
        return None
    value = df[measure].iloc[found[0]]
    return None if is_missing(value) else float(value)


def drop_at_18(df: pd.DataFrame, measure: str, group: str = "SEND") -> dict | None:
    """Rates at 17 and 19 for a group and the relative change (negative = a drop)."""
    at17, at19 = _rate_at(df, group, 17, measure), _rate_at(df, group, 19, measure)
    if at17 is None or at19 is None or at17 == 0:
        return None
    return {"at_17": at17, "at_19": at19, "change_pct": 100.0 * (at19 - at17) / at17}


def age_summary(df: pd.DataFrame) -> str:
    groups = set(df["group_value"])
    send_group = "SEND" if "SEND" in groups else next((g for g in ("EHCP", "SEN support") if g in groups), None)
    if send_group is None:
        return "Choose a SEND status other than \u201cNo SEND\u201d to follow young people with SEND across 18."
    parts = []
    for measure in ("gp_per_person_year", "ae_per_person_year"):
        change = drop_at_18(df, measure, send_group)
        if change is None:
            continue
        direction = "fall" if change["change_pct"] < 0 else "rise"
        parts.append(f"{MEASURE_PHRASES[measure]} {direction} from {fmt_number(change['at_17'], 2)} a year at 17 to "
                     f"{fmt_number(change['at_19'], 2)} at 19 ({fmt_number(abs(change['change_pct']))}% "
                     f"{'lower' if change['change_pct'] < 0 else 'higher'})")
    if not parts:
        return "Too few young people match these filters to compare contact before and after 18 safely."
    text = f"For {GROUP_PHRASES[send_group]}, " + "; ".join(parts) + "."
    other = drop_at_18(df, "gp_per_person_year", "No SEND")
    if other is not None:
        direction = "fall" if other["change_pct"] < 0 else "rise"
        text += (f" For young people without SEND, GP consultations {direction} by "
                 f"{fmt_number(abs(other['change_pct']))}% over the same birthday.")
    return text


def followup_chart(df: pd.DataFrame, by: str) -> alt.Chart | None:
    data = df.dropna(subset=["pct_left_without_follow_up"]).copy()
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    label = FOLLOWUP_BREAKDOWNS[by]
    return alt.Chart(data).mark_bar(color=theme.NHS_BLUE).encode(
        x=alt.X("group_value:N", title=label, axis=alt.Axis(labelAngle=0 if by in ("year", "sex") else -30)),
        y=alt.Y("pct_left_without_follow_up:Q", title="% with no GP visit after 18"),
        tooltip=[alt.Tooltip("group_value:N", title=label),
                 alt.Tooltip("pct_left_without_follow_up:Q", title="% with no follow-up", format=".0f"),
                 alt.Tooltip("left_childrens_services:Q", title="In children's services before 18", format=","),
                 alt.Tooltip("left_without_follow_up:Q", title="No follow-up", format=",")],
    ).properties(height=300, description=(
        f"Bar chart: of young people with SEND in children's services before 18, the percentage with no GP "
        f"consultation in the year after, by {label.lower()}."))


def followup_summary(df: pd.DataFrame, by: str) -> str:
    counts = df.dropna(subset=["left_childrens_services", "left_without_follow_up"])
    if counts.empty:
        return "Too few young people match these filters to show follow-up after 18 safely."
    left = counts["left_childrens_services"].sum()
    without = counts["left_without_follow_up"].sum()
    text = (f"Of {fmt_count(left)} young people with SEND who were in children's community services before 18, "
            f"{fmt_count(without)} ({fmt_pct(100.0 * without / left if left else float('nan'))}) had no GP "
            "consultation in the year after their 18th birthday.")
    shown = df.dropna(subset=["pct_left_without_follow_up"])
    if len(shown) >= 2 and by != "year":
        top = shown.sort_values("pct_left_without_follow_up", ascending=False).iloc[0]
        text += (f" The share is highest for {top['group_value']} "
                 f"({fmt_pct(top['pct_left_without_follow_up'])}).")
    elif len(shown) >= 2:
        latest = shown.sort_values("group_value").iloc[-1]
        text += (f" For those who turned 18 in {latest['group_value']}, it was "
                 f"{fmt_pct(latest['pct_left_without_follow_up'])}.")
    return text
