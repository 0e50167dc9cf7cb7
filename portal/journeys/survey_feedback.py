"""Survey feedback (SPEC §3.7): scores by service, locality and time; comments by theme, searchable.

Comments reach this module already redacted (``portal.redaction`` at mart build) and without those from
groups too small to be anonymous (``comment_withheld`` in the mart, excluded by the named queries).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from portal import theme
from portal.journeys.common import fmt_count, fmt_number, fmt_pct, rounded_for_display

SERVICES = {"all": "All services", "SLT": "Speech and language therapy", "OT": "Occupational therapy",
            "PHYSIO": "Physiotherapy", "CAMHS": "CAMHS (mental health)", "ASD": "Autism assessment",
            "ADHD": "ADHD assessment", "PAEDS": "Community paediatrics"}
COMPARE = {"all": "All responses together", "service": "Service", "locality": "Locality", "respondent": "Who answered"}
BREAKDOWNS = {"locality": "Locality", "service": "Service", "respondent": "Who answered"}
LABELS = {
    "quarter": "Quarter",
    "group_value": "Group",
    "responses": "Responses",
    "mean_score": "Average score (0 to 10)",
    "pct_scoring_7_plus": "% scoring 7 or more",
    "theme": "Theme",
    "comments": "Comments",
    "service": "Service",
    "locality": "Locality",
    "respondent": "Who answered",
    "score": "Score",
    "comment": "Comment (redacted)",
}


def service_name(code) -> str:
    return SERVICES.get(str(code), str(code))


def _group_names(df: pd.DataFrame, by: str) -> pd.DataFrame:
    out = df.copy()
    if by == "service" and "group_value" in out.columns:
        out["group_value"] = out["group_value"].map(service_name)
    return out


def table(df: pd.DataFrame, columns: list[str], by: str | None = None) -> pd.DataFrame:
    out = _group_names(df, by or "")[[c for c in columns if c in df.columns]].copy()
    if "quarter" in out.columns and not out.empty and not isinstance(out["quarter"].iloc[0], str):
        out["quarter"] = pd.to_datetime(out["quarter"]).map(quarter_label)
    if "service" in out.columns:
        out["service"] = out["service"].map(service_name)
    return rounded_for_display(out.rename(columns=LABELS))


def quarter_label(ts) -> str:
    ts = pd.Timestamp(ts)
    return f"{ts.year} Q{(ts.month - 1) // 3 + 1}"


def trend_chart(df: pd.DataFrame, by: str) -> alt.Chart | None:
    data = _group_names(df.dropna(subset=["mean_score"]), by)
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    data["quarter"] = pd.to_datetime(data["quarter"])
    groups = sorted(data["group_value"].unique())
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("quarter:T", title="Quarter", axis=alt.Axis(format="%b %Y")),
        y=alt.Y("mean_score:Q", title="Average score (0 to 10)", scale=alt.Scale(domain=[0, 10])),
        color=alt.Color("group_value:N", title=COMPARE[by], sort=groups,
                        scale=alt.Scale(range=theme.CATEGORICAL)),
        strokeDash=alt.StrokeDash("group_value:N", sort=groups, legend=None,
                                  scale=alt.Scale(range=theme.DASHES)),
        tooltip=[alt.Tooltip("quarter:T", title="Quarter starting", format="%B %Y"),
                 alt.Tooltip("group_value:N", title=COMPARE[by]),
                 alt.Tooltip("mean_score:Q", title="Average score", format=".1f"),
                 alt.Tooltip("responses:Q", title="Responses", format=",")],
    ).properties(height=320, description=f"Line chart: average survey score each quarter by {COMPARE[by].lower()}.")


def trend_sentence(df: pd.DataFrame, by: str) -> str:
    data = df.dropna(subset=["mean_score"])
    if data.empty:
        return "Too few responses match these filters to show average scores safely."
    quarters = sorted(data["quarter"].unique())
    if len(quarters) < 2:
        return "Only one quarter of responses is shown; choose a longer period to see a trend."
    first = data[data["quarter"] == quarters[0]]
    last = data[data["quarter"] == quarters[-1]]
    f_mean = (first["mean_score"] * first["responses"]).sum() / first["responses"].sum()
    l_mean = (last["mean_score"] * last["responses"]).sum() / last["responses"].sum()
    change = l_mean - f_mean
    words = "about the same as" if abs(change) < 0.3 else ("up on" if change > 0 else "down on")
    return (f"The average score in {quarter_label(quarters[-1])} was {fmt_number(l_mean, 1)} out of 10, {words} "
            f"{quarter_label(quarters[0])} ({fmt_number(f_mean, 1)}).")


def group_chart(df: pd.DataFrame, by: str) -> alt.Chart | None:
    data = _group_names(df.dropna(subset=["mean_score"]), by)
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    lowest = data["mean_score"].min() if len(data) else None
    data["marker"] = data["mean_score"].eq(lowest).map({True: "Lowest", False: "Other"})
    label = BREAKDOWNS[by]
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("group_value:N", title=label, sort="x"),
        x=alt.X("mean_score:Q", title="Average score (0 to 10)", scale=alt.Scale(domain=[0, 10])),
        color=alt.Color("marker:N", title="", sort=["Lowest", "Other"],
                        scale=alt.Scale(domain=["Lowest", "Other"], range=[theme.NHS_PINK, theme.NHS_BLUE])),
        tooltip=[alt.Tooltip("group_value:N", title=label),
                 alt.Tooltip("mean_score:Q", title="Average score", format=".1f"),
                 alt.Tooltip("pct_scoring_7_plus:Q", title="% scoring 7 or more", format=".0f"),
                 alt.Tooltip("responses:Q", title="Responses", format=",")],
    ).properties(height=max(140, 30 * len(data) + 30), description=(
        f"Bar chart: average survey score by {label.lower()}, lowest first; the lowest bar is in pink."))


def lowest_group(df: pd.DataFrame) -> dict | None:
    data = df.dropna(subset=["mean_score"])
    if data.empty:
        return None
    row = data.sort_values(["mean_score", "group_value"]).iloc[0]
    return {"group": str(row["group_value"]), "mean_score": float(row["mean_score"]),
            "pct": row["pct_scoring_7_plus"], "responses": row["responses"]}


def scores_summary(df: pd.DataFrame, by: str) -> str:
    """Lowest-scoring group against the rest: the page's one-paragraph summary."""
    low = lowest_group(df)
    if low is None:
        return "Too few responses match these filters to show average scores safely."
    data = df.dropna(subset=["mean_score", "responses"])
    others = data[data["group_value"] != low["group"]]
    name = service_name(low["group"]) if by == "service" else low["group"]
    text = (f"Families give the lowest scores in {name}: an average of {fmt_number(low['mean_score'], 1)} out of 10 "
            f"from {fmt_count(low['responses'])} responses, with {fmt_pct(low['pct'])} scoring 7 or more.")
    if not others.empty:
        rest = (others["mean_score"] * others["responses"]).sum() / others["responses"].sum()
        text += f" Elsewhere the average is {fmt_number(rest, 1)}."
    return text


