"""How do we compare? (SPEC §3.10): the area against England, its region and its statistical neighbours
on published national statistics.

Everything the page says is worked out here from the two named queries' frames
(``compare_indicators_available`` and ``compare_benchmarks``), so it can be tested without a browser:
better or worse by the indicator's polarity, rank among all English authorities, the trend since the
previous period, the tables and charts, and the plain-English summaries.

The published figures change only when new ones are loaded, and the sidebar's filters do not apply to them,
so the heavier results (the catalogue, the scorecard, an indicator's tables and summary) are kept by the
content of their inputs (``memo.by_content``): the scorecard alone took about 120 ms of every rerun.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import altair as alt
import pandas as pd

from portal import memo, theme
from portal.journeys.common import is_missing, join_names, melted
from portal.public import specs
from portal.public.common import SYMBOLS
from portal.public.mart import MARTS

NEIGHBOURS_AVERAGE = "Statistical neighbours (average)"
COMPARED_AS = {
    "area": "Our area",
    "england": "England",
    "region": "Region",
    "neighbour": "Statistical neighbour",
    "neighbours_average": "Statistical neighbours' average",
}
COMPARED_AS_COLOURS = {
    "Our area": theme.NHS_BLUE, "England": theme.NHS_DARK_GREY, "Region": theme.NHS_AQUA_GREEN,
    "Statistical neighbours' average": theme.NHS_ORANGE, "Statistical neighbour": theme.NHS_LIGHT_BLUE,
}

HOW_TO_LOAD = (
    "Published national figures have not been loaded yet, so there is nothing to compare with. "
    "An analyst or administrator can load them in one step: put the published files in a folder (the DfE "
    "EHC plans CSVs, the LAIT data file and its data dictionary, the statistical neighbours table, NHS "
    "community waits with the ONS ICB lookup, and the SEND Tribunal table) and run "
    "`python -m portal public load FOLDER`, or run `python -m portal public fetch` to download the latest "
    "DfE releases. This page then shows them straight away."
)


def public_marts_loaded(version) -> bool:
    """Whether the live mart version carries the public marts (the page explains how to load them if not)."""
    return version is not None and all((version.path / f"{name}.parquet").exists() for name in MARTS[:2])


def headline_ids() -> list[str]:
    return list(specs.specs().get("headline") or [])


# ----------------------------------------------------------------------------------------- indicators
@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    unit: str
    polarity: str
    decimals: int
    definition: str = ""
    source: str = ""
    publisher: str = ""
    source_url: str = ""
    caveats: str = ""
    last_updated: str = ""
    loaded_at: str = ""
    topic: str = ""

    @classmethod
    def from_row(cls, row) -> "Indicator":
        get = (lambda k: "" if is_missing(row.get(k)) else str(row.get(k)))
        decimals = row.get("decimal_places")
        if is_missing(decimals):
            decimals = 1 if get("unit") == "%" else 2 if "score" in get("unit").lower() else 0
        return cls(id=get("indicator_id"), name=get("indicator_name"), unit=get("unit") or "value",
                   polarity=get("polarity") or "neutral", decimals=int(decimals), definition=get("definition"),
                   source=get("source"), publisher=get("publisher"), source_url=get("source_url"),
                   caveats=get("caveats"), last_updated=get("last_updated"), loaded_at=get("loaded_at"),
                   topic=get("topic"))

    @property
    def has_direction(self) -> bool:
        return self.polarity in ("high", "low")

    @property
    def direction_words(self) -> str:
        return {"high": "Higher is better.", "low": "Lower is better."}.get(
            self.polarity, "Neither higher nor lower is better in itself.")

    def fmt(self, value, symbol=None) -> str:
        if is_missing(value):
            return f"no figure ({SYMBOLS.get(symbol, 'not published')})" if not is_missing(symbol) else "no figure"
        text = f"{float(value):,.{self.decimals}f}"
        return f"{text}%" if self.unit == "%" else text


@memo.by_content(16, copied=True)
def indicators(catalogue: pd.DataFrame) -> dict[str, Indicator]:
    return {row["indicator_id"]: Indicator.from_row(row) for row in catalogue.to_dict("records")}


def indicator_choices(catalogue: pd.DataFrame, topic: str) -> list[str]:
    """The indicators of a topic, headline ones first, then by name."""
    rows = catalogue[catalogue.topic == topic]
    headline = [i for i in headline_ids() if i in set(rows.indicator_id)]
    rest = rows[~rows.indicator_id.isin(headline)].sort_values("indicator_name").indicator_id.tolist()
    return headline + rest


def area_intro(area) -> str:
    places = join_names(list(area.names.values()))
    return (f"This page compares {places} with England, the region and each local authority's "
            "ten statistical neighbours, using published national statistics: DfE's EHC plans release and "
            "Local Authority Interactive Tool, NHS England's community health waiting lists and SEND Tribunal "
            "appeal rates. The figures are as published for whole local authorities and ICBs, so the filters in "
            "the sidebar do not change them.")


def no_figures_message(area) -> str:
    return (f"Published figures are loaded, but none is for the configured area ({', '.join(area.codes)}). "
            "Check the codes in data/reference/area.yaml: local authorities by their 3-digit DfE number, the "
            "ICB by its ONS code (E54...).")


def topics(catalogue: pd.DataFrame) -> list[str]:
    """Topics with the SEND topics first (the ones this portal is about), then the rest alphabetically."""
    headline = [t for t in catalogue[catalogue.indicator_id.isin(headline_ids())].topic.dropna().unique()]
    rest = sorted(set(catalogue.topic.dropna()) - set(headline))
    send_first = sorted(headline, key=lambda t: (0 if "SEN" in t or "EHC" in t else 1, t))
    return send_first + rest


# ----------------------------------------------------------------------------------------- judgements
def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def verdict(value, other, indicator: Indicator) -> str:
    """'better than' / 'worse than' (by polarity), 'higher than' / 'lower than' (no polarity), 'the same as'."""
    if is_missing(value) or is_missing(other):
        return "no figure to compare with"
    a, b = round(float(value), indicator.decimals), round(float(other), indicator.decimals)
    if a == b:
        return "the same as"
    higher = a > b
    if indicator.polarity == "high":
        return "better than" if higher else "worse than"
    if indicator.polarity == "low":
        return "worse than" if higher else "better than"
    return "higher than" if higher else "lower than"


def rank_position(row, indicator: Indicator) -> int | None:
    """The area's place among all English LAs (or ICBs): 1 = best, or 1 = highest when no direction."""
    key = "rank_lowest" if indicator.polarity == "low" else "rank_highest"
    value = row.get(key)
    return None if is_missing(value) else int(value)


