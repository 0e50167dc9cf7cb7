"""The page scaffold every journey page uses, so all pages look and behave the same.

A page is thin::

    from portal import ui
    user, filters = ui.page_setup("Waiting lists", __file__)
    result = ui.run("waits_by_locality", filters, service="ASD")
    if result is not None:
        chart = alt.Chart(result.df).mark_bar().encode(...)
        ui.indicator_block("Waiting now, by locality", result, chart,
                           summary="Waits for autism assessment are longest in ...",
                           download_name="waits_by_locality")

* :func:`page_setup` sets the heading, offers the page's help (``pages/<name>.md``) and walkthrough
  (``pages/<name>.walkthrough.md``, and ``help_videos/<name>.mp4`` with ``.vtt`` captions when present),
  draws the filter sidebar and returns ``(user, filters)``; it stops the page if nobody is signed in.
* :func:`run` runs a named query as the signed-in user; on any problem it shows a friendly message and
  returns ``None`` (no stack trace ever reaches the screen).
* :func:`indicator_block` draws heading, plain-English summary, chart (with a text alternative), the same
  numbers as a captioned table, CSV and Excel downloads of exactly that table (audited), and a
  "What does this mean?" panel tracing every number to its named query, feeds and refresh dates.

Suppressed cells: charts get ``result.df`` where they are missing values, so they are simply not drawn;
tables and downloads show ``*`` with the note from ``portal.suppression.SUPPRESSED_NOTE``.
"""
from __future__ import annotations

import concurrent.futures
import functools
import logging
import re
from pathlib import Path
from typing import Callable, Mapping

import pandas as pd

from portal import config, html_table, maps, markdown, memo, prefetch, queries, suppression, textfiles, walkthrough
from portal import freshness, xlsx
from portal import filters as global_filters
from portal import theme  # registers and enables the NHS Altair theme on import
from portal.roles import User

log = logging.getLogger(__name__)

USER_KEY = "portal_user"
PAGE_RUN_KEY = "_portal_page_run"  # this session's prefetch.PageRun
PLANS_KEY = "_portal_query_plans"  # page -> the queries this session's last run of it asked for
LAST_PAGE_KEY = "_portal_last_page"
HTML_TABLE_MAX_ROWS = 60
# What a user sees when something failed on the server (the details go to the server log only). The load
# test and the soak count any of these as an error.
GENERIC_ERROR = ("Sorry, something went wrong while preparing these figures. Please try again, or use Ask "
                 "for data.")
PAGE_FAILED = ("Sorry, this page could not be shown. The problem has been logged; please try again, or "
               "choose another page.")
SIGN_IN_UNAVAILABLE = ("Sign-in is not available just now. Please try again in a minute; if it keeps "
                       "happening, tell your portal administrator.")
DATA_UNREADABLE = "The data cannot be read just now. Please try again in a few minutes."
FAILURE_MESSAGES = (GENERIC_ERROR, PAGE_FAILED, SIGN_IN_UNAVAILABLE, DATA_UNREADABLE)


def current_user() -> User | None:
    import streamlit as st

    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, User) else None


def page_setup(title: str, page_file: str | Path) -> tuple[User, global_filters.Filters]:
    """Heading, help and walkthrough, and the filter sidebar; returns ``(user, filters)``."""
    import streamlit as st

    user = current_user()
    if user is None:
        st.warning("Please sign in to see this page.")
        st.stop()
    st.title(title, anchor=False)
    page = Path(page_file).stem
    page_help(page)
    filters = global_filters.sidebar()
    _start_page_run(page, user, filters)
    return user, filters