def themes_chart(df: pd.DataFrame) -> alt.Chart | None:
    data = df.dropna(subset=["comments"]).copy()
    if data.empty:
        return None  # an empty chart is an unlabelled graphic to a screen reader
    return alt.Chart(data).mark_bar(color=theme.NHS_BLUE).encode(
        y=alt.Y("theme:N", title="Theme", sort="-x"),
        x=alt.X("comments:Q", title="Comments that can be shown"),
        tooltip=[alt.Tooltip("theme:N", title="Theme"), alt.Tooltip("comments:Q", title="Comments", format=","),
                 alt.Tooltip("mean_score:Q", title="Average score of those commenting", format=".1f")],
    ).properties(height=max(120, 34 * len(data) + 30), description="Bar chart: number of comments by theme.")


def themes_sentence(df: pd.DataFrame, search: str = "") -> str:
    data = df.dropna(subset=["comments"])
    matching = f" mentioning \u201c{search}\u201d" if search else ""
    if data.empty:
        return f"No comments{matching} can be shown for these filters."
    top = data.sort_values("comments", ascending=False).iloc[0]
    scored = data.dropna(subset=["mean_score"])
    text = (f"The most common theme in comments{matching} is {top['theme']} ({fmt_count(top['comments'])} "
            "comments).")
    if len(scored) >= 2:
        low = scored.sort_values("mean_score").iloc[0]
        text += (f" People writing about {low['theme']} gave the lowest scores (average "
                 f"{fmt_number(low['mean_score'], 1)}).")
    return text


def theme_choices(themes: pd.DataFrame) -> list[str]:
    return ["all"] + sorted(str(t) for t in themes["theme"].dropna().unique())


COMMENT_COLUMNS = ["quarter", "service", "locality", "score", "theme", "comment"]
