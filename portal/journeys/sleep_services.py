"""Sleep services (SPEC §3.4): melatonin prescribing over time, the other conditions of those children,
and a map of where the need is, to decide where a sleep service should go.

Works on the (already suppressed) frames of the melatonin_* named queries; hidden cells are missing values.
"""
from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd

from portal import maps
from portal.journeys.common import (breakdowns, fmt_count, fmt_number, fmt_pct, is_missing, join_names,
                                   labelled_heatmap, rounded_for_display)

BREAKDOWNS = breakdowns("all", "locality", "send_status", "age_band", "sex", "ethnicity", "imd_quintile",
                        "primary_need", labels={"all": "Everyone (no breakdown)"})
CONDITIONS = ["Asthma", "Obesity", "Autism", "ADHD"]
HIGHLIGHTED_LOCALITIES = 2  # how many of the highest-need localities the map outlines and names

LABELS = {
    "year_label": "12 months to",
    "group_value": "Group",
    "patients": "Children on melatonin",
    "items": "Items dispensed",
    "population": "Children and young people",
    "patients_per_1000": "Per 1,000 children",
    "locality": "Locality",
    "condition": "Condition",
    "with_condition": "Also has",
    "all_patients": "All children on melatonin",
    "pct_of_patients": "% of children on melatonin",
}


def year_label(year_ending) -> str:
    return pd.Timestamp(year_ending).strftime("%b %Y")


