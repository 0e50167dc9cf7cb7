"""The indicator block for pages about the portal's own records (data requests, feeds, audit log).

These figures come from the operational database or the feed status mart rather than a person-level named
query, so there is nothing to suppress, but the page still shows what every page shows (SPEC §3): a
summary, a chart with a text alternative, the same numbers as a table, CSV and Excel downloads of exactly
that table (each download audited), and a "What does this mean?" panel.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd


@dataclass(frozen=True)
class Meaning:
    """What the "What does this mean?" panel says about one table."""
    what: str
    source: str
    refreshed: str
    caveats: str = ""

    def about(self, title: str) -> dict[str, str]:
        """The Excel 'About' sheet."""
        return {"Title": title, "What it shows": self.what, "Source": self.source,
                "Refreshed": self.refreshed, "Caveats": self.caveats or "None",
                "Downloaded": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def block(title: str, table: pd.DataFrame, meaning: Meaning, *, chart=None, summary: str = "",
          download_name: str, user=None, empty_message: str = "Nothing to show yet.") -> None:
    """Draw heading, summary, chart, table, audited downloads and the definitions panel."""
    import streamlit as st

    from portal import ui

    st.header(title, anchor=False)
    if summary:
        st.markdown(summary)
    if chart is not None and not table.empty:
        ui.draw_chart(chart, f"{title}. {summary}")
        st.markdown(f"Chart: {title}. The table below shows the same numbers.")  # caption grey fails contrast
    if table.empty:
        st.info(empty_message)
    else:
        st.markdown(f"**Table: {title}**")
        ui.show_table(table)
    if not table.empty:  # nothing to download otherwise (and a greyed-out button fails contrast)
        ui.download_buttons(title, table, meaning.about(title), download_name,
                            on_download=functools.partial(ui.audit_export, user, rows=len(table),
                                                          table=download_name))
    with st.expander(f"What does this mean? ({title})"):
        st.markdown(f"**What it shows.** {meaning.what}")
        st.markdown(f"**Where it comes from.** {meaning.source} Refreshed: {meaning.refreshed}.")
        if meaning.caveats:
            st.markdown(f"**Things to bear in mind.** {meaning.caveats}")


def show_outcome(kind: str, message: str) -> None:
    """A success or error message. Success uses the blue info box: Streamlit's green success text is
    4.49:1 on its background, just under WCAG AA's 4.5:1."""
    import streamlit as st

    if kind == "success":
        st.info(message, icon=":material/check_circle:")
    else:
        st.error(message, icon=":material/error:")
