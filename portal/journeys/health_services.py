"""Health services use (SPEC §3.6): A&E and GP contact rates for children with and without SEND, and the
impact view (interrupted time series, ``portal.analysis.its``) for "did the change on date X work?".
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from portal import theme
from portal.analysis import its
from portal.journeys.common import breakdowns, fmt_number, grouped_bar_chart_height, rounded_for_display

AXIS_TITLES = {"ae_per_1000": "A&E per 1,000 a month", "gp_per_1000": "GP consultations per 1,000 a month"}
MEASURES: dict[str, str] = {
    "ae_per_1000": "A&E attendances per 1,000 a month",
    "gp_per_1000": "GP consultations per 1,000 a month",
}
MEASURE_PHRASES = {"ae_per_1000": "A&E attendances per 1,000 children a month",
                   "gp_per_1000": "GP consultations per 1,000 children a month"}
GROUP_ORDER = ["SEND", "EHCP", "SEN support", "No SEND"]
GROUP_COLOURS = {"SEND": theme.NHS_BLUE, **theme.SEND_STATUS_COLOURS}
GROUP_PHRASES = {"SEND": "children with SEND", "EHCP": "children with an EHCP",
                 "SEN support": "children on SEN support", "No SEND": "children without SEND"}
SPLITS = {"send_group": "SEND and no SEND", "send_status": "EHCP, SEN support and no SEND"}
BREAKDOWNS = breakdowns("locality", "age_band", "sex", "ethnicity", "imd_quintile", "primary_need")
SEASONALITY_LABELS = {"auto": "Allow for the time of year (recommended)", "month": "Month-by-month pattern",
                      "none": "Do not allow for the time of year"}
LABELS = {
    "month": "Month",
    "group_value": "Group",
    "send_group": "SEND",
    "n_people": "Children and young people",
    "person_months": "Child-months",
    "ae_attendances": "A&E attendances",
    "gp_contacts": "GP consultations",
    "ae_per_1000": "A&E per 1,000 a month",
    "gp_per_1000": "GP consultations per 1,000 a month",
}


def table(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = df[[c for c in columns if c in df.columns]].copy()
    if "month" in out.columns:
        out["month"] = pd.to_datetime(out["month"]).dt.strftime("%b %Y")
    return rounded_for_display(out.rename(columns=LABELS))


def group_label(group: str) -> str:
    """'Children with SEND' (str.capitalize would lower the acronym)."""
    phrase = GROUP_PHRASES.get(group, group)
    return phrase[:1].upper() + phrase[1:]


def _groups(data: pd.DataFrame) -> list[str]:
    present = set(data["group_value"])
    return [g for g in GROUP_ORDER if g in present]


def trend_chart(df: pd.DataFrame, measure: str) -> alt.Chart | None:
    data = df.dropna(subset=[measure]).copy()
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    groups = _groups(data)
    return alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
        x=alt.X("month:T", title="Month"),
        y=alt.Y(f"{measure}:Q", title=AXIS_TITLES[measure]),
        color=alt.Color("group_value:N", title="Group", sort=groups,
                        scale=alt.Scale(domain=groups, range=[GROUP_COLOURS[g] for g in groups])),
        strokeDash=alt.StrokeDash("group_value:N", sort=groups, legend=None),
        tooltip=[alt.Tooltip("month:T", title="Month", format="%B %Y"), alt.Tooltip("group_value:N", title="Group"),
                 alt.Tooltip(f"{measure}:Q", title=MEASURES[measure], format=".1f")],
    ).properties(height=320, description=f"Line chart: {MEASURES[measure]} each month, one line per group.")


def _figures_by_group(data: pd.DataFrame, measure: str) -> dict[str, list[tuple]]:
    """Each group's (month, figure) pairs in row order (a dict of lists: filtering the frame once per group
    and span in pandas took about 8 ms a summary)."""
    by_group: dict[str, list[tuple]] = {}
    for group, month, value in zip(data["group_value"], data["month"].to_numpy(), data[measure].to_numpy()):
        by_group.setdefault(group, []).append((month, value))
    return by_group


def _mean_over(by_group: dict[str, list[tuple]], group: str, months: list) -> float | None:
    wanted = set(months)
    values = [float(value) for month, value in by_group.get(group, ()) if month in wanted]
    return float(np.mean(values)) if values else None  # numpy's summation, as pandas' mean used


def trend_summary(df: pd.DataFrame, measure: str) -> str:
    """First and last 12 months shown, children with SEND against children without; notes a crossover."""
    data = df.dropna(subset=[measure])
    months = sorted(data["month"].unique())
    groups = _groups(data)
    if not months or "No SEND" not in groups or len(groups) < 2:
        return "Too few children match these filters to compare children with and without SEND safely."
    by_group = _figures_by_group(data, measure)
    send_group = "SEND" if "SEND" in groups else groups[0]
    phrase = MEASURE_PHRASES[measure]
    span = min(12, max(1, len(months) // 2))
    first, last = months[:span], months[-span:]
    f_send, f_none = _mean_over(by_group, send_group, first), _mean_over(by_group, "No SEND", first)
    l_send, l_none = _mean_over(by_group, send_group, last), _mean_over(by_group, "No SEND", last)
    if None in (l_send, l_none):
        return "Too few months have figures shown to compare children with and without SEND."
    last_label = f"the latest {span} months" if span > 1 else pd.Timestamp(last[0]).strftime("%B %Y")
    who = GROUP_PHRASES[send_group]
    text = (f"In {last_label}, {who} had {fmt_number(l_send, 1)} {phrase}, against {fmt_number(l_none, 1)} for "
            f"children without SEND.")
    if len(months) >= 2 * span and None not in (f_send, f_none):
        start = pd.Timestamp(first[0]).strftime("%B %Y")
        if (f_send > f_none) != (l_send > l_none):  # the groups swapped places
            text += (f" That has turned around: from {start} it was {fmt_number(f_send, 1)} against "
                     f"{fmt_number(f_none, 1)}, so {who} went from {'more' if f_send > f_none else 'fewer'} "
                     f"to {'more' if l_send > l_none else 'fewer'} visits than other children.")
        else:
            text += (f" In the first {span} months shown (from {start}) it was {fmt_number(f_send, 1)} against "
                     f"{fmt_number(f_none, 1)}.")
    return text


def group_chart(df: pd.DataFrame, measure: str, label: str) -> alt.Chart | None:
    data = df.dropna(subset=[measure]).copy()
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    order = [g for g in ("SEND", "No SEND") if g in set(data["send_group"])]
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("group_value:N", title=label),
        yOffset=alt.YOffset("send_group:N", sort=order),
        x=alt.X(f"{measure}:Q", title=MEASURES[measure]),
        color=alt.Color("send_group:N", title="Group", sort=order,
                        scale=alt.Scale(domain=order, range=[GROUP_COLOURS[g] for g in order])),
        tooltip=[alt.Tooltip("group_value:N", title=label), alt.Tooltip("send_group:N", title="Group"),
                 alt.Tooltip(f"{measure}:Q", title=MEASURES[measure], format=".1f")],
    ).properties(height=grouped_bar_chart_height(len(data)),
                 description=f"Bar chart: {MEASURES[measure]} by {label.lower()}, children with and without SEND.")


def group_sentence(df: pd.DataFrame, measure: str, label: str) -> str:
    send = df[df["send_group"] == "SEND"].dropna(subset=[measure])
    if send.empty:
        return f"Too few children with SEND in each {label.lower()} group to compare safely."
    ordered = send.sort_values(measure, ascending=False)
    top, bottom = ordered.iloc[0], ordered.iloc[-1]
    return (f"Among children with SEND over the period, the highest rate is in {top['group_value']} "
            f"({fmt_number(top[measure], 1)} {MEASURE_PHRASES[measure]}) and the lowest in "
            f"{bottom['group_value']} ({fmt_number(bottom[measure], 1)}).")


# ------------------------------------------------------------------------------------------- impact view
@dataclass
class Impact:
    result: its.ITSResult | None
    message: str = ""   # why there is no result, in plain English


def impact_series(df: pd.DataFrame, group: str, measure: str, start: dt.date | None = None,
                  end: dt.date | None = None) -> pd.DataFrame:
    """The monthly series for one group and measure inside the chosen window (months as dates)."""
    data = df[df["group_value"] == group][["month", measure]].rename(columns={measure: "value"}).copy()
    data["month"] = pd.to_datetime(data["month"])
    if start is not None:
        data = data[data["month"] >= pd.Timestamp(start)]
    if end is not None:
        data = data[data["month"] <= pd.Timestamp(end)]
    return data.sort_values("month").reset_index(drop=True)


def run_impact(series: pd.DataFrame, intervention: dt.date, seasonality: str = "auto") -> Impact:
    """Fit the interrupted time series; a short or empty series gives a message instead of an error.

    The fit (statsmodels, with an AR(1) error search) took 150-180 ms at county scale and the page redrew it
    on every rerun, even when only another block's filter moved; fits are kept by their exact inputs."""
    months = tuple(pd.to_datetime(series["month"]).dt.strftime("%Y-%m-%d"))
    values = tuple(None if pd.isna(v) else float(v) for v in series["value"])
    return _fitted_impact(months, values, intervention, seasonality)