def table(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = df.copy()
    if "year_ending" in out.columns:
        out.insert(0, "year_label", out["year_ending"].map(year_label))
    return rounded_for_display(out[[c for c in columns if c in out.columns]].rename(columns=LABELS))


# ------------------------------------------------------------------------------------------ the trend


def year_on_year_changes(by_year: pd.DataFrame, measure: str = "patients") -> list[float]:
    """Change in ``measure`` from each 12-month period to the next (one group, in time order)."""
    values = by_year.sort_values("year_ending")[measure].astype("Float64").tolist()
    return [b - a for a, b in zip(values, values[1:]) if not is_missing(a) and not is_missing(b)]


def rises_every_year(by_year: pd.DataFrame, measure: str = "patients") -> bool:
    changes = year_on_year_changes(by_year, measure)
    return bool(changes) and all(change > 0 for change in changes)


def trend_sentence(by_year_all: pd.DataFrame) -> str:
    data = by_year_all.sort_values("year_ending")
    shown = data.dropna(subset=["patients"])
    if shown.empty:
        return "Too few children were prescribed melatonin with these filters to show the numbers."
    latest = shown.iloc[-1]
    text = (f"In the 12 months to {year_label(latest['year_ending'])}, {fmt_count(latest['patients'])} children "
            f"and young people were prescribed melatonin ({fmt_count(latest['items'])} items")
    if not is_missing(latest["patients_per_1000"]):
        text += f"; {fmt_number(latest['patients_per_1000'], 1)} per 1,000"
    text += ")."
    if len(shown) >= 2:
        first = shown.iloc[0]
        if rises_every_year(shown):
            text += (f" Prescribing has risen every year, from {fmt_count(first['patients'])} children in the "
                     f"12 months to {year_label(first['year_ending'])}.")
        else:
            change = float(latest["patients"]) - float(first["patients"])
            word = "more" if change > 0 else "fewer"
            text += (f" That is {fmt_count(abs(change))} {word} than in the 12 months to "
                     f"{year_label(first['year_ending'])}, though not every year rose.")
    return text


def trend_chart(by_year: pd.DataFrame, by: str) -> alt.Chart:
    data = by_year.dropna(subset=["patients"]).copy()
    data["year_label"] = data["year_ending"].map(year_label)
    order = [year_label(y) for y in sorted(by_year["year_ending"].unique())]
    label = BREAKDOWNS.get(by, by)
    encoding = dict(
        x=alt.X("year_label:N", title="12 months to", sort=order, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("patients:Q", title="Children prescribed melatonin"),
        tooltip=[alt.Tooltip("year_label:N", title="12 months to"), alt.Tooltip("group_value:N", title=label),
                 alt.Tooltip("patients:Q", title="Children", format=","), alt.Tooltip("items:Q", title="Items", format=","),
                 alt.Tooltip("patients_per_1000:Q", title="Per 1,000", format=".1f")],
    )
    if by != "all":
        encoding["color"] = alt.Color("group_value:N", title=label, legend=alt.Legend(orient="right"))
        encoding["strokeDash"] = alt.StrokeDash("group_value:N", legend=None)
    return alt.Chart(data).mark_line(point=True).encode(**encoding).properties(height=320, description=(
        "Line chart: children and young people prescribed melatonin in each 12-month period"
        + ("" if by == "all" else f", one line per {label.lower()}") + "."))


# ----------------------------------------------------------------------------------- comorbidities


def overlap_chart(overlap: pd.DataFrame) -> alt.Chart:
    chart = labelled_heatmap(
        overlap, "pct_of_patients",
        x=alt.X("with_condition:N", title="Also has", sort=CONDITIONS, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("condition:N", title="Condition", sort=CONDITIONS),
        colour_title="% of children on melatonin", scheme="purples",
        white_from=0.6,  # where white text starts to read better than dark on purples (drawn colours measured)
        label_format="{:.0f}%",
        tooltip=[alt.Tooltip("condition:N", title="Condition"), alt.Tooltip("with_condition:N", title="Also has"),
                 alt.Tooltip("patients:Q", title="Children", format=","),
                 alt.Tooltip("pct_of_patients:Q", title="% of children on melatonin", format=".1f")],
    )
    return chart.properties(height=260, description=(
        "Overlap grid: the share of children on melatonin who have each condition (diagonal) and each pair of "
        "conditions (other cells), as a per cent."))


def comorbidity_sentence(overlap: pd.DataFrame) -> str:
    diagonal = overlap[overlap["condition"] == overlap["with_condition"]].dropna(subset=["pct_of_patients"])
    if diagonal.empty:
        return "Too few children were prescribed melatonin with these filters to describe their other conditions."
    ranked = diagonal.sort_values("pct_of_patients", ascending=False)
    shares = [f"{row.condition.lower() if row.condition not in ('ADHD',) else row.condition} "
              f"({fmt_pct(row.pct_of_patients)})" for row in ranked.itertuples()]
    text = f"Of the children on melatonin, the most common other recorded conditions are {join_names(shares)}."
    pairs = overlap[(overlap["condition"] < overlap["with_condition"])].dropna(subset=["pct_of_patients"])
    if not pairs.empty:
        top = pairs.sort_values("pct_of_patients", ascending=False).iloc[0]
        text += (f" The largest overlap is {top['condition']} with {top['with_condition']}: "
                 f"{fmt_pct(top['pct_of_patients'])} have both.")
    return text


# ------------------------------------------------------------------------------------------- the map


def highest_need_localities(need: pd.DataFrame, n: int = HIGHLIGHTED_LOCALITIES) -> list[str]:
    """The ``n`` localities with the highest rate shown (suppressed rates skipped), highest first."""
    shown = need.dropna(subset=["patients_per_1000"])
    ranked = shown.sort_values(["patients_per_1000", "locality"], ascending=[False, True])
    return ranked["locality"].head(n).astype(str).tolist()


def need_sentence(need: pd.DataFrame) -> str:
    top = highest_need_localities(need)
    if not top:
        return "Too few children were prescribed melatonin in each locality to map the need."
    rates = need.set_index("locality")["patients_per_1000"]
    if need["patients_per_1000"].notna().sum() == 1:  # one locality chosen in the filters
        only = top[0]
        return (f"In {only}, {fmt_number(rates[only], 1)} in every 1,000 children and young people were prescribed "
                "melatonin in the period. Clear the locality filter to compare localities on the map.")
    named = [f"{loc} ({fmt_number(rates[loc], 1)} per 1,000)" for loc in top]
    shown = need.dropna(subset=["patients_per_1000"])
    overall = shown["patients"].sum() / shown["population"].sum() * 1000 if shown["population"].sum() else None
    text = f"The need for a sleep service is highest in {join_names(named)}"
    if overall is not None and len(shown) > len(top):
        text += f", against {fmt_number(overall, 1)} per 1,000 across the localities shown"
    return text + ". These are outlined on the map."


def need_map(need: pd.DataFrame, boundaries: dict) -> alt.LayerChart:
    """The choropleth of melatonin patients per 1,000 CYP, highest-need localities outlined and named."""
    joined = maps.join_values(boundaries, need, "locality", ["patients_per_1000", "patients", "population"])
    top = highest_need_localities(need)
    return maps.choropleth(
        joined, "patients_per_1000", "Per 1,000 children", highlight=top,
        tooltip=[("patients", "Children on melatonin", "Q"), ("population", "Children and young people", "Q")],
        area_title="Locality",
        description=("Map of the localities shaded by children prescribed melatonin per 1,000; darker is higher. "
                     + (f"Outlined: {join_names(top)}." if top else "")),
    )


def boundaries_path(version_path: Path) -> Path | None:
    """The boundary file shipped with a mart version (GeoJSON preferred, else TopoJSON), if any."""
    for name in ("boundaries.geojson", "boundaries.topojson", "boundaries.topo.json", "boundaries.json"):
        path = version_path / name
        if path.exists():
            return path
    return None


def load_locality_boundaries(version_path: Path) -> dict | None:
    path = boundaries_path(version_path)
    if path is None:
        return None
    return maps.load_boundaries(path, name_property="locality")


def group_trend_sentence(by_year: pd.DataFrame, by: str) -> str:
    """Which group rose most between the first and latest 12-month periods shown."""
    label = BREAKDOWNS.get(by, by).lower()
    data = by_year.dropna(subset=["patients_per_1000"]).sort_values("year_ending")
    if data.empty:
        return ""
    first_year, last_year = data["year_ending"].min(), data["year_ending"].max()
    first = data[data["year_ending"] == first_year].set_index("group_value")["patients_per_1000"]
    last = data[data["year_ending"] == last_year].set_index("group_value")["patients_per_1000"]
    both = [g for g in last.index if g in first.index]
    if not both or first_year == last_year:
        return ""
    rises = {g: float(last[g]) - float(first[g]) for g in both}
    top = max(rises, key=rises.get)
    highest = max(both, key=lambda g: float(last[g]))
    return (f"By {label}, the rate is highest now for {highest} ({fmt_number(last[highest], 1)} per 1,000) "
            f"and rose most for {top} (up {fmt_number(rises[top], 1)} per 1,000 since the 12 months to "
            f"{year_label(first_year)}).")