def rank_text(row, indicator: Indicator) -> str:
    position = rank_position(row, indicator)
    if position is None or is_missing(row.get("n_ranked")):
        return ""
    kind = "ICBs" if row.get("geography_level") == "icb" else "local authorities"
    word = "best" if indicator.has_direction else "highest"
    if position == 1:
        return f"{word} of {int(row['n_ranked'])} {kind}"
    return f"{ordinal(position)} {word} of {int(row['n_ranked'])} {kind}"


def change_words(latest, previous, indicator: Indicator) -> str:
    """'up 2.1 points from 2023 (better)' etc.; '' without a previous figure."""
    if previous is None or is_missing(latest.get("value")) or is_missing(previous.get("value")):
        return ""
    delta = round(float(latest["value"]) - float(previous["value"]), indicator.decimals)
    when = previous["period"]
    if delta == 0:
        return f"no change from {when}"
    unit = " points" if indicator.unit == "%" else ""
    size = f"{abs(delta):,.{indicator.decimals}f}{unit}"
    direction = "up" if delta > 0 else "down"
    judged = ""
    if indicator.has_direction:
        improving = (delta > 0) == (indicator.polarity == "high")
        judged = " (better)" if improving else " (worse)"
    return f"{direction} {size} from {when}{judged}"


# --------------------------------------------------------------------------------------- comparisons
def _series_for(df: pd.DataFrame, indicator_id: str, focus_code: str) -> pd.DataFrame:
    rows = df[(df.indicator_id == indicator_id) & ((df.focus_code == focus_code) | (df.comparator == "england"))]
    return rows.copy()