@functools.lru_cache(maxsize=256)
def _fitted_impact(months: tuple[str, ...], values: tuple[float | None, ...], intervention: dt.date,
                   seasonality: str) -> Impact:
    if all(v is None for v in values):
        return Impact(None, "There are no months with figures shown for this group and these filters.")
    series = pd.DataFrame({"month": pd.to_datetime(list(months)),
                           "value": [float("nan") if v is None else v for v in values]})
    try:
        return Impact(its.fit_its(series, intervention, value_col="value", seasonality=seasonality))
    except its.SeriesTooShortError as exc:
        return Impact(None, str(exc))


def impact_chart(result: its.ITSResult, measure: str, group: str) -> alt.Chart | None:
    lines = result.lines.copy()
    lines["month"] = pd.to_datetime(lines["month"])
    observed = lines[["month", "observed"]].rename(columns={"observed": "value"}).assign(series="Recorded")
    fitted = lines[["month", "fitted", "segment"]].rename(columns={"fitted": "value"}).assign(series="Model")
    expected = lines.dropna(subset=["counterfactual"])[["month", "counterfactual"]].rename(
        columns={"counterfactual": "value"}).assign(series="Expected if nothing changed")
    domain = ["Recorded", "Model", "Expected if nothing changed"]
    colours = [theme.NHS_MID_GREY, theme.NHS_BLUE, theme.NHS_ORANGE]
    y_title = AXIS_TITLES[measure]
    colour = alt.Color("series:N", title="", sort=domain, scale=alt.Scale(domain=domain, range=colours),
                       legend=alt.Legend(labelLimit=0))
    tooltip = [alt.Tooltip("month:T", title="Month", format="%B %Y"), alt.Tooltip("series:N", title=""),
               alt.Tooltip("value:Q", title=y_title, format=".1f")]
    points = alt.Chart(observed).mark_point(filled=True, size=36).encode(
        x=alt.X("month:T", title="Month"), y=alt.Y("value:Q", title=y_title), color=colour,
        shape=alt.Shape("series:N", sort=domain, legend=None), tooltip=tooltip)
    model = alt.Chart(fitted).mark_line(strokeWidth=2.5).encode(
        x=alt.X("month:T"), y=alt.Y("value:Q"), color=colour, detail=alt.Detail("segment:N"),
        tooltip=tooltip)
    counterfactual = alt.Chart(expected).mark_line(strokeWidth=2.5, strokeDash=[6, 4]).encode(
        x=alt.X("month:T"), y=alt.Y("value:Q"), color=colour, tooltip=tooltip)
    change = pd.DataFrame({"month": [pd.Timestamp(result.intervention)], "label": ["Change"]})
    rule = alt.Chart(change).mark_rule(color=theme.NHS_TEXT, strokeDash=[2, 2]).encode(x=alt.X("month:T"))
    label = alt.Chart(change).mark_text(align="left", dx=4, dy=-6, color=theme.NHS_TEXT).encode(
        x=alt.X("month:T"), y=alt.YValue(8), text=alt.Text("label:N"))
    return alt.layer(points, model, counterfactual, rule, label).properties(
        height=340, description=(
            f"Chart: {y_title} for {GROUP_PHRASES.get(group, group)} each month (points), the model's fitted line "
            f"before and after {result.intervention:%B %Y} (solid), and what the model expects had nothing "
            "changed (dashed)."))


