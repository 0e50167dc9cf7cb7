"""Waiting lists (SPEC §3.2): who is waiting now, for how long, where; and what helps while they wait.

Everything here works on the DataFrames the named queries return (already suppressed for the role, with
hidden cells as missing values), so the page only reads filters, runs queries and draws.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import pandas as pd

from portal import config
from portal.journeys.common import (breakdowns, fmt_count, fmt_number, fmt_pct, is_missing, labelled_heatmap, melted,
                                    records, rounded_for_display)
from portal.theme import colour_if

# The community services of SPEC §3.2, by the codes in fct_referrals.service.
SERVICES: dict[str, str] = {
    "ASD": "Autism assessment",
    "ADHD": "ADHD assessment",
    "CAMHS": "CAMHS (children's mental health)",
    "SLT": "Speech and language therapy",
    "OT": "Occupational therapy",
    "PHYSIO": "Physiotherapy",
    "PAEDS": "Community paediatrics",
}

# How a breakdown chooser names the standard dimensions (the query's `by` parameter allow-list).
BREAKDOWNS = breakdowns("locality", "send_status", "age_band", "sex", "ethnicity", "imd_quintile", "primary_need")

# The wait bands of the distribution chart, in order (they match queries/wait_distribution.yaml).
WAIT_BANDS = ["0-6 weeks", "6-12 weeks", "12-18 weeks", "18-26 weeks", "26-52 weeks", "52-78 weeks",
              "78-104 weeks", "104+ weeks"]

SCHEMES_FILE = config.REFERENCE_DIR / "waiting_well_schemes.csv"
SCHEME_COLUMNS = ["scheme", "service", "locality", "description", "how_to_access", "contact"]

LABELS = {
    "service_name": "Service",
    "n_waiting": "Waiting now",
    "median_wait_weeks": "Median wait (weeks)",
    "n_over_18_weeks": "Waiting over 18 weeks",
    "pct_over_18_weeks": "% over 18 weeks",
    "n_over_52_weeks": "Waiting over 52 weeks",
    "pct_over_52_weeks": "% over 52 weeks",
    "n_waiting_year_ago": "Waiting a year ago",
    "median_wait_weeks_year_ago": "Median wait a year ago (weeks)",
    "group_value": "Group",
    "wait_band": "Time waited so far",
    "month": "Month (count at its end)",
    "locality": "Locality",
    "pseudo_id": "Pseudonymous ID",
    "age_band": "Age band",
    "send_status": "SEND status",
    "referral_date": "Referred on",
    "wait_weeks": "Weeks waited",
}


def service_name(code: str) -> str:
    return SERVICES.get(code, code)


def service_phrase(code: str) -> str:
    """The service name as it reads mid-sentence ("waiting for autism assessment", "for ADHD assessment")."""
    name = service_name(code)
    first, _, rest = name.partition(" ")
    return name if first.isupper() else (first.lower() + (" " + rest if rest else ""))


# ------------------------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class LongestWait:
    locality: str
    median_weeks: float
    year_ago_weeks: float | None

    @property
    def change_weeks(self) -> float | None:
        if self.year_ago_weeks is None:
            return None
        return self.median_weeks - self.year_ago_weeks


def _shown_for(by_locality_service: pd.DataFrame, service: str) -> list[dict]:
    """The service's rows with a median shown."""
    return [row for row in records(by_locality_service)
            if row["service"] == service and not is_missing(row["median_wait_weeks"])]


def longest_wait_locality(by_locality_service: pd.DataFrame, service: str) -> LongestWait | None:
    """The locality with the longest median wait for ``service`` among those shown (suppressed ones skipped);
    equal medians go to the locality first in alphabetical order."""
    rows = _shown_for(by_locality_service, service)
    if not rows:
        return None
    top = min(rows, key=lambda row: (-float(row["median_wait_weeks"]), str(row["locality"])))
    year_ago = top.get("median_wait_weeks_year_ago")
    return LongestWait(locality=str(top["locality"]), median_weeks=float(top["median_wait_weeks"]),
                       year_ago_weeks=None if is_missing(year_ago) else float(year_ago))


