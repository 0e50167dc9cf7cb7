"""Survey feedback (SPEC §3.7): scores by service, locality and time; redacted comments by theme, searchable."""
from __future__ import annotations

import streamlit as st

from portal import ui
from portal.journeys import survey_feedback as journey

user, filters = ui.page_setup("Survey feedback", __file__)
st.caption("Only the period and locality filters apply on this page: the survey does not record age, sex, "
           "ethnicity, deprivation or SEND status.")

# --- where scores are lowest, with the page summary ------------------------------------------------------
by = ui.choose("Compare scores by", journey.BREAKDOWNS, key="survey_breakdown")
scores = ui.run("survey_scores_by_group", filters, by=by)
if scores is None:
    st.stop()
ui.indicator_block(
    f"Average score by {journey.BREAKDOWNS[by].lower()}", scores, journey.group_chart(scores.df, by),
    summary=journey.scores_summary(scores.df, by),
    table=journey.table(scores.display_df(), ["group_value", "responses", "mean_score", "pct_scoring_7_plus"], by)
    .rename(columns={"Group": journey.BREAKDOWNS[by]}),
    download_name="survey_scores_by_group",
)

# --- over time ---------------------------------------------------------------------------------------------
trend_by = ui.choose("Show the trend for", journey.COMPARE, key="survey_trend_by")
trend = ui.run("survey_scores_by_quarter", filters, by=trend_by)
if trend is not None:
    ui.indicator_block(
        "Average score, quarter by quarter", trend, journey.trend_chart(trend.df, trend_by),
        summary=journey.trend_sentence(trend.df, trend_by),
        table=journey.table(trend.display_df(), ["quarter", "group_value", "responses", "mean_score",
                                                  "pct_scoring_7_plus"], trend_by)
        .rename(columns={"Group": journey.COMPARE[trend_by]}),
        download_name="survey_scores_by_quarter",
    )

# --- comments: themes and search ---------------------------------------------------------------------------
st.header("What families say", anchor=False)
st.markdown("Comments are shown only after names, NHS numbers, dates of birth, phone numbers, e-mails and "
            "addresses have been removed automatically. Comments from groups too small to stay anonymous are not shown.")
left, middle, right = st.columns(3)
service = ui.choose("Service", journey.SERVICES, key="survey_service", within=left)
search = middle.text_input("Search the comments", key="survey_search", max_chars=60,
                           help="Finds comments containing these words (not case-sensitive).").strip()
all_themes = ui.run("survey_comment_themes", filters, service=service, search="")
theme_options = journey.theme_choices(all_themes.df) if all_themes is not None else ["all"]
theme = right.selectbox("Theme", theme_options, format_func=lambda t: "All themes" if t == "all" else t,
                        key="survey_theme")
themes = ui.run("survey_comment_themes", filters, service=service, search=search)
if themes is not None:
    ui.indicator_block(
        "Comments by theme", themes, journey.themes_chart(themes.df),
        summary=journey.themes_sentence(themes.df, search),
        table=journey.table(themes.display_df(), ["theme", "comments", "mean_score"]),
        download_name="survey_comment_themes",
    )
comments = ui.run("survey_comments", filters, theme=theme, service=service, search=search)
if comments is not None:
    shown = journey.table(comments.display_df(), journey.COMMENT_COLUMNS)
    count = len(shown)
    ui.indicator_block(
        "Latest comments (redacted)", comments, None,
        summary=(f"Showing the {count} most recent comments that match." if count else
                 "No comments match. Try another theme or fewer words."),
        table=shown, download_name="survey_comments",
    )