EFFECT_COLUMNS = ["Measure of change", "Estimate", "95% CI lower", "95% CI upper", "Bigger than chance?"]


def effect_table(result: its.ITSResult) -> pd.DataFrame:
    """The three effects with their 95% confidence intervals, as shown and downloaded."""
    rows = [
        ("Jump when the change happened (level change)", result.level_change),
        ("Change in the monthly trend (slope change)", result.slope_change),
        (f"Difference from expected by {result.lines['month'].iloc[-1]:%B %Y}", result.effect_at_end),
    ]
    return pd.DataFrame([
        {EFFECT_COLUMNS[0]: name, EFFECT_COLUMNS[1]: round(e.estimate, 2), EFFECT_COLUMNS[2]: round(e.ci_low, 2),
         EFFECT_COLUMNS[3]: round(e.ci_high, 2), EFFECT_COLUMNS[4]: "Yes" if e.excludes_zero else "No (could be chance)"}
        for name, e in rows
    ])


def lines_table(result: its.ITSResult) -> pd.DataFrame:
    out = result.lines.copy()
    out["month"] = pd.to_datetime(out["month"]).dt.strftime("%b %Y")
    out["segment"] = out["segment"].map({"before": "Before", "after": "After"})
    out = out.rename(columns={"month": "Month", "observed": "Recorded", "fitted": "Model",
                              "counterfactual": "Expected without the change", "segment": "Before or after"})
    out = rounded_for_display(out, decimals=2)
    return out.astype(object).where(out.notna(), "")


def impact_summary(result: its.ITSResult, measure: str, group: str) -> str:
    return its.describe(result, f"{MEASURE_PHRASES[measure]} for {GROUP_PHRASES.get(group, group)}")


def default_intervention(months: list) -> dt.date:
    """The middle month of the series: a neutral starting point until the user picks their date."""
    ordered = sorted(pd.to_datetime(pd.Series(months)).dt.date.unique())
    return ordered[len(ordered) // 2] if ordered else dt.date.today().replace(day=1)