def localities_shown(by_locality_service: pd.DataFrame, service: str) -> int:
    """How many localities have a median shown for the service (one when the filters pick a locality)."""
    return len(_shown_for(by_locality_service, service))


def longest_wait_sentence(service: str, longest: LongestWait | None, localities_shown: int = 2) -> str:
    name = service_phrase(service)
    if longest is None:
        return f"There are too few children waiting for {name} in any locality to compare localities."
    if localities_shown <= 1:  # one locality chosen in the filters: nothing to compare it with here
        sentence = (f"In {longest.locality}, the median wait for {name} is "
                    f"{fmt_number(longest.median_weeks)} weeks")
    else:
        sentence = (f"Waits for {name} are longest in {longest.locality}: "
                    f"median {fmt_number(longest.median_weeks)} weeks")
    change = longest.change_weeks
    if change is None:
        return sentence + "."
    if round(change) == 0:
        return sentence + ", about the same as a year ago."
    direction = "up" if change > 0 else "down"
    return sentence + f", {direction} {fmt_number(abs(change))} weeks on a year ago."


def waiting_summary(service: str, by_service: pd.DataFrame, by_locality_service: pd.DataFrame) -> str:
    """The one-paragraph plain-English summary of the page for the chosen service."""
    services = records(by_service)
    r = next((row for row in services if row["service"] == service), None)
    if r is None or is_missing(r["n_waiting"]):
        opening = (f"Too few children and young people are waiting for {service_phrase(service)} with these filters "
                   "to show the numbers safely.")
        return opening
    parts = [f"Right now {fmt_count(r['n_waiting'])} children and young people are waiting for "
             f"{service_phrase(service)}."]
    if not is_missing(r["median_wait_weeks"]):
        parts.append(f"Half of them have waited more than {fmt_number(r['median_wait_weeks'])} weeks.")
    pct18, pct52 = r.get("pct_over_18_weeks"), r.get("pct_over_52_weeks")
    if not is_missing(pct18):
        tail = f" and {fmt_pct(pct52)} over a year" if not is_missing(pct52) else ""
        parts.append(f"{fmt_pct(pct18)} have waited over 18 weeks{tail}.")
    parts.append(longest_wait_sentence(service, longest_wait_locality(by_locality_service, service),
                                       localities_shown(by_locality_service, service)))
    shown = [row for row in services if not is_missing(row["median_wait_weeks"])]
    top = max(shown, key=lambda row: float(row["median_wait_weeks"])) if shown else None  # the first of equals
    if top is not None and top["service"] != service:
        parts.append(f"Across all services, the longest median wait is for {service_phrase(top['service'])} "
                     f"({fmt_number(top['median_wait_weeks'])} weeks).")
    return " ".join(parts)


def trend_sentence(trend: pd.DataFrame, service: str) -> str:
    """How the number waiting changed over the months shown."""
    shown = trend.dropna(subset=["n_waiting"]).sort_values("month")
    if len(shown) < 2:
        return "There are not enough months with numbers shown to describe a trend."
    first, last = shown.iloc[0], shown.iloc[-1]
    change = last["n_waiting"] - first["n_waiting"]
    direction = "risen" if change > 0 else "fallen" if change < 0 else "stayed the same"
    first_month = pd.Timestamp(first["month"]).strftime("%B %Y")
    last_month = pd.Timestamp(last["month"]).strftime("%B %Y")
    text = (f"The number waiting for {service_phrase(service)} has {direction}: "
            f"{fmt_count(first['n_waiting'])} at the end of {first_month}, {fmt_count(last['n_waiting'])} "
            f"at the end of {last_month}.")
    return text


# -------------------------------------------------------------------------------------------- tables


