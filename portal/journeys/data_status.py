"""Data status (SPEC §3.14): each feed's last file, rows, failures and linkage, plus recent uploads.

Works on the ``feed_status`` query's frame, the ingest log and the uploads record; the page only draws
and takes the upload.
"""
from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd

from portal import config, theme
from portal.journeys.common import is_missing, join_names

FEED_COLUMNS = ["Feed", "Last file received", "Received", "Rows", "Files rejected", "Linkage match rate (%)"]


def feed_titles() -> dict[str, str]:
    from portal.contracts import load_contracts

    try:
        return {feed: contract.title for feed, contract in load_contracts().items()}
    except Exception:  # a broken contract must not hide the status of the others
        return {}


def feed_table(df: pd.DataFrame, titles: dict[str, str], uploaded: dict[str, str] | None = None) -> pd.DataFrame:
    """The feed status as shown and downloaded. ``uploaded`` maps the generated names of browser uploads to
    the names people gave them."""
    uploaded = uploaded or {}
    rate = pd.to_numeric(df["linkage_match_rate"], errors="coerce")
    files = [f"{uploaded[f]} (uploaded)" if f in uploaded else f for f in df["last_file"].fillna("none yet").astype(str)]
    return pd.DataFrame({
        "Feed": [titles.get(f, f) for f in df["feed"]],
        "Last file received": files,
        "Received": [str(v)[:16].replace("T", " ") if not is_missing(v) else "never" for v in df["received_at"]],
        "Rows": pd.to_numeric(df["rows"], errors="coerce").astype("Int64"),
        "Files rejected": pd.to_numeric(df["failures"], errors="coerce").fillna(0).astype(int),
        "Linkage match rate (%)": (rate * 100).round(1),
    }, columns=FEED_COLUMNS)


def match_chart(table: pd.DataFrame) -> alt.Chart:
    linked = table.dropna(subset=["Linkage match rate (%)"])
    return alt.Chart(linked, title="Linkage match rate by feed").mark_bar(color=theme.NHS_BLUE).encode(
        x=alt.X("Linkage match rate (%):Q", scale=alt.Scale(domain=[0, 100]), title="Records linked to a person (%)"),
        y=alt.Y("Feed:N", sort="x", title=None, axis=alt.Axis(labelLimit=320)),
        tooltip=[alt.Tooltip(shorthand)
                 for shorthand in ("Feed:N", "Linkage match rate (%):Q", "Rows:Q", "Files rejected:Q")],
    ).properties(height=max(120, 28 * len(linked)))


def summary(table: pd.DataFrame) -> str:
    if table.empty:
        return "No feed has been loaded yet."
    received = table[table["Received"] != "never"]
    text = f"{len(table)} feeds are loaded."
    if len(received):
        newest = received.sort_values("Received").iloc[-1]
        oldest = received.sort_values("Received").iloc[0]
        text += (f" The most recent file arrived on {newest['Received'][:10]} ({newest['Feed']}); the feed "
                 f"that has waited longest is {oldest['Feed']} (last file {oldest['Received'][:10]}).")
    rejected = table[table["Files rejected"] > 0]
    if len(rejected):
        text += (f" {len(rejected)} feed{'s have' if len(rejected) != 1 else ' has'} had files rejected: "
                 + join_names([f"{r['Feed']} ({r['Files rejected']})" for _, r in rejected.iterrows()])
                 + ". Their reports are listed below.")
    else:
        text += " No file has been rejected."
    rates = table.dropna(subset=["Linkage match rate (%)"])
    if len(rates):
        low = rates.sort_values("Linkage match rate (%)").iloc[0]
        high = rates.sort_values("Linkage match rate (%)").iloc[-1]
        text += (f" Linkage match rates range from {low['Linkage match rate (%)']:.1f}% ({low['Feed']}) to "
                 f"{high['Linkage match rate (%)']:.1f}% ({high['Feed']}).")
    return text


def rejected_files(log_entries: list[dict], titles: dict[str, str], limit: int = 50) -> list[dict]:
    """Quarantined files from the ingest log, newest first, each with its report text."""
    quarantined = [e for e in log_entries if e.get("status") == "quarantined"]
    out = []
    for entry in sorted(quarantined, key=lambda e: e.get("received_at", ""), reverse=True)[:limit]:
        name = Path(str(entry.get("quarantined_as", ""))).name  # a name from our own log, never a path
        report = config.quarantine_dir() / f"{name}.report.txt"
        try:
            text = report.read_text() if name else ""
        except OSError:
            text = ""
        out.append({
            "When": str(entry.get("received_at", ""))[:16].replace("T", " "),
            "Feed": titles.get(entry.get("feed"), entry.get("feed") or "unknown"),
            "File": entry.get("file", ""),
            "Rows": entry.get("rows", 0),
            "Faults": entry.get("faults", 0),
            "report": text or "The report for this file is no longer available.",
        })
    return out


def uploads_table(items: list[dict], titles: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{
        "When": str(u["uploaded_at"])[:16].replace("T", " "),
        "Who": u["uploaded_by"],
        "Feed": titles.get(u["feed"], u["feed"]),
        "File": u["original_name"],
        "Size (KB)": round(u["size_bytes"] / 1024, 1),
        "Outcome": u["status"],
        "Data version": u.get("mart_version") or "",
    } for u in items], columns=["When", "Who", "Feed", "File", "Size (KB)", "Outcome", "Data version"])