def focus_options(df: pd.DataFrame, indicator_id: str, order: list[str] | None = None,
                  names: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(code, name) of the configured areas with any figure for the indicator, in ``order`` (the area file's),
    named as in ``names`` (the area file's short names) where given, else as published."""
    areas = df[(df.indicator_id == indicator_id) & (df.comparator == "area")]
    found = dict(zip(areas.area_code, areas.area_name)) | {c: n for c, n in (names or {}).items()
                                                           if c in set(areas.area_code)}
    codes = [c for c in (order or []) if c in found] + sorted(c for c in found if c not in (order or []))
    return [(code, found[code]) for code in codes]


def latest_period(rows: pd.DataFrame):
    """The latest period with a figure (or symbol) for the area itself, and the one before it with a figure."""
    own = rows[rows.comparator == "area"].sort_values("period_end")
    if own.empty:
        return None, None
    latest = own.iloc[-1]
    earlier = own[(own.period_end < latest.period_end) & own.value.notna()]
    return latest, (earlier.iloc[-1] if not earlier.empty else None)


def neighbours_average(rows: pd.DataFrame, period_end) -> tuple[float, int]:
    values = rows[(rows.comparator == "neighbour") & (rows.period_end == period_end)].value.dropna()
    return (float(values.mean()) if len(values) else math.nan), int(len(values))


@memo.by_content(256, copied=True)
def latest_table(df: pd.DataFrame, indicator: Indicator, focus_code: str) -> pd.DataFrame:
    """The latest period: the area, England, region, the neighbours' average and each neighbour."""
    rows = _series_for(df, indicator.id, focus_code)
    latest, _ = latest_period(rows)
    if latest is None:
        return pd.DataFrame(columns=["Area", "Compared as", "Period", "Value", "Note", "Rank"])
    at = rows[rows.period_end == latest.period_end]
    order = {"area": 0, "england": 1, "region": 2, "neighbour": 4}
    at = at.assign(order=at.comparator.map(order), nrank=at.neighbour_rank.fillna(0)).sort_values(["order", "nrank"])
    out = [{
        "Area": r.area_name, "Compared as": COMPARED_AS[r.comparator], "Period": r.period,
        "Value": None if is_missing(r.value) else round(float(r.value), indicator.decimals),
        "Note": "" if is_missing(r.symbol) else SYMBOLS.get(r.symbol, r.symbol),
        "Rank": rank_text(r._asdict(), indicator) if r.comparator in ("area", "neighbour") else "",
        "_order": r.order,
    } for r in at.itertuples(index=False)]
    avg, n = neighbours_average(rows, latest.period_end)
    if n:
        out.append({"Area": NEIGHBOURS_AVERAGE, "Compared as": COMPARED_AS["neighbours_average"],
                    "Period": latest.period, "Value": round(avg, indicator.decimals),
                    "Note": f"average of the {n} neighbours with a figure", "Rank": "", "_order": 3})
    table = pd.DataFrame(out).sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    return table


@memo.by_content(256, copied=True)
def trend_table(df: pd.DataFrame, indicator: Indicator, focus_code: str) -> pd.DataFrame:
    """Every period: the area, England, its region and the neighbours' average, one column each."""
    rows = _series_for(df, indicator.id, focus_code)
    rows = rows[rows.comparator.isin(["area", "england", "region"])]
    series = rows.assign(Series=rows.area_name)[["period", "period_end", "Series", "value"]]
    neighbours = df[(df.indicator_id == indicator.id) & (df.focus_code == focus_code) & (df.comparator == "neighbour")]
    if not neighbours.empty:
        avg = (neighbours.groupby(["period", "period_end"], as_index=False).value.mean()
               .assign(Series=NEIGHBOURS_AVERAGE))
        series = pd.concat([series, avg], ignore_index=True)
    if series.empty:
        return pd.DataFrame(columns=["Period"])
    labels = dict(zip(series.period_end, series.period))
    wide = series.pivot_table(index="period_end", columns="Series", values="value", aggfunc="first", dropna=False)
    wide = wide.sort_index()
    wide.insert(0, "Period", [labels[p] for p in wide.index])
    wide = wide.reset_index(drop=True)
    wide.columns.name = None
    ordered = ["Period"] + [c for c in _series_order(rows) if c in wide.columns]
    ordered += [c for c in wide.columns if c not in ordered]
    wide = wide[ordered]
    numeric = [c for c in wide.columns if c != "Period"]
    wide[numeric] = wide[numeric].astype(float).round(indicator.decimals)
    return wide


def _series_order(rows: pd.DataFrame) -> list[str]:
    names = []
    for comparator in ("area", "england", "region"):
        names += list(dict.fromkeys(rows[rows.comparator == comparator].area_name))
    return names + [NEIGHBOURS_AVERAGE]


@memo.by_content(16, copied=True)
def scorecard(df: pd.DataFrame, catalogue: dict[str, Indicator], ids: list[str],
              order: list[str] | None = None, names: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per headline indicator and configured area: latest figure against each benchmark."""
    out = []
    for indicator_id in ids:
        indicator = catalogue.get(indicator_id)
        if indicator is None:
            continue
        for code, name in focus_options(df, indicator_id, order, names):
            rows = _series_for(df, indicator_id, code)
            latest, previous = latest_period(rows)
            at = rows[rows.period_end == latest.period_end]
            england = at[at.comparator == "england"].value
            region = at[at.comparator == "region"]
            avg, n = neighbours_average(rows, latest.period_end)
            england_value = england.iloc[0] if len(england) else math.nan
            out.append({
                "indicator_id": indicator_id, "Indicator": indicator.name, "Area": name, "area_code": code,
                "Period": latest.period,
                "Value": None if is_missing(latest.value) else round(float(latest.value), indicator.decimals),
                "Note": "" if is_missing(latest.symbol) else SYMBOLS.get(latest.symbol, latest.symbol),
                "England": None if is_missing(england_value) else round(float(england_value), indicator.decimals),
                "Region": (f"{region.iloc[0].area_name}: {indicator.fmt(region.iloc[0].value, region.iloc[0].symbol)}"
                           if len(region) else ""),
                "Neighbours' average": round(avg, indicator.decimals) if n else None,
                "Compared with England": verdict(latest.value, england_value, indicator),
                "Compared with neighbours": verdict(latest.value, avg, indicator) if n else "",
                "Rank": rank_text(latest.to_dict(), indicator),
                "Change": change_words(latest, previous, indicator),
                "Better direction": {"high": "higher", "low": "lower"}.get(indicator.polarity, "neither"),
                "_position": _position_pct(latest.to_dict(), indicator),
            })
    return pd.DataFrame(out)


# The at-a-glance table: narrow enough to read on a laptop; region and neighbours are in the detail view.
SCORECARD_COLUMNS = ["Indicator", "Area", "Period", "Value", "England", "Compared with England", "Rank", "Change"]


def trend_summary(trend: pd.DataFrame, indicator: Indicator, area_name: str) -> str:
    """How the area's figure moved from its first to its latest published period, against England.

    The area is the table's first series (see :func:`trend_table`); ``area_name`` is how to call it."""
    column = trend.columns[1] if len(trend.columns) > 1 else None
    if column is None or column == "England" or trend[column].dropna().empty:
        return f"There is no run of published figures for {area_name} on this indicator."
    own = trend[["Period", column]].dropna().rename(columns={column: area_name})
    first, last = own.iloc[0], own.iloc[-1]
    text = (f"{area_name}: {indicator.fmt(first[area_name])} in {first['Period']} and "
            f"{indicator.fmt(last[area_name])} in {last['Period']} ({len(own)} published periods).")
    if "England" in trend.columns:
        england = trend.set_index("Period")["England"]
        e_first, e_last = england.get(first["Period"]), england.get(last["Period"])
        if not is_missing(e_first) and not is_missing(e_last):
            text += f" Over the same time England went from {indicator.fmt(e_first)} to {indicator.fmt(e_last)}."
    if indicator.has_direction and len(own) > 1:
        better = (float(last[area_name]) > float(first[area_name])) == (indicator.polarity == "high")
        same = round(float(last[area_name]), indicator.decimals) == round(float(first[area_name]), indicator.decimals)
        text += " No overall change." if same else (" Overall, better." if better else " Overall, worse.")
    return text


def _position_pct(row: dict, indicator: Indicator) -> float:
    """0 = worst (or lowest) of all English authorities, 100 = best (or highest)."""
    position, n = rank_position(row, indicator), row.get("n_ranked")
    if position is None or is_missing(n) or int(n) < 2:
        return math.nan
    return round(100.0 * (int(n) - position) / (int(n) - 1), 1)


# ------------------------------------------------------------------------------------------- summaries
def scorecard_summary(card: pd.DataFrame, area_name: str) -> str:
    if card.empty:
        return (f"None of the headline indicators has a published figure for {area_name} yet. "
                "Choose an indicator below to see what there is.")
    judged = card[card["Better direction"] != "neither"]
    parts = []
    for area, rows in judged.groupby("Area", sort=False):
        better = rows[rows["Compared with England"] == "better than"]
        worse = rows[rows["Compared with England"] == "worse than"]
        parts.append(f"{area} is better than England on {len(better)} and worse on {len(worse)} of the "
                     f"{len(rows)} headline indicators where higher or lower is better")
    text = "; ".join(parts) + "." if parts else ""
    worst = judged[judged["Compared with England"] == "worse than"].sort_values("_position")
    if not worst.empty:
        w = worst.iloc[0]
        text += (f" Furthest behind: {w['Indicator'].rstrip('.')} in {w['Area']}"
                 f" ({_fmt_plain(w['Value'], w)} in {w['Period']} against {_fmt_plain(w['England'], w)} for England"
                 f"{', ' + w['Rank'] if w['Rank'] else ''}).")
    best = judged[judged["Compared with England"] == "better than"].sort_values("_position", ascending=False)
    if not best.empty:
        b = best.iloc[0]
        text += (f" Strongest: {b['Indicator'].rstrip('.')} in {b['Area']}"
                 f" ({_fmt_plain(b['Value'], b)} against {_fmt_plain(b['England'], b)} for England).")
    return text.strip()


def _fmt_plain(value, row) -> str:
    if is_missing(value):
        return "no figure"
    pct = "(%)" in str(row["Indicator"]) or str(row["Indicator"]).endswith("%")
    return f"{value:,}%" if pct else f"{value:,}"


@memo.by_content(256)
def indicator_summary(df: pd.DataFrame, indicator: Indicator, focus_code: str) -> str:
    """'In 2024, Nottinghamshire: 37.5%, worse than England (45.9%) ... up 5.2 points from 2023 (better).'"""
    rows = _series_for(df, indicator.id, focus_code)
    latest, previous = latest_period(rows)
    if latest is None:
        return f"There is no published figure for this area on {indicator.name.lower()}."
    if is_missing(latest.value):
        reason = SYMBOLS.get(latest.symbol, "not published")
        return (f"The latest figure for {latest.area_name} ({latest.period}) was not published: {reason}. "
                "The table shows the other areas.")
    at = rows[rows.period_end == latest.period_end]
    england = at[at.comparator == "england"]
    region = at[at.comparator == "region"]
    avg, n = neighbours_average(rows, latest.period_end)
    parts = [f"{latest.area_name}, {latest.period}: {indicator.fmt(latest.value)} "
             f"({_lower_first(short_name(indicator.name))})"]
    comparisons = []
    if len(england):
        comparisons.append(f"{verdict(latest.value, england.iloc[0].value, indicator)} England "
                           f"({indicator.fmt(england.iloc[0].value, england.iloc[0].symbol)})")
    if len(region):
        r = region.iloc[0]
        comparisons.append(f"{verdict(latest.value, r.value, indicator)} {r.area_name} ({indicator.fmt(r.value, r.symbol)})")
    if n:
        comparisons.append(f"{verdict(latest.value, avg, indicator)} the average of its statistical neighbours "
                           f"({indicator.fmt(avg)})")
    text = parts[0] + "." + (" That is " + join_names(comparisons) + "." if comparisons else "")
    rank = rank_text(latest.to_dict(), indicator)
    if rank:
        text += f" It ranks {rank}."
    change = change_words(latest, previous, indicator)
    if change:
        text += f" It is {change}."
    return text + f" {indicator.direction_words}"


# ---------------------------------------------------------------------------------------------- charts
def latest_chart(table: pd.DataFrame, indicator: Indicator) -> alt.Chart:
    data = table.dropna(subset=["Value"])
    domain = [k for k in COMPARED_AS_COLOURS if k in set(data["Compared as"])]
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("Area:N", sort="-x", title=None, axis=alt.Axis(labelLimit=300)),
        x=alt.X("Value:Q", title=_axis_title(indicator)),
        color=alt.Color("Compared as:N", scale=alt.Scale(domain=domain, range=[COMPARED_AS_COLOURS[k] for k in domain]),
                        legend=alt.Legend(title=None, orient="bottom", labelLimit=300)),
        tooltip=[alt.Tooltip("Area:N"), alt.Tooltip("Compared as:N"), alt.Tooltip("Period:N"),
                 alt.Tooltip("Value:Q", format=f",.{indicator.decimals}f"), alt.Tooltip("Rank:N")],
    ).properties(height=max(160, 26 * len(data)))


def trend_chart(table: pd.DataFrame, indicator: Indicator) -> alt.Chart:
    series = [c for c in table.columns if c != "Period"]
    long = melted(table, ["Period"], series, "Series", "Value")
    periods = list(table["Period"])
    palette = [theme.NHS_BLUE, theme.NHS_DARK_GREY, theme.NHS_AQUA_GREEN, theme.NHS_ORANGE, theme.NHS_PINK,
               theme.NHS_PURPLE]
    colour = alt.Color("Series:N", scale=alt.Scale(domain=series, range=palette[:len(series)]),
                       legend=alt.Legend(title=None, orient="bottom", columns=2, labelLimit=400))
    base = alt.Chart(long).encode(
        x=alt.X("Period:O", sort=periods, title=None, axis=alt.Axis(labelAngle=0 if len(periods) <= 8 else -45)),
        y=alt.Y("Value:Q", title=_axis_title(indicator)),
        color=colour,
        strokeDash=alt.StrokeDash("Series:N", scale=theme.dash_scale(series), legend=None),
        tooltip=[alt.Tooltip("Series:N"), alt.Tooltip("Period:N"),
                 alt.Tooltip("Value:Q", format=f",.{indicator.decimals}f")],
    )
    return (base.mark_line(strokeWidth=2.5) + base.mark_point(filled=True, size=50)).properties(height=320)


def scorecard_chart(card: pd.DataFrame) -> alt.Chart:
    """Where each area stands among all English authorities on the indicators with a better direction."""
    data = card.dropna(subset=["_position"])
    data = data[data["Better direction"] != "neither"].rename(columns={"_position": "Position"})
    return alt.Chart(data).mark_point(filled=True, size=140).encode(
        y=alt.Y("Indicator:N", title=None, sort=list(dict.fromkeys(data["Indicator"])),
                axis=alt.Axis(labelLimit=360)),
        x=alt.X("Position:Q", scale=alt.Scale(domain=[0, 100]),
                title="Place among English authorities (0 = worst, 100 = best)"),
        color=alt.Color("Area:N", scale=alt.Scale(range=theme.CATEGORICAL),
                        legend=alt.Legend(title=None, orient="bottom", labelLimit=300)),
        shape=alt.Shape("Area:N", legend=None),
        tooltip=[alt.Tooltip(shorthand) for shorthand in ("Indicator:N", "Area:N", "Period:N", "Value:Q", "England:Q",
                                                          "Rank:N", "Compared with England:N")],
    ).properties(height=max(160, 34 * data["Indicator"].nunique()))


def short_name(name: str) -> str:
    """An indicator name without its trailing unit, e.g. ' (%)', for use inside a sentence."""
    return re.sub(r"\s*\((%|number)\)\s*$", "", name.strip().rstrip("."))


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym (EHC, SEND)."""
    first = text.split(" ", 1)[0]
    return text if first.isupper() and len(first) > 1 else text[:1].lower() + text[1:]


def _axis_title(indicator: Indicator) -> str:
    return "Per cent" if indicator.unit == "%" else indicator.unit.capitalize()


# ------------------------------------------------------------------------------------------ definitions
def definition_markdown(indicator: Indicator) -> str:
    lines = [f"**{indicator.name}.** {indicator.definition}", "", f"**Which way is better?** {indicator.direction_words}"]
    source = indicator.source + (f" ({indicator.publisher})" if indicator.publisher else "")
    if indicator.source_url:
        source = f"[{source}]({indicator.source_url})"
    lines += ["", f"**Source.** {source}."]
    dates = []
    if indicator.last_updated:
        dates.append(f"published or last updated {indicator.last_updated}")
    if indicator.loaded_at:
        dates.append(f"loaded into the portal {indicator.loaded_at[:10]}")
    if dates:
        lines += ["", f"**Refresh date.** {'; '.join(dates).capitalize()}."]
    if indicator.caveats:
        lines += ["", f"**Things to bear in mind.** {indicator.caveats}"]
    lines += ["", "**Symbols.** " + "; ".join(f"{k}: {v}" for k, v in SYMBOLS.items()) + "."]
    return "\n".join(lines)
