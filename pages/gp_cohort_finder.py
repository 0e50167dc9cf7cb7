"""GP cohort finder (SPEC §3.11): build a cohort, see your own practice's list, export it for recall."""
from __future__ import annotations

import streamlit as st

from portal import cohorts, ui
from portal.cohorts import CohortDefinition, CohortError
from portal.journeys import gp_cohort_finder as journey
from portal.journeys.operational import show_outcome
from portal.roles import GP

user, filters = ui.page_setup("GP cohort finder", __file__)
if user.role != GP or not user.practice_code:  # navigation already hides it; never rely on that alone
    st.error("The GP cohort finder is only for GP practice users.")
    st.stop()

practice_result = ui.run("gp_cohort_practice", filters)
if practice_result is None:
    st.stop()
practice = (f"{practice_result.df.iloc[0]['practice_name']} ({user.practice_code})"
            if len(practice_result.df) else f"practice {user.practice_code}")
st.markdown(f"Find children and young people registered with **{practice}** for a recall. "
            "The list shows identifiable patient data: every view and download is recorded. The sidebar "
            "filters for age band, sex, ethnicity, deprivation, SEND status and primary need narrow the list; "
            "period and locality do not apply to it.")

# --- the cohort definition ---------------------------------------------------------------------------
KEYS = {"send_status": "cohort_send_status", "no_event": "cohort_no_event",
        "no_event_months": "cohort_no_event_months"}
CONDITION_KEYS = {concept: f"cohort_condition_{concept}" for concept in cohorts.CONDITIONS}
NO_EVENT_OFF = "(no event rule)"
default = cohorts.CohortDefinition("EHCP", ("asthma",), "asthma_review", 12)
st.session_state.setdefault("cohort_definition", default.to_dict())


def _load_into_form(definition: CohortDefinition) -> None:
    st.session_state[KEYS["send_status"]] = definition.send_status
    for concept, key in CONDITION_KEYS.items():
        st.session_state[key] = concept in definition.conditions
    st.session_state[KEYS["no_event"]] = cohorts.EVENTS[definition.no_event] if definition.no_event else NO_EVENT_OFF
    st.session_state[KEYS["no_event_months"]] = definition.no_event_months


def _use_saved() -> None:
    chosen = st.session_state.get("cohort_saved_choice")
    for saved_cohort in cohorts.saved_definitions(user):
        if saved_cohort.name == chosen:
            _load_into_form(saved_cohort.definition)
            st.session_state["cohort_definition"] = saved_cohort.definition.to_dict()


if KEYS["send_status"] not in st.session_state:
    _load_into_form(CohortDefinition.from_dict(st.session_state["cohort_definition"]))

saved = cohorts.saved_definitions(user)
if saved:
    st.selectbox("Start from a saved cohort (optional)", [s.name for s in saved], index=None,
                 placeholder="Choose a saved cohort", key="cohort_saved_choice", on_change=_use_saved)

event_labels = {label: concept for concept, label in cohorts.EVENTS.items()}
with st.form("cohort_form", enter_to_submit=False):
    st.subheader("Who should be on the list?", anchor=False)
    st.selectbox("SEND status", cohorts.SEND_CHOICES, key=KEYS["send_status"])
    st.markdown("**Has all of these conditions** (tick none, one or more)")
    for column, (concept, label) in zip(st.columns(len(cohorts.CONDITIONS)), cohorts.CONDITIONS.items()):
        column.checkbox(label, key=CONDITION_KEYS[concept])
    left, middle = st.columns(2)
    left.selectbox("And has no record of", [NO_EVENT_OFF, *event_labels], key=KEYS["no_event"])
    middle.selectbox("In the last (months)", cohorts.MONTH_CHOICES, key=KEYS["no_event_months"])
    submitted = st.form_submit_button("Find children", type="primary", icon=":material/search:")

if submitted:
    try:
        chosen_event = st.session_state[KEYS["no_event"]]
        definition = CohortDefinition(
            send_status=st.session_state[KEYS["send_status"]],
            conditions=tuple(c for c, key in CONDITION_KEYS.items() if st.session_state.get(key)),
            no_event=None if chosen_event == NO_EVENT_OFF else event_labels[chosen_event],
            no_event_months=int(st.session_state[KEYS["no_event_months"]]),
        )
        st.session_state["cohort_definition"] = definition.to_dict()
    except (CohortError, KeyError, ValueError):
        st.error("Those choices cannot be used. Please choose again from the lists.")
        st.stop()
definition = CohortDefinition.from_dict(st.session_state["cohort_definition"])

# --- the list -------------------------------------------------------------------------------------------
try:
    result = cohorts.run_cohort(user, definition, filters)
except Exception as exc:  # the runner's messages are safe to show; anything else is logged, not shown
    from portal import queries

    if isinstance(exc, queries.QueryError):
        st.warning(str(exc))
    else:
        ui.log.exception("cohort finder failed for %s", user.username)
        st.error(ui.GENERIC_ERROR)
    st.stop()

sort = st.selectbox("Sort the list by", list(journey.SORTS), key="cohort_sort")
shown = journey.display_frame(result.df, result.as_of, sort)
title = f"Cohort: {definition.describe()}"
summary = journey.summary(shown, definition, result.as_of, practice)

st.header(f"{len(shown):,} {'person' if len(shown) == 1 else 'people'} found", anchor=False)
st.markdown(summary)
if len(shown):
    ui.draw_chart(journey.gap_chart(journey.gap_counts(shown, result.as_of), definition), f"{title}. {summary}")
    st.markdown("Chart: people by time since the last relevant event. The table below lists the same people.")
st.markdown(f"**Table: {title}** ({journey.filters_phrase(filters)})")
if shown.empty:
    st.info("Nobody matches this cohort.")
else:
    ui.show_table(shown)


def _exported(file_format: str) -> None:
    cohorts.record_export(user, definition, len(shown), file_format, filters)


about = {**ui.provenance(result), **journey.about_sheet(definition, practice, len(shown))}
stem = journey.file_stem(definition, result.as_of)
if not shown.empty:  # nothing to download otherwise (and a greyed-out button fails contrast)
    ui.download_buttons("cohort list", shown, about, stem, on_download=_exported)
ui.definitions_panel(result, about)

# --- save the definition -----------------------------------------------------------------------------------
def _save() -> None:
    # A callback, so the saved cohort is already in the chooser at the top when the page redraws.
    name = st.session_state.get("cohort_save_name", "")
    try:
        cohorts.save_definition(user, name, definition)
        st.session_state["cohort_save_message"] = ("success", f"Saved '{' '.join(name.split())}'. Choose it "
                                                   "from 'Start from a saved cohort' next time.")
    except CohortError as exc:
        st.session_state["cohort_save_message"] = ("error", str(exc))


with st.expander("Save this cohort so your practice can use it again",
                 expanded="cohort_save_message" in st.session_state):
    with st.form("cohort_save_form", clear_on_submit=True, enter_to_submit=False):
        st.text_input("Name for this cohort", placeholder="e.g. Asthma recall, EHCP",
                      key="cohort_save_name")
        st.form_submit_button("Save cohort", icon=":material/save:", on_click=_save)
    if "cohort_save_message" in st.session_state:
        kind, message = st.session_state.pop("cohort_save_message")
        show_outcome(kind, message)
