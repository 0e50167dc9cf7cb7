"""Inequalities (SPEC §3.8): rates by group with 95% confidence intervals against the area rate, and who
is over- or under-represented among EHCPs, long waits and A&E use (``portal.analysis.rates``).

Rates are worked out here from the counts the query returns, which are already suppressed for the
user's role, so a rate is never shown for a hidden count.
"""
from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd

from portal import theme
from portal.analysis import rates
from portal.journeys.common import breakdowns, fmt_number, join_names, rounded_for_display


@dataclass(frozen=True)
class Measure:
    query: str
    kind: str            # "proportion" (per 100) or "rate" (Poisson, per ``per``)
    per: float
    denominator: str     # column holding the group's denominator
    area_denominator: str
    unit: str            # how a value reads: "per 100 children"
    title: str
    phrase: str          # "having an EHCP"
    years_factor: float = 1.0  # person-months -> person-years for annual rates


MEASURES: dict[str, Measure] = {
    "ehcp": Measure("inequalities_ehcp", "proportion", 100, "population", "area_population",
                    "per 100 children", "Children with an EHCP", "having an EHCP"),
    "long_waits": Measure("inequalities_long_waits", "rate", 1000, "population", "area_population",
                          "per 1,000 children", "Waiting over 18 weeks now", "waiting over 18 weeks"),
    "ae": Measure("inequalities_ae", "rate", 1000, "person_months", "area_person_months",
                  "per 1,000 children a year", "A&E attendances", "A&E attendances", years_factor=12.0),
}
BREAKDOWNS = breakdowns("ethnicity", "imd_quintile", "sex", "locality", "age_band", "send_status")
# The EHCP measure is about SEND status, so it cannot be broken down by it.
BREAKDOWNS_FOR = {key: [b for b in BREAKDOWNS if not (key == "ehcp" and b == "send_status")] for key in MEASURES}
REPRESENTATION_ORDER = [rates.OVER, rates.SIMILAR, rates.UNDER, rates.NOT_SHOWN]
REPRESENTATION_COLOURS = [theme.NHS_ORANGE, theme.NHS_MID_GREY, theme.NHS_BLUE, theme.NHS_PALE_GREY]


def breakdown_phrase(by: str) -> str:
    """'ethnicity', 'deprivation quintile', 'SEND status' (acronyms keep their capitals)."""
    label = BREAKDOWNS[by].split(" (")[0]
    return label if label[:2].isupper() else label[0].lower() + label[1:]


def title(measure_key: str, by: str) -> str:
    return f"{MEASURES[measure_key].title} by {breakdown_phrase(by)}, against the area"


def representation_table(df: pd.DataFrame, measure_key: str) -> tuple[pd.DataFrame, float]:
    """Per group: count, denominator, rate and 95% CI, ratio to the area, and the representation label."""
    m = MEASURES[measure_key]
    data = df.copy()
    denominator = pd.to_numeric(data[m.denominator], errors="coerce") / m.years_factor
    data["_denominator"] = denominator
    area_count = pd.to_numeric(data["area_events"], errors="coerce").dropna()
    area_den = pd.to_numeric(data[m.area_denominator], errors="coerce").dropna()
    out, area_rate = rates.representation(
        data, "group_value", "events", "_denominator", kind=m.kind, per=m.per,
        area_count=float(area_count.iloc[0]) if len(area_count) else None,
        area_denominator=float(area_den.iloc[0]) / m.years_factor if len(area_den) else None,
    )
    return out, area_rate


def display_table(table: pd.DataFrame, measure_key: str, by: str) -> pd.DataFrame:
    """The table shown and downloaded; '*' where a count (and so its rate) is hidden."""
    m = MEASURES[measure_key]
    denominator_label = "Child-years" if m.years_factor != 1 else "Children and young people"
    table = table.copy()
    for column in ("count", "denominator"):
        values = table[column].dropna()
        if (values == values.round()).all():  # whole numbers read as counts, not 25.0
            table[column] = table[column].round().astype("Int64")
    shown = table.rename(columns={
        "group": BREAKDOWNS[by], "count": m.title, "denominator": denominator_label,
        "rate": f"Rate {m.unit}", "ci_low": "95% CI lower", "ci_high": "95% CI upper",
        "ratio_to_area": "Times the area rate", "share_of_count": f"% of all {m.phrase}",
        "share_of_population": "% of the population", "representation": "Compared with the area",
    })
    shown = rounded_for_display(shown, decimals=2 if measure_key == "ehcp" else 1)
    return shown.astype(object).where(shown.notna(), "*")


