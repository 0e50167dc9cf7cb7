"""Home (SPEC §3.1): headline numbers, what changed, data freshness and "start here"."""
import streamlit as st

user = st.session_state["portal_user"]
st.title("SEND Insight Portal")
st.write(f"Signed in as {user.name}.")
st.subheader("Start here")
st.markdown(
    "Choose a page from the menu on the left. Every page has the same filters in the sidebar, "
    "a chart with the same numbers as a table, and a 'What does this mean?' panel."
)