def _start_page_run(page: str, user: User, filters: global_filters.Filters) -> None:
    """Start the queries this run of ``page`` will most likely ask for (see ``portal.prefetch``)."""
    import streamlit as st

    state = st.session_state
    previous = state.get(PAGE_RUN_KEY)
    if isinstance(previous, prefetch.PageRun):
        previous.abandon()
    opening = state.get(LAST_PAGE_KEY) != page
    state[LAST_PAGE_KEY] = page
    plans = state.setdefault(PLANS_KEY, {})
    ahead = prefetch.opening_plan(page, user.role) if opening else plans.get(page, [])
    run = prefetch.PageRun(lambda name, chosen, params: _outcome(queries.run, name, user, chosen, **params),
                           filters, ahead, _shared_output)
    plans[page] = run.asked
    if opening:
        prefetch.remember_opening(page, user.role, run.asked)
    state[PAGE_RUN_KEY] = run


def _shared_output(name: str) -> bool:
    try:
        return queries.load_query(name).output in SHARED_OUTPUTS
    except queries.QueryError:
        return False


def help_files(page_name: str) -> dict[str, Path]:
    """The help material that exists for a page: ``help``, ``walkthrough``, ``video``, ``captions``."""
    found = {
        "help": config.PAGES_DIR / f"{page_name}.md",
        "walkthrough": config.PAGES_DIR / f"{page_name}.walkthrough.md",
        "video": config.HELP_VIDEOS_DIR / f"{page_name}.mp4",
        "captions": config.HELP_VIDEOS_DIR / f"{page_name}.vtt",
    }
    return {kind: path for kind, path in found.items() if path.exists()}


def page_help(page_name: str) -> None:
    import streamlit as st

    files = help_files(page_name)
    walkthrough.show(page_name)  # the step-by-step guide a user can start, step through and leave
    if "walkthrough" in files or "video" in files:
        with st.expander("How to use this page (short walkthrough)"):
            if "video" in files:
                subtitles = {"English": files["captions"]} if "captions" in files else None
                st.video(str(files["video"]), subtitles=subtitles)
            if "walkthrough" in files:
                st.markdown(_demote_headings(textfiles.read_text(files["walkthrough"])))
    if "help" in files:
        with st.expander("About this page"):
            st.markdown(_demote_headings(textfiles.read_text(files["help"])))


def _demote_headings(markdown: str) -> str:
    """Help files may use '#' headings; inside a page they must sit below the page's h1 and h2."""
    return re.sub(r"^(#{1,4}) ", lambda m: "#" * min(len(m.group(1)) + 2, 6) + " ", markdown, flags=re.M)


def choose(label: str, options: Mapping[str, str], key: str, within=None, **kwargs) -> str:
    """A selectbox offering the keys of ``options``, each shown by its label, in the page or ``within`` a column;
    returns the chosen key."""
    import streamlit as st

    return (within or st).selectbox(label, list(options), format_func=options.get, key=key, **kwargs)


def run(name: str, filters: global_filters.Filters | None, **params) -> queries.QueryResult | None:
    """Run a named query as the signed-in user; show a friendly message and return None on error."""
    return run_together(filters, (name, params))[0]


def run_together(filters: global_filters.Filters | None,
                 *requests: tuple[str, Mapping[str, object]]) -> list[queries.QueryResult | None]:
    """Run several named queries (each ``(name, params)``) as the signed-in user, at the same time; each
    result in order, or None after a friendly message, as :func:`run`.

    DuckDB works outside Python's interpreter lock, so a page's independent queries overlap instead of
    waiting for each other. The messages are shown here, on the script's own thread, in the order asked."""
    import streamlit as st

    user = current_user()
    if user is None:
        st.warning("Please sign in to see this page.")
        return [None] * len(requests)
    page_run = st.session_state.get(PAGE_RUN_KEY)
    started: dict[int, concurrent.futures.Future] = {}
    if isinstance(page_run, prefetch.PageRun):
        for position, (name, params) in enumerate(requests):
            page_run.record(name, params)
            future = page_run.claim(name, params, filters)
            if future is not None:
                started[position] = future
    here = [position for position in range(len(requests)) if position not in started]
    outcomes: list = [None] * len(requests)
    if len(here) == 1:
        name, params = requests[here[0]]
        outcomes[here[0]] = _outcome(queries.run, name, user, filters, **params)
    elif here:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(here)) as pool:
            futures = {position: pool.submit(_outcome, queries.run, requests[position][0], user, filters,
                                             **requests[position][1]) for position in here}
        for position, future in futures.items():
            outcomes[position] = future.result()
    for position, future in started.items():
        outcomes[position] = future.result()
    results = []
    for (name, _params), (result, failure) in zip(requests, outcomes):
        if isinstance(failure, queries.MartsUnavailable):
            st.warning(str(failure), icon=":material/hourglass_empty:")
        elif isinstance(failure, queries.QueryError):
            st.warning(str(failure), icon=":material/info:")
        elif failure is not None:  # the page must keep working; details go to the server log only
            log.error("query %s failed for %s", name, user.username, exc_info=failure)
            st.error(GENERIC_ERROR, icon=":material/error:")
        results.append(result)
    return results


