"""A Streamlit client that speaks the browser's websocket protocol, for load and soak tests.

A real browser per simulated user does not fit on a 2-core machine, so this client does what the
Streamlit frontend does, with the protobuf messages that ship inside the ``streamlit`` package:

* it opens ``ws://host:port/_stcore/stream`` and asks for a script run (``BackMsg.rerun_script`` with a
  ``ClientState``: query string, page, widget states);
* it reads ``ForwardMsg``s until ``script_finished``, keeping the page's widgets (from the element deltas:
  id, label, options, form) and the navigation (page hashes and URL paths);
* it changes a widget the way the frontend does: it sends every widget value it holds plus the changed one,
  and times the change until the script has finished (``FINISHED_SUCCESSFULLY``), following any
  ``st.rerun()`` in between.

It only ever connects to loopback addresses, and every wait has a timeout, so a stuck server makes a
clear error rather than a hung benchmark.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlparse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

# Element kinds that are widgets, i.e. that the frontend reports values for.
WIDGET_KINDS = frozenset({
    "selectbox", "multiselect", "radio", "text_input", "text_area", "checkbox", "slider", "date_input",
    "time_input", "number_input", "button", "download_button", "button_group", "color_picker",
})
FINISHED_OK = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
FINISHED_COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.FINISHED_WITH_COMPILE_ERROR
FINISHED_EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
FINISHED_FRAGMENT = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY


class ClientError(RuntimeError):
    """The server did something a browser user would see as broken (or did not answer in time)."""


@dataclass
class Widget:
    kind: str
    id: str
    label: str
    form_id: str
    proto: Any  # the element's own protobuf (e.g. Selectbox), for options and defaults
    in_sidebar: bool = False  # where the global filters live

    @property
    def current(self) -> Any:
        """The option label the widget shows now (selectbox only; None when unknown)."""
        if self.kind == "selectbox":
            if self.proto.HasField("raw_value"):
                return self.proto.raw_value
            if self.proto.HasField("default") and 0 <= self.proto.default < len(self.proto.options):
                return self.proto.options[self.proto.default]
        return None

    @property
    def options(self) -> list[str]:
        return list(getattr(self.proto, "options", []))

    @property
    def is_form_submitter(self) -> bool:
        return self.kind == "button" and bool(self.proto.is_form_submitter)


@dataclass
class RunResult:
    """What one user action produced, as the browser would have shown it."""

    seconds: float                     # from sending the request to the last ``script_finished``
    runs: int                          # script runs it took (an ``st.rerun()`` adds one)
    messages: int
    exceptions: list[str] = field(default_factory=list)   # st.exception / uncaught errors shown
    errors: list[str] = field(default_factory=list)       # st.error boxes shown
    texts: list[str] = field(default_factory=list)        # markdown/heading/alert text, for checks
    charts: int = 0
    tables: int = 0
    page_not_found: bool = False

    @property
    def ok(self) -> bool:
        return not self.exceptions and not self.page_not_found


def _require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise ValueError(f"cannot resolve {host!r}") from exc
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise ValueError(f"this client only connects to loopback addresses, not {host!r}")


class StreamlitSession:
    """One simulated browser tab. Use as ``async with StreamlitSession(url) as s: await s.open()``."""

    def __init__(self, base_url: str, timeout: float = 60.0, max_messages_per_run: int = 20_000):
        _require_loopback(base_url)
        parsed = urlparse(base_url)
        self.http_url = f"http://{parsed.hostname}:{parsed.port}"
        self.ws_url = f"ws://{parsed.hostname}:{parsed.port}/_stcore/stream"
        self.timeout = timeout
        self.max_messages_per_run = max_messages_per_run
        self._ws = None
        self.widgets: dict[str, Widget] = {}        # id -> widget on the current page
        self.values: dict[str, WidgetState] = {}    # id -> value the browser holds for it
        self.pending_form: dict[str, WidgetState] = {}  # form values typed but not yet submitted
        self.pages: dict[str, str] = {}             # url_pathname -> page_script_hash
        self.page_script_hash = ""
        self.query_string = ""
        self.last_texts: list[str] = []             # the text the last finished run showed, for messages

    async def __aenter__(self) -> "StreamlitSession":
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def connect(self) -> None:
        self._ws = await asyncio.wait_for(
            websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=2**28,
                               open_timeout=self.timeout, ping_interval=None),
            self.timeout,
        )

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    # ----- navigation -------------------------------------------------------------------------------

    async def open(self, page: str = "", query: dict[str, str] | str | None = None) -> RunResult:
        """Load a page by its URL path (``""`` for the default page), as typing the URL would."""
        qs = query if isinstance(query, str) else urlencode(query or {}, doseq=True)
        return await self._rerun(page_name=page, page_script_hash="", query_string=qs)

    async def go_to(self, url_pathname: str) -> RunResult:
        """Click a page in the navigation menu (the page must be in this user's menu)."""
        if url_pathname not in self.pages:
            raise ClientError(f"page {url_pathname!r} is not in the menu; menu has {sorted(self.pages)}")
        # Values are kept: widgets shared by both pages (the sidebar filters) keep theirs, and the others
        # are dropped once the new page has finished, as the frontend does.
        return await self._rerun(page_script_hash=self.pages[url_pathname], page_name="",
                                 query_string=self.query_string)

    # ----- widgets ----------------------------------------------------------------------------------

    def find(self, label: str, kind: str | None = None) -> Widget:
        matches = [w for w in self.widgets.values() if w.label == label and (kind is None or w.kind == kind)]
        if not matches:
            known = sorted(f"{w.kind}:{w.label}" for w in self.widgets.values())
            raise ClientError(f"no widget labelled {label!r} on this page; widgets: {known}; "
                              f"the page shows: {self.last_texts[-3:]}")
        return matches[0]

    def widgets_of(self, kind: str) -> list[Widget]:
        return [w for w in self.widgets.values() if w.kind == kind]

    async def set(self, label: str, value: Any, kind: str | None = None) -> RunResult | None:
        """Change a widget as a user would; outside a form this reruns the script and times it."""
        widget = self.find(label, kind)
        state = widget_state(widget, value)
        if widget.form_id:
            self.pending_form[widget.id] = state
            return None
        self.values[widget.id] = state
        return await self._rerun(page_script_hash=self.page_script_hash, page_name="",
                                 query_string=self.query_string)

    async def click(self, label: str) -> RunResult:
        """Press a button (a form's submit button sends the form's values with it)."""
        widget = self.find(label, "button")
        trigger = WidgetState(id=widget.id, trigger_value=True)
        if widget.is_form_submitter:
            self.values.update({k: v for k, v in self.pending_form.items()
                                if self.widgets.get(k) and self.widgets[k].form_id == widget.form_id})
        return await self._rerun(page_script_hash=self.page_script_hash, page_name="",
                                 query_string=self.query_string, extra=[trigger])

    async def login(self, username: str, password: str, *, username_label: str = "Username",
                    password_label: str = "Password", button_label: str = "Sign in") -> RunResult:
        """Fill in and submit the login form (the portal's labels by default)."""
        await self.set(username_label, username, "text_input")
        await self.set(password_label, password, "text_input")
        result = await self.click(button_label)
        self.pending_form = {}
        # The form's text boxes are gone once signed in; do not keep sending the password.
        self.values = {k: v for k, v in self.values.items() if k in self.widgets}
        return result

    # ----- protocol ---------------------------------------------------------------------------------

    async def _rerun(self, *, page_script_hash: str, page_name: str, query_string: str,
                     extra: list[WidgetState] | None = None) -> RunResult:
        if self._ws is None:
            raise ClientError("not connected")
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = query_string
        state.page_script_hash = page_script_hash
        state.page_name = page_name
        state.context_info.timezone = "Europe/London"
        state.context_info.timezone_offset = 0
        state.context_info.locale = "en-GB"
        state.context_info.url = f"{self.http_url}/{page_name}"
        state.context_info.is_embedded = False
        state.context_info.color_scheme = "light"
        for value in list(self.values.values()) + list(extra or []):
            state.widget_states.widgets.append(value)
        started = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        return await self._read_until_finished(started)

    async def _read_until_finished(self, started: float) -> RunResult:
        result = RunResult(seconds=0.0, runs=0, messages=0)
        seen: dict[str, Widget] = {}
        deadline = started + self.timeout
        while result.messages < self.max_messages_per_run:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise ClientError(f"no script_finished within {self.timeout:.0f} s")
            try:
                raw = await asyncio.wait_for(self._ws.recv(), remaining)
            except asyncio.TimeoutError as exc:
                raise ClientError(f"no script_finished within {self.timeout:.0f} s") from exc
            except websockets.ConnectionClosed as exc:
                raise ClientError(f"server closed the connection: {exc}") from exc
            result.messages += 1
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                # Each script run starts here; after an st.rerun() only the last run's page is shown.
                seen = {}
                result.texts, result.errors, result.charts, result.tables = [], [], 0, 0
                self.page_script_hash = fwd.new_session.page_script_hash
                self._remember_pages(fwd.new_session.app_pages)
            elif kind == "navigation":
                self._remember_pages(fwd.navigation.app_pages)
                if fwd.navigation.page_script_hash:
                    self.page_script_hash = fwd.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query_string = fwd.page_info_changed.query_string
            elif kind == "page_not_found":
                result.page_not_found = True
            elif kind == "delta":
                in_sidebar = bool(fwd.metadata.delta_path) and fwd.metadata.delta_path[0] == 1
                self._take_delta(fwd.delta, seen, result, in_sidebar)
            elif kind == "script_finished":
                result.runs += 1
                status = fwd.script_finished
                if status == FINISHED_EARLY_FOR_RERUN:
                    seen = {}
                    continue  # st.rerun(): the browser keeps waiting for the next run
                if status == FINISHED_COMPILE_ERROR:
                    result.exceptions.append("script failed to compile")
                if status != FINISHED_FRAGMENT:
                    self.last_texts = result.texts
                    self.widgets = seen
                    self.values = {k: v for k, v in self.values.items() if k in seen}
                result.seconds = time.perf_counter() - started
                return result
        raise ClientError(f"more than {self.max_messages_per_run} messages without script_finished")

    def _remember_pages(self, app_pages) -> None:
        if app_pages:
            self.pages = {p.url_pathname: p.page_script_hash for p in app_pages}

    def _take_delta(self, delta, seen: dict[str, Widget], result: RunResult, in_sidebar: bool) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            result.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "alert":
            if element.alert.format == 1:  # Alert.Format.ERROR
                result.errors.append(element.alert.body)
            result.texts.append(element.alert.body)
        elif kind in ("markdown", "heading", "text"):
            result.texts.append(getattr(element, kind).body)
        elif kind in ("arrow_vega_lite_chart", "vega_lite_chart"):
            result.charts += 1
        elif kind in ("arrow_data_frame", "arrow_table", "data_frame", "table"):
            result.tables += 1
        elif kind in WIDGET_KINDS:
            proto = getattr(element, kind)
            widget = Widget(kind=kind, id=proto.id, label=getattr(proto, "label", ""),
                            form_id=getattr(proto, "form_id", ""), proto=proto, in_sidebar=in_sidebar)
            seen[widget.id] = widget
            if getattr(proto, "set_value", False):
                # The script set this widget's value (session_state); the browser adopts it.
                adopted = _state_from_server(widget)
                if adopted is not None:
                    self.values[widget.id] = adopted


def widget_state(widget: Widget, value: Any) -> WidgetState:
    """The ``WidgetState`` the frontend would send for ``value`` (option labels for choice widgets)."""
    state = WidgetState(id=widget.id)
    kind = widget.kind
    if kind in ("selectbox", "text_input", "text_area", "time_input", "color_picker"):
        if kind == "selectbox" and widget.options and value not in widget.options:
            raise ClientError(f"{value!r} is not an option of {widget.label!r}: {widget.options}")
        state.string_value = str(value)
    elif kind == "multiselect":
        values = [value] if isinstance(value, str) else list(value)
        state.string_array_value.data.extend(str(v) for v in values)
    elif kind == "radio":
        state.int_value = widget.options.index(value)
    elif kind == "checkbox":
        state.bool_value = bool(value)
    elif kind == "slider":
        values = value if isinstance(value, (list, tuple)) else [value]
        state.double_array_value.data.extend(float(v) for v in values)
    elif kind == "date_input":
        values = value if isinstance(value, (list, tuple)) else [value]
        state.string_array_value.data.extend(
            v if isinstance(v, str) else v.strftime("%Y/%m/%d") for v in values)
    elif kind == "number_input":
        state.double_value = float(value)
    elif kind == "button_group":
        options = [opt.content for opt in widget.proto.options]
        values = [value] if isinstance(value, str) else list(value)
        state.int_array_value.data.extend(options.index(v) for v in values)
    elif kind in ("button", "download_button"):
        state.trigger_value = True
    else:
        raise ClientError(f"cannot set a {kind} widget")
    return state


def _state_from_server(widget: Widget) -> WidgetState | None:
    proto, kind = widget.proto, widget.kind
    state = WidgetState(id=widget.id)
    if kind == "selectbox" and proto.HasField("raw_value"):
        state.string_value = proto.raw_value
    elif kind == "multiselect":
        state.string_array_value.data.extend(proto.raw_values)
    elif kind in ("text_input", "text_area") and proto.HasField("value"):
        state.string_value = proto.value
    elif kind == "checkbox":
        state.bool_value = proto.value
    elif kind == "radio" and proto.HasField("value"):
        state.int_value = proto.value
    elif kind == "slider":
        state.double_array_value.data.extend(proto.value)
    elif kind == "date_input":
        state.string_array_value.data.extend(proto.value)
    else:
        return None
    return state


async def wait_until_healthy(base_url: str, timeout: float = 60.0) -> None:
    """Wait for the server's health endpoint (bounded)."""
    import requests

    _require_loopback(base_url)
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            resp = await asyncio.to_thread(requests.get, f"{base_url}/_stcore/health", timeout=2)
            if resp.status_code == 200:
                return
            last = f"HTTP {resp.status_code}"
        except requests.RequestException as exc:
            last = str(exc)
        await asyncio.sleep(0.25)
    raise ClientError(f"portal at {base_url} not healthy within {timeout:.0f} s ({last})")