def chart(table: pd.DataFrame, area_rate: float, measure_key: str, by: str) -> alt.Chart | None:
    m = MEASURES[measure_key]
    label = BREAKDOWNS[by]
    data = table.dropna(subset=["rate"]).copy()
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    data["group"] = data["group"].astype(str)
    x_title = f"{m.title}, {m.unit} (95% confidence interval)"
    # The axis spans the intervals and the area's rate, not from zero: the chart compares groups with the area,
    # and from zero every interval at national scale (4.8 to 5.0 per 100) sat in the last few pixels.
    x_scale = alt.Scale(zero=False, nice=True)
    base = alt.Chart(data).encode(y=alt.Y("group:N", title=label, sort=list(data["group"])))
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("ci_low:Q", title=x_title, scale=x_scale), x2=alt.X2("ci_high"),
        color=alt.Color("representation:N", title="Compared with the area", sort=REPRESENTATION_ORDER,
                        scale=alt.Scale(domain=REPRESENTATION_ORDER, range=REPRESENTATION_COLOURS)))
    points = base.mark_point(filled=True, size=90).encode(
        x=alt.X("rate:Q", scale=x_scale),
        color=alt.Color("representation:N", sort=REPRESENTATION_ORDER,
                        scale=alt.Scale(domain=REPRESENTATION_ORDER, range=REPRESENTATION_COLOURS), legend=None),
        shape=alt.Shape("representation:N", sort=REPRESENTATION_ORDER, title="Compared with the area",
                        scale=alt.Scale(domain=REPRESENTATION_ORDER,
                                        range=["triangle-right", "circle", "triangle-left", "square"])),
        tooltip=[alt.Tooltip("group:N", title=label), alt.Tooltip("rate:Q", title=f"Rate {m.unit}", format=".1f"),
                 alt.Tooltip("ci_low:Q", title="95% CI lower", format=".1f"),
                 alt.Tooltip("ci_high:Q", title="95% CI upper", format=".1f"),
                 alt.Tooltip("representation:N", title="Compared with the area")])
    area = alt.Chart(pd.DataFrame({"area": [area_rate], "label": [f"Area: {area_rate:,.1f}"]}))
    rule = area.mark_rule(color=theme.NHS_TEXT, strokeDash=[4, 3]).encode(x=alt.X("area:Q", scale=x_scale))
    # the label goes on the side of the line with more room, so it is not cut off at the chart's edge
    low, high = min(data["ci_low"].min(), area_rate), max(data["ci_high"].max(), area_rate)
    left_of_line = area_rate > (low + high) / 2
    text = area.mark_text(align="right" if left_of_line else "left", dx=-4 if left_of_line else 4, dy=-4,
                          color=theme.NHS_TEXT, baseline="bottom").encode(
        x=alt.X("area:Q", scale=x_scale), y=alt.YValue(0), text=alt.Text("label:N"))
    return alt.layer(bars, points, rule, text).properties(
        height=max(150, 38 * len(data) + 40), description=(
            f"Chart: {m.title.lower()} {m.unit} by {label.lower()}, each with its 95% confidence interval as a line, "
            "against the whole-area rate (dashed line)."))


def summary(table: pd.DataFrame, area_rate: float, measure_key: str, by: str) -> str:
    m = MEASURES[measure_key]
    label = breakdown_phrase(by)
    if table["rate"].dropna().empty:
        return "Too few children match these filters to work out rates safely."
    over = table[table["representation"] == rates.OVER]
    under = table[table["representation"] == rates.UNDER]

    def listed(rows: pd.DataFrame) -> str:
        return join_names([f"{r.group} ({fmt_number(r.rate, 1)})" for r in rows.sort_values("rate", ascending=False)
                           .itertuples()])

    text = f"Across the area, the rate of {m.phrase} is {fmt_number(area_rate, 1)} {m.unit}."
    if not over.empty:
        text += f" By {label}, groups with a higher rate than the area, beyond chance, are {listed(over)}."
    if not under.empty:
        text += f" Groups with a lower rate are {listed(under)}."
    if over.empty and under.empty:
        text += f" No {label} group differs from the area by more than chance would explain."
    hidden = table[table["representation"] == rates.NOT_SHOWN]
    if not hidden.empty:
        text += f" {len(hidden)} group(s) are too small to show."
    return text