def _outcome(function, *args, **kwargs) -> tuple[object, Exception | None]:
    """``function(*args, **kwargs)`` and None, or None and the exception it raised."""
    try:
        return function(*args, **kwargs), None
    except Exception as exc:
        return None, exc


# ------------------------------------------------------------------------------------- indicator block
def table_for(result: queries.QueryResult, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The table a block shows and downloads: suppressed cells as the marker, columns renamed/ordered.

    ``columns`` maps result columns to the headings to show, in order; columns not listed are left out.
    """
    shown = result.display_df()
    if columns:
        shown = shown[list(columns)].rename(columns=dict(columns))
    return shown


def csv_bytes(table: pd.DataFrame) -> bytes:
    # utf-8-sig so Excel opens accented place names and the dash in notes correctly
    return table.to_csv(index=False).encode("utf-8-sig")


def excel_bytes(table: pd.DataFrame, about: Mapping[str, str]) -> bytes:
    """An .xlsx with the table exactly as shown on sheet 1 and where it came from on sheet 2."""
    return xlsx.workbook_bytes({
        "Data": table, "About": pd.DataFrame({"Item": list(about), "Value": list(about.values())})})


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_buttons(label: str, table: pd.DataFrame, about: Mapping[str, str], stem: str,
                     on_download: Callable[[str], None]) -> None:
    """"Download CSV" and "Download Excel" buttons for ``table`` side by side; ``about`` is the Excel file's
    second sheet. ``on_download(file_format)`` ("csv" or "xlsx") audits each download, when its file is made.

    The files are made when a button is clicked (Streamlit 1.52's deferred downloads), not on every rerun:
    making both files for every table a page draws cost about 5% of the server's CPU under load, for
    downloads few people take. ``table`` and ``about`` are not changed after the page has drawn them (every
    rerun builds its own), so the file is what the page showed when the button was clicked.

    A click does not rerun the page (``on_click="ignore"``): the file is made and audited outside any run,
    in a thread of the server, so ``on_download`` must not need the page's session state (bind the user
    when drawing). A rerun on click would also replace the button's pending file while the browser was
    still asking for it, and the download would never arrive.
    """
    import streamlit as st

    left, right = st.columns(2)
    for column, file_format, kind, mime, make in (
            (left, "csv", "CSV", "text/csv", functools.partial(csv_bytes, table)),
            (right, "xlsx", "Excel", XLSX_MIME, functools.partial(excel_bytes, table, about))):
        column.download_button(
            f"Download {kind}: {label}", made_on_click(make, functools.partial(on_download, file_format)),
            file_name=f"{stem}.{file_format}", mime=mime, key=f"download_{file_format}_{stem}",
            on_click="ignore", icon=":material/download:")


def made_on_click(make: Callable[[], bytes], audit: Callable[[], None]) -> Callable[[], bytes]:
    """``make`` for a download made on click, audited once the file is made. Streamlit shows the person the
    text of any error it raises, so a failure is logged here and they see a plain sentence instead."""
    def made() -> bytes:
        try:
            data = make()
        except Exception:
            log.exception("a download could not be made")
            raise RuntimeError("The file could not be made. Please try again or tell your administrator.") from None
        audit()
        return data
    return made


def provenance(result: queries.QueryResult) -> dict[str, str]:
    """Where the numbers come from, as label -> text (used by the panel and the Excel 'About' sheet)."""
    spec = result.query
    feeds = "; ".join(freshness.feed_received(feed, day) for feed, day in result.feed_refresh.items())
    about = {
        "Title": spec.title,
        "Named query": spec.name,
        "Filters": filters_text(result),
        "Data snapshot date": f"{result.as_of:%d %B %Y}",
        "Data version": f"{result.version.name} (built {result.version.built_at[:16].replace('T', ' ')})",
        "Source feeds": feeds,
    }
    if spec.aggregate and result.suppressed:
        about["Privacy"] = suppression.SUPPRESSED_NOTE
    elif spec.aggregate and not _suppression_applies(result):
        about["Privacy"] = "Unsuppressed figures for analysts: do not share outside the analytics team."
    elif spec.aggregate:
        about["Privacy"] = "Counts are rounded to the nearest 5; counts of 1 to 7 would be hidden."
    return about


def filters_text(result: queries.QueryResult) -> str:
    """The filters a result reflects; published national statistics are whole-area figures the filters don't touch."""
    if result.query.output == "published":
        return "as published for whole areas; the filters do not apply"
    text = result.filters.describe()
    if "period" not in result.query.filters and "$period_" not in result.query.sql:
        # a snapshot ("waiting now") or a fixed run of years: saying "last 12 months" would mislead
        period = global_filters.period_phrase(result.filters.period)
        base = text[: -len(period)].rstrip(" ·") if text.endswith(period) else text
        text = (base + " · " if base else "") + "the period filter does not apply"
    return text


def _suppression_applies(result: queries.QueryResult) -> bool:
    user = current_user()
    return not (user and user.sees_unsuppressed)


def draw_chart(chart, alt_text: str, keep: bool = False) -> None:
    """A chart with its text alternative, in the NHS theme (``theme=None`` keeps Streamlit's own off).

    No vega-embed actions menu: its "..." toggle has no accessible name (axe summary-name), and the
    downloads beside every chart already give the numbers. The two properties are set on the chart itself:
    ``chart.properties(...)`` would deep-copy the whole chart, about 3% of a Waiting lists rerun. Pages build
    a new chart for every draw. The chart goes to the browser as the Vega-Lite spec ``st.altair_chart`` makes
    of it (see :func:`vega_lite_spec`; ``keep`` only for figures any user of the page may see), through
    ``st.vega_lite_chart``. A map (``maps.Choropleth``) has them set on its spec, a copy of its layout's.
    """
    import streamlit as st

    about = {"description": alt_text[:1000], "usermeta": {"embedOptions": {"actions": False}}}
    if isinstance(chart, maps.Choropleth):
        spec = {**vega_lite_spec(chart), **about}
    else:
        chart.description, chart.usermeta = about["description"], about["usermeta"]
        spec = vega_lite_spec(chart, keep)
    st.vega_lite_chart(spec, theme=None, width="stretch")


def vega_lite_spec(chart, keep: bool = False) -> dict:
    """The spec ``st.altair_chart`` would send for ``chart`` (data as Arrow bytes); with ``keep``, kept by the
    chart's content (see :data:`SHARED_OUTPUTS` for which charts may be).

    Turning an Altair chart into a spec cost 4-12 ms a chart on every rerun (Altair's ``to_dict``, then Arrow
    for its data), under a lock Streamlit holds for the whole process, and many reruns draw charts identical
    to ones drawn before (a filter only one block uses, a page opened again, colleagues on the same view).
    The conversion is Streamlit's own, the one ``st.altair_chart`` calls; tests/test_ui.py compares the
    messages of the two ways of drawing. The key is a hash of the pickled chart (its data, encodings, title
    and text alternative; see ``portal.memo``), so a hit is the spec of an identical chart. A map's spec is
    kept by its layout whatever ``keep`` says (the layout holds no one's figures), and its boundaries and
    values are put into a copy (``maps.Choropleth``). The spec skips Altair's JSON-schema validation, which
    cost about 30 ms a chart; tests/test_chart_specs.py validates every chart every page draws instead. A
    shallow copy is returned: Streamlit removes the data from the top level of the spec it is given; the one
    change it makes deeper down (a null colour legend title becomes " ") makes the kept spec what Streamlit
    would send anyway.
    """
    if isinstance(chart, maps.Choropleth):
        return chart.with_boundaries(_kept_map_layout_spec(chart.layout))
    return dict((_kept_vega_lite_spec if keep else _converted_spec)(chart))


def _converted_spec(chart) -> dict:
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    return _convert_altair_to_vega_lite_spec(theme.unvalidated(chart))


_kept_vega_lite_spec = memo.by_content(256)(_converted_spec)


@functools.lru_cache(maxsize=64)  # a layout is hashable: it is its own key
def _kept_map_layout_spec(layout: maps.MapLayout) -> dict:
    return _converted_spec(maps.layout_chart(layout))


def indicator_block(
    title: str,
    result: queries.QueryResult,
    chart=None,
    summary: str = "",
    table: pd.DataFrame | None = None,
    download_name: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> None:
    """Heading, summary, chart, table, downloads and definitions for one indicator (see module docs).

    ``table`` overrides the table shown and downloaded (build it from ``result.display_df()`` so
    suppressed cells keep their marker); otherwise it is the result itself, optionally with ``columns``
    renamed and ordered. ``chart`` may be None for a table-only block.
    """
    import streamlit as st

    download_name = _safe_file_stem(download_name or result.name)
    keep = result.query.output in SHARED_OUTPUTS
    st.header(title, anchor=False)
    if summary:
        st.markdown(summary)
    if chart is not None:
        draw_chart(chart, f"{title}. {summary}".strip(), keep)
        st.caption(f"Chart: {title} ({filters_text(result)}). The table below shows the same numbers.")

    shown = table if table is not None else table_for(result, columns)
    st.markdown(f"**Table: {title}** ({filters_text(result)})")
    show_table(shown, keep)
    if result.suppressed:
        st.caption(markdown.escape(suppression.SUPPRESSED_NOTE))

    about = provenance(result)
    download_buttons(title, shown, about, download_name,
                     on_download=functools.partial(audit_export, current_user(), rows=len(shown),
                                                   query=result.name, filters=result.filters))
    definitions_panel(result, about)


def definitions_panel(result: queries.QueryResult, about: Mapping[str, str] | None = None) -> None:
    """The 'What does this mean?' panel: meaning, sources with refresh dates, caveats, named query."""
    import streamlit as st

    spec = result.query
    indicator = spec.indicator
    about = about or provenance(result)
    sections = [f"**What it shows.** {indicator.get('meaning', spec.description)}"]
    if indicator.get("columns"):
        sections.append("\n".join(f"- **{_column_heading(column)}**: {meaning}"
                                  for column, meaning in indicator["columns"].items()))
    feeds = "\n".join(f"- {freshness.feed_received(feed, day)}" for feed, day in result.feed_refresh.items())
    sections.append(f"**Where it comes from.**\n\n{feeds}")
    if indicator.get("caveats"):
        sections.append(f"**Things to bear in mind.** {indicator['caveats']}")
    if "Privacy" in about:
        sections.append(f"**Privacy.** {about['Privacy']}")
    sections.append(
        f"**Traceability.** Named query `{spec.name}` on data version `{result.version.name}`, "
        f"snapshot date {about['Data snapshot date']}. Filters: {about['Filters']}."
    )
    # One Markdown element, not one per section: every element is a message of its own on every rerun,
    # and a page has five of these panels.
    with st.expander(f"What does this mean? ({spec.title})"):
        st.markdown("\n\n".join(sections))


def show_table(table: pd.DataFrame, keep: bool = False) -> None:
    """A short table as a real HTML table (read well by screen readers); a long one as a scrolling grid.
    ``keep`` only for figures any user of the page may see (:data:`SHARED_OUTPUTS`)."""
    import streamlit as st

    if table.empty:
        st.info("No rows match these filters.")
    elif len(table) <= HTML_TABLE_MAX_ROWS:
        html_table.draw((_kept_html_table_parts if keep else _html_table_parts)(table))
    else:
        grid = _arrow_safe(table)
        st.dataframe(grid, hide_index=True, width="stretch", column_config=_thousands_separated(grid))


def _thousands_separated(grid: pd.DataFrame) -> dict:
    """Whole-number columns of a scrolling grid shown with thousands separated ("4,405"), as the HTML tables
    and the sentences write them; the grid's own default is "4405". Codes and identifiers are text, and
    years are text or dates, so every whole-number column here is a count, an age or a number of weeks."""
    import streamlit as st

    return {name: st.column_config.NumberColumn(format="localized")
            for name, column in grid.items() if pd.api.types.is_integer_dtype(column.dtype)}


def _html_table_parts(table: pd.DataFrame) -> html_table.ArrowParts:
    return html_table.arrow_parts(_for_html_table(table))


# Figures whose tables and charts are kept by content and shared between sessions (portal.memo): the
# aggregate and published ones, which every user of a page sees alike. Record-level and identifiable
# tables are never kept, so they do not outlive the page that shows them (as portal.queries never caches
# identifiable results).
SHARED_OUTPUTS = frozenset({"aggregate", "published"})
_kept_html_table_parts = memo.by_content()(_html_table_parts)


def _for_html_table(table: pd.DataFrame) -> pd.DataFrame:
    """st.table renders text cells as Markdown: escape them so data (a '*' marker, a comment with a link)
    shows literally; the first column becomes the row header instead of a meaningless row number.
    Numbers are shown to one decimal place by ``html_table.draw``. The frame is built in one go: filling a
    copy column by column cost about 1 ms a table, five tables a page."""
    columns = {}
    for name, column in _arrow_safe_columns(table).items():
        columns[name] = column.map(_escaped_if_text) if column.dtype == object else column
    # The header colour (Streamlit's grey fails WCAG AA contrast) is set for every table in
    # portal/accessibility.css.
    if len(columns) < 2:
        return pd.DataFrame({name: column.array for name, column in columns.items()}, index=table.index,
                            columns=table.columns)
    first, *rest = columns
    return pd.DataFrame({name: columns[name].array for name in rest}, index=pd.Index(columns[first], name=first),
                        columns=pd.Index(rest, dtype=table.columns.dtype))


def _escaped_if_text(value):
    return markdown.escape(value) if isinstance(value, str) else value


def _arrow_safe(table: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing numbers and the suppression marker are shown as text (the browser table needs one type)."""
    return pd.DataFrame({name: column.array for name, column in _arrow_safe_columns(table).items()},
                        index=table.index, columns=table.columns)


def _arrow_safe_columns(table: pd.DataFrame) -> dict[str, pd.Series]:
    columns = {}
    for name, column in table.items():
        if column.dtype == object and len({type(value) for value in column.tolist()}) > 1:
            column = column.map(html_table.cell_text)  # the precision the table shows
        columns[name] = column
    return columns


def _column_heading(column: str) -> str:
    return column.replace("_", " ").capitalize()


def _safe_file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:80] or "download"


def audit_export(user: User | None, file_format: str, rows: int, *, query: str | None = None,
                 table: str | None = None, filters: global_filters.Filters | None = None) -> None:
    """Write one export to the audit log (SPEC §5): a named query's result (``query``, with its ``filters``)
    or an operational ``table``. Called when the file is made, outside the page's run, so everything it
    needs is passed in. A failing log must not break the download."""
    what = {"query": query} if query is not None else {"table": table}
    detail = {**what, "format": file_format, "rows": int(rows)}
    if filters is not None:
        detail["filters"] = filters.as_query_params()
    try:
        from portal import ops

        ops.audit("export", user.username if user else None, detail)
    except Exception:
        log.exception("could not audit export of %s", query or table)