def table(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The shown columns, renamed to plain-English headings."""
    out = df[[c for c in columns if c in df.columns]].copy()
    if "month" in out.columns:
        out["month"] = pd.to_datetime(out["month"]).dt.strftime("%b %Y")
    if "service" in out.columns:
        out["service"] = out["service"].map(service_name)
    return rounded_for_display(out.rename(columns={**LABELS, "service": "Service"}))


# -------------------------------------------------------------------------------------------- charts


def distribution_chart(distribution: pd.DataFrame, service: str) -> alt.Chart:
    data = distribution.dropna(subset=["n_waiting"])
    over = colour_if(alt.FieldOneOfPredicate(field="wait_band", oneOf=WAIT_BANDS[:3]), "#005EB8", "#AE2573")
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("wait_band:N", sort=WAIT_BANDS, title="Time waited so far", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("n_waiting:Q", title="Children waiting"),
        color=over,
        tooltip=[alt.Tooltip("wait_band:N", title="Waited"), alt.Tooltip("n_waiting:Q", title="Children", format=",")],
    ).properties(height=320, description=(
        f"Bar chart: how long children waiting for {service_phrase(service)} have waited so far. "
        "Bars from 18 weeks on are in pink."))


def breakdown_chart(breakdown: pd.DataFrame, by: str) -> alt.Chart:
    label = BREAKDOWNS.get(by, by)
    data = breakdown.dropna(subset=["median_wait_weeks"])
    return alt.Chart(data).mark_bar(color="#005EB8").encode(
        y=alt.Y("group_value:N", title=label, sort="-x", axis=alt.Axis(labelLimit=260)),
        x=alt.X("median_wait_weeks:Q", title="Median wait so far (weeks)"),
        tooltip=[alt.Tooltip("group_value:N", title=label),
                 alt.Tooltip("median_wait_weeks:Q", title="Median wait (weeks)", format=".1f"),
                 alt.Tooltip("n_waiting:Q", title="Waiting now", format=","),
                 alt.Tooltip("pct_over_18_weeks:Q", title="% over 18 weeks", format=".1f")],
    ).properties(height=max(160, 34 * len(data)), description=f"Bar chart of median wait by {label.lower()}.")


def trend_chart(trend: pd.DataFrame, service: str) -> alt.Chart:
    long = melted(trend, ["month"], ["n_waiting", "n_over_18_weeks", "n_over_52_weeks"], "measure", "children")
    long["measure"] = long["measure"].map({"n_waiting": "All waiting", "n_over_18_weeks": "Over 18 weeks",
                                           "n_over_52_weeks": "Over 52 weeks"})
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("month:T", title="Month end"),
        y=alt.Y("children:Q", title="Children waiting"),
        color=alt.Color("measure:N", title="", sort=["All waiting", "Over 18 weeks", "Over 52 weeks"]),
        strokeDash=alt.StrokeDash("measure:N", legend=None),
        tooltip=[alt.Tooltip("month:T", title="Month", format="%B %Y"), alt.Tooltip("measure:N", title="Measure"),
                 alt.Tooltip("children:Q", title="Children", format=",")],
    ).properties(height=320, description=(
        f"Line chart: children waiting for {service_phrase(service)} at each month end, "
        "all, over 18 weeks and over 52 weeks."))


# A heat map's columns are read one by one; at national scale 106 localities across made the labels and
# values overlap into an unreadable band. Beyond this many, the map shows the localities with the longest
# waits for the chosen service, in that order, and says so; the table below it lists every locality.
HEATMAP_MOST_LOCALITIES = 10


def heatmap_localities(by_locality_service: pd.DataFrame, service: str) -> list[str]:
    """The localities the heat map shows, left to right: all of them in alphabetical order, or, when there
    are more than :data:`HEATMAP_MOST_LOCALITIES`, those with the longest median wait for ``service``
    (longest first; ties and hidden medians in alphabetical order, hidden ones last)."""
    localities = sorted({str(locality) for locality in by_locality_service["locality"]})
    if len(localities) <= HEATMAP_MOST_LOCALITIES:
        return localities
    waits = {str(row["locality"]): float(row["median_wait_weeks"])
             for row in _shown_for(by_locality_service, service)}
    ranked = sorted(localities, key=lambda locality: (locality not in waits, -waits.get(locality, 0.0), locality))
    return ranked[:HEATMAP_MOST_LOCALITIES]


def heatmap_chart(by_locality_service: pd.DataFrame, service: str) -> alt.Chart:
    localities = heatmap_localities(by_locality_service, service)
    all_localities = by_locality_service["locality"].nunique()
    data = by_locality_service[by_locality_service["locality"].astype(str).isin(localities)]
    data = data.assign(service_name=data["service"].map(service_name))
    services = [service_name(code) for code in SERVICES if code in set(data["service"])]
    chart = labelled_heatmap(
        data, "median_wait_weeks",
        x=alt.X("locality:N", title="Locality", sort=localities,
                axis=alt.Axis(labelAngle=0, orient="top", labelLimit=120)),
        y=alt.Y("service_name:N", title="Service", sort=services, axis=alt.Axis(labelLimit=260)),
        colour_title="Median wait (weeks)", scheme="blues",
        white_from=0.7,  # where white text starts to read better than dark on blues (drawn colours measured)
        tooltip=[alt.Tooltip("locality:N", title="Locality"), alt.Tooltip("service_name:N", title="Service"),
                 alt.Tooltip("median_wait_weeks:Q", title="Median wait (weeks)", format=".1f"),
                 alt.Tooltip("n_waiting:Q", title="Waiting now", format=",")],
    )
    description = ("Heat map: median wait in weeks for each service (down) in each locality (across); darker is "
                   "longer. A star means too few children to show.")
    if len(localities) < all_localities:
        shown = (f"The {len(localities)} localities with the longest waits for {service_phrase(service)}, of "
                 f"{all_localities}; the table below lists every locality.")
        chart = chart.properties(title=alt.TitleParams(shown, anchor="start", fontSize=13, fontWeight="normal"))
        description = f"{description} {shown}"
    return chart.properties(height=42 * max(1, len(services)) + 40, description=description)


# ---------------------------------------------------------------------------- waiting-well schemes


class SchemesFileError(ValueError):
    """The waiting-well reference file is missing columns or cannot be read."""


def load_waiting_well_schemes(path: Path | None = None) -> pd.DataFrame:
    """The editable list of schemes to signpost while children wait.

    ``service`` is a service code or ``all``; ``locality`` a locality name or ``all``. Rows with a blank
    scheme name are skipped so a half-edited spreadsheet line does not show as an empty card.
    """
    path = path or SCHEMES_FILE
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in SCHEME_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise SchemesFileError(f"The waiting-well schemes file is missing columns: {', '.join(missing)}.")
            rows = [{c: (row.get(c) or "").strip() for c in SCHEME_COLUMNS} for row in reader]
    except OSError as exc:
        raise SchemesFileError(f"The waiting-well schemes file cannot be read: {exc.strerror}.") from exc
    frame = pd.DataFrame(rows, columns=SCHEME_COLUMNS)
    frame = frame[frame["scheme"] != ""]
    for column in ("service", "locality"):
        frame[column] = frame[column].replace("", "all")
    unknown = sorted(set(frame["service"]) - set(SERVICES) - {"all"})
    if unknown:
        raise SchemesFileError(f"Unknown service codes in the waiting-well schemes file: {', '.join(unknown)}. "
                               f"Use one of {', '.join(SERVICES)} or 'all'.")
    return frame.reset_index(drop=True)


def schemes_for(schemes: pd.DataFrame, service: str, locality: str | None) -> pd.DataFrame:
    """Schemes for this service (or all services) in this locality (or everywhere); specific ones first."""
    service_match = schemes["service"].isin([service, "all"])
    locality_match = schemes["locality"].eq("all") if locality is None else schemes["locality"].isin([locality, "all"])
    chosen = schemes[service_match & locality_match].copy()
    chosen["_rank"] = (chosen["service"] == "all").astype(int) + (chosen["locality"] == "all").astype(int)
    return chosen.sort_values(["_rank", "scheme"]).drop(columns="_rank").reset_index(drop=True)


def service_chart(by_service: pd.DataFrame, chosen: str) -> alt.Chart:
    """Median wait so far for every service, the chosen one picked out."""
    data = by_service.dropna(subset=["median_wait_weeks"]).copy()
    data["service_name"] = data["service"].map(service_name)
    data["median_wait_weeks"] = data["median_wait_weeks"].astype(float)
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("service_name:N", title="Service", sort="-x", axis=alt.Axis(labelLimit=260)),
        x=alt.X("median_wait_weeks:Q", title="Median wait so far (weeks)"),
        color=colour_if(alt.datum.service == chosen, "#005EB8", "#768692"),
        tooltip=[alt.Tooltip("service_name:N", title="Service"),
                 alt.Tooltip("n_waiting:Q", title="Waiting now", format=","),
                 alt.Tooltip("median_wait_weeks:Q", title="Median wait (weeks)", format=".1f"),
                 alt.Tooltip("pct_over_18_weeks:Q", title="% over 18 weeks", format=".1f"),
                 alt.Tooltip("pct_over_52_weeks:Q", title="% over 52 weeks", format=".1f")],
    ).properties(height=max(160, 36 * len(data)), description=(
        f"Bar chart: median wait so far for each community service; {service_name(chosen)} is highlighted."))


def display_table(display_df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A table for ``ui.indicator_block(table=...)`` from ``result.display_df()`` (suppression markers kept),
    with service codes spelled out and plain-English headings."""
    return table(display_df, columns)


def distribution_sentence(distribution: pd.DataFrame, service: str) -> str:
    shown = distribution.dropna(subset=["n_waiting"])
    total = shown["n_waiting"].sum()
    if total == 0:
        if distribution["n_waiting"].isna().any():
            return ("Too few children are waiting in each band to show the numbers safely with these filters; "
                    "try a wider choice in the sidebar.")
        return f"Nobody is waiting for {service_phrase(service)} with these filters."
    long_waits = shown[shown["wait_band"].isin(WAIT_BANDS[5:])]["n_waiting"].sum()
    biggest = shown.sort_values("n_waiting", ascending=False).iloc[0]
    return (f"The largest group has waited {biggest['wait_band']} so far ({fmt_count(biggest['n_waiting'])} children). "
            f"{fmt_count(long_waits)} of the {fmt_count(total)} children shown have waited more than a year.")


def breakdown_sentence(breakdown: pd.DataFrame, by: str) -> str:
    shown = breakdown.dropna(subset=["median_wait_weeks"])
    label = BREAKDOWNS.get(by, by).lower()
    if shown.empty:
        return f"Too few children are waiting in each {label} group to compare them."
    ranked = shown.sort_values(["median_wait_weeks", "group_value"], ascending=[False, True])
    top, bottom = ranked.iloc[0], ranked.iloc[-1]
    if len(ranked) == 1:
        return f"Only {top['group_value']} has enough children waiting to show a median ({fmt_number(top['median_wait_weeks'])} weeks)."
    return (f"By {label}, the median wait is longest for {top['group_value']} ({fmt_number(top['median_wait_weeks'])} weeks) "
            f"and shortest for {bottom['group_value']} ({fmt_number(bottom['median_wait_weeks'])} weeks).")


def own_list_sentence(records: pd.DataFrame, service: str, locality: str) -> str:
    if records.empty:
        return f"Nobody is waiting for {service_phrase(service)} in {locality} with these filters."
    over18 = int((records["wait_weeks"] > 18).sum())
    return (f"{len(records):,} children are waiting for {service_phrase(service)} in {locality}. "
            f"The longest has waited {fmt_number(records['wait_weeks'].max())} weeks; {over18:,} have waited over 18 weeks. "
            "Longest waiters are listed first.")


def own_list_chart(records: pd.DataFrame) -> alt.Chart:
    """Histogram of weeks waited on a clinician's own list (counts per band, no individual shown)."""
    data = records[["wait_weeks"]].dropna().copy()
    data["wait_band"] = pd.cut(data["wait_weeks"], bins=[-1, 6, 12, 18, 26, 52, 78, 104, float("inf")],
                               labels=WAIT_BANDS).astype(str)
    counts = data.groupby("wait_band", observed=True).size().reindex(WAIT_BANDS, fill_value=0).reset_index(name="children")
    return alt.Chart(counts).mark_bar(color="#005EB8").encode(
        x=alt.X("wait_band:N", sort=WAIT_BANDS, title="Time waited so far", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("children:Q", title="Children on your list"),
        tooltip=[alt.Tooltip("wait_band:N", title="Waited"), alt.Tooltip("children:Q", title="Children")],
    ).properties(height=260, description="Bar chart: children on your waiting list by time waited so far.")
