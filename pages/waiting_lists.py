"""Waiting lists (SPEC §3.2): who is waiting now for community services, for how long, and where."""
from __future__ import annotations

import streamlit as st

from portal import ui
from portal.journeys.common import drawable
from portal.journeys import waiting_lists as journey
from portal.roles import CLINICIAN

user, filters = ui.page_setup("Waiting lists", __file__)

service = st.selectbox(
    "Service", list(journey.SERVICES), format_func=journey.service_name, key="waiting_lists_service",
    help="The community service whose waiting list the charts below describe.",
)
name = journey.service_name(service)

# --- every service, and the page summary ----------------------------------------------------------
by_service = ui.run("waits_by_service", filters)
by_locality_service = ui.run("longest_waits_by_locality_and_service", filters)
if by_service is None or by_locality_service is None:
    st.stop()

summary = journey.waiting_summary(service, by_service.df, by_locality_service.df)
ui.indicator_block(
    "Waiting now, by service", by_service, drawable(journey.service_chart(by_service.df, service)), summary=summary,
    table=journey.display_table(by_service.display_df(), [
        "service", "n_waiting", "median_wait_weeks", "n_over_18_weeks", "pct_over_18_weeks",
        "n_over_52_weeks", "pct_over_52_weeks"]),
    download_name="waits_by_service",
)

# --- the chosen service: distribution --------------------------------------------------------------
distribution = ui.run("wait_distribution", filters, service=service)
if distribution is not None:
    ui.indicator_block(
        f"How long children have waited so far: {name}", distribution,
        drawable(journey.distribution_chart(distribution.df, service)),
        summary=journey.distribution_sentence(distribution.df, service),
        table=journey.display_table(distribution.display_df(), ["wait_band", "n_waiting"]),
        download_name="wait_distribution",
    )

# --- where: locality x service ------------------------------------------------------------------------
ui.indicator_block(
    "Longest waits, by locality and service", by_locality_service,
    drawable(journey.heatmap_chart(by_locality_service.df, service)),
    summary=journey.longest_wait_sentence(service, journey.longest_wait_locality(by_locality_service.df, service),
                                          journey.localities_shown(by_locality_service.df, service)),
    table=journey.display_table(by_locality_service.display_df(), [
        "locality", "service", "n_waiting", "median_wait_weeks", "n_waiting_year_ago", "median_wait_weeks_year_ago"]),
    download_name="longest_waits_by_locality_and_service",
)

# --- who: breakdown -----------------------------------------------------------------------------------
by = ui.choose("Break down the waiting list by", journey.BREAKDOWNS, key="waiting_lists_breakdown")
breakdown = ui.run("waits_by_breakdown", filters, service=service, by=by)
if breakdown is not None:
    ui.indicator_block(
        f"Waiting for {name}, by {journey.BREAKDOWNS[by].lower()}", breakdown,
        drawable(journey.breakdown_chart(breakdown.df, by)), summary=journey.breakdown_sentence(breakdown.df, by),
        table=journey.display_table(breakdown.display_df(), [
            "group_value", "n_waiting", "median_wait_weeks", "n_over_18_weeks", "pct_over_18_weeks",
            "n_over_52_weeks", "pct_over_52_weeks"]).rename(columns={"Group": journey.BREAKDOWNS[by]}),
        download_name="waits_by_breakdown",
    )

# --- when: trend --------------------------------------------------------------------------------------
trend = ui.run("waiting_trend_by_month", filters, service=service)
if trend is not None:
    ui.indicator_block(
        f"Waiting list for {name}, month by month", trend, drawable(journey.trend_chart(trend.df, service)),
        summary=journey.trend_sentence(trend.df, service),
        table=journey.display_table(trend.display_df(), ["month", "n_waiting", "n_over_18_weeks", "n_over_52_weeks"]),
        download_name="waiting_trend_by_month",
    )

# --- waiting well ---------------------------------------------------------------------------------------
st.header("Support while waiting", anchor=False)
try:
    schemes = journey.schemes_for(journey.load_waiting_well_schemes(), service, filters.locality)
except journey.SchemesFileError as exc:
    st.warning(str(exc))
else:
    where = f" in {filters.locality}" if filters.locality else ""
    st.markdown(f"Schemes to suggest to families waiting for {journey.service_phrase(service)}"
                f"{where}. The list is kept by the commissioning team in `data/reference/waiting_well_schemes.csv`.")
    if schemes.empty:
        st.info("No waiting-well schemes are listed for this service yet.")
    for scheme in schemes.itertuples():
        with st.container(border=True):
            st.markdown(f"**{scheme.scheme}**  \n{scheme.description}")
            st.markdown(f"*How to get it:* {scheme.how_to_access}  \n*Contact:* {scheme.contact}")

# --- clinicians: their own list ---------------------------------------------------------------------
if user.role == CLINICIAN:
    own = ui.run("service_waiting_list", filters)
    if own is not None:
        mine = journey.service_name(user.service or "")
        ui.indicator_block(
            f"Your list: {mine} in {user.locality}", own, drawable(journey.own_list_chart(own.df)),
            summary=journey.own_list_sentence(own.df, user.service or "", user.locality or ""),
            table=journey.display_table(own.display_df(), [
                "pseudo_id", "age_band", "send_status", "referral_date", "wait_weeks"]),
            download_name="my_waiting_list",
        )
