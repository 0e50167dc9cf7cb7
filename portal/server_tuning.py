"""Server-side settings that Streamlit does not expose as options, measured by ``python -m bench``.

Streamlit's websocket handler leaves Nagle's algorithm on. A script run sends many small messages; after
the first one, the kernel holds the rest until the browser acknowledges it, and browsers delay that
acknowledgement by up to 40 ms. So every filter change waited about 40 ms for nothing (measured: 48 ms
to 11 ms for a light page). Setting ``TCP_NODELAY`` on each websocket, as browsers and most servers do for
interactive traffic, removes the wait. It only changes when bytes are sent, never what is sent.

Streamlit also puts the entry script's path at the front of ``sys.path`` when a script run starts, if it is
not there, and takes it out when that run ends. With several sessions running at once, one run's removal
shifts every entry while another run is importing, and Python's import system, walking that same list,
skips an entry: under load, pages failed with "No module named 'unittest'" (a lazy import inside numpy,
from scipy). ``python -m portal.server_tuning run portal/app.py ...`` (what ``portal serve`` runs) adds the
path once, at the end, before the server starts, so no run ever changes the list.

It also imports every page's logic and reads every named query before the server starts
(``preload_page_modules``, ``preload_query_specs``), runs each journey page once as a commissioner
(``warm_up_pages``), so the first visit to a page does not wait for what a process does only once, then
moves everything loaded out of the garbage collector's way (``freeze_startup_objects``).
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import sys
import time

log = logging.getLogger(__name__)


def enable_websocket_nodelay() -> bool:
    """Make every new browser websocket send without Nagle delay; idempotent. True if active."""
    try:
        from streamlit.web.server.browser_websocket_handler import BrowserWebSocketHandler
    except ImportError:  # a Streamlit without this module: keep its default behaviour
        return False
    if getattr(BrowserWebSocketHandler, "_portal_nodelay", False):
        return True
    original_open = BrowserWebSocketHandler.open

    def open_without_nagle(self, *args, **kwargs):
        try:
            self.set_nodelay(True)
        except Exception:  # never let a socket option stop a connection
            log.warning("could not set TCP_NODELAY on a websocket", exc_info=True)
        return original_open(self, *args, **kwargs)

    BrowserWebSocketHandler.open = open_without_nagle
    BrowserWebSocketHandler._portal_nodelay = True
    return True


def create_elements_without_renaming() -> bool:
    """Stop Streamlit renaming its own methods every time an element is drawn; idempotent. True if active.

    ``DeltaGenerator.__init__`` (Streamlit 1.51) sets ``__module__`` on every function of its 30-odd
    mixin classes, about 370 assignments, each time it runs, and it runs for every element, column and
    expander a page draws. A cProfile of a Waiting lists rerun put 6 ms of its 75 ms there. The renaming
    only changes what ``help()`` prints and gives the same result every time, so it is done once here, and
    elements are created with the rest of Streamlit's ``__init__`` (the five attributes it sets; checked
    against Streamlit's own in tests/test_server_tuning.py)."""
    try:
        from streamlit.delta_generator import DeltaGenerator
    except ImportError:
        return False
    if getattr(DeltaGenerator, "_portal_original_init", None) is not None:
        return True
    for mixin in DeltaGenerator.__bases__:
        for func in mixin.__dict__.values():
            if callable(func):
                func.__module__ = DeltaGenerator.__module__
    original_init = DeltaGenerator.__init__
    main = original_init.__defaults__[0]  # RootContainer.MAIN, as Streamlit declares it

    def init_without_renaming(self, root_container=main, cursor=None, parent=None, block_type=None):
        if root_container is not None and cursor is not None and root_container != cursor.root_container:
            raise RuntimeError("DeltaGenerator root_container and cursor.root_container must be the same")
        self._root_container = root_container
        self._provided_cursor = cursor
        self._parent = parent
        self._block_type = block_type
        self._form_data = None

    init_without_renaming.__doc__ = original_init.__doc__
    DeltaGenerator.__init__ = init_without_renaming
    DeltaGenerator._portal_original_init = original_init
    return True


def pin_script_path(main_script: str) -> None:
    """Keep ``main_script`` on ``sys.path`` for good, so Streamlit's runs never insert or remove it."""
    if main_script not in sys.path:
        sys.path.append(main_script)


def preload_page_modules() -> list[str]:
    """Import every page's logic (``portal.journeys``, ``portal.analysis``) before the server accepts anyone.

    The first visit to Health services after a start took about 1.4 s, 1.2 s of it importing statsmodels
    for the impact view; every later visit took about 0.2 s. Paying the imports at start-up keeps the
    first user of each page from waiting for them."""
    import pkgutil

    import portal.analysis
    import portal.journeys

    loaded = []
    for package in (portal.analysis, portal.journeys):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
            loaded.append(module.name)
    return loaded


def preload_query_specs() -> int:
    """Read and check every named query file before the server accepts anyone.

    Parsing a query's YAML takes 2–3 ms the first time a process runs it (kept afterwards), and a page
    opens with five or six queries: its first visitor waited about 12 ms more than the next."""
    from portal import queries

    names = queries.list_queries()
    for name in names:
        queries.load_query(name)
    return len(names)


WARM_UP_USER = ("warm-up", "Start-up warm-up")  # username and name of the synthetic commissioner


def warm_up_pages(budget_s: float = 60.0) -> dict[str, float]:
    """Run each journey page of a commissioner's menu once, headless, before the server accepts anyone.

    A page's first visit in a server process was slower than any later one with new filters and nothing
    cached: 20-70 ms more for most pages, about 400 ms for the first page of all (the chart schema, each
    mart's Parquet footer, the first table and chart of each kind, all done once per process). Paying that
    here, as a synthetic commissioner with the default filters, also leaves the pages' queries for those
    filters in the result cache and each page's opening plan (``portal.prefetch``) for commissioners. Only
    aggregate and published figures are involved: a commissioner's pages list no one, and nothing here is
    written to the audit log or the operational database. A page that fails here is logged and left to
    report its own fault to its first visitor. The other pages (home, help, self-service, the data team's)
    are light, and link to other pages, which a page run on its own cannot do. Returns the seconds each
    page took."""
    from streamlit.testing.v1 import AppTest

    from portal import navigation, ui
    from portal.roles import COMMISSIONER, User

    user = User(*WARM_UP_USER, COMMISSIONER)
    started, took = time.perf_counter(), {}
    for spec in [page for page in navigation.pages_for(COMMISSIONER) if page.section == "Journeys"]:
        if time.perf_counter() - started > budget_s:
            log.warning("warm-up stopped after %.0f s, before %s", budget_s, spec.url_path)
            break
        page_started = time.perf_counter()
        try:
            test = AppTest.from_file(spec.absolute_path, default_timeout=budget_s)
            test.session_state[ui.USER_KEY] = user
            test.run()
            if test.exception:
                log.warning("warm-up of %s: %s", spec.url_path, test.exception[0].message)
        except Exception:  # noqa: BLE001 - the server must start whatever a page does
            log.exception("warm-up of %s failed", spec.url_path)
        took[spec.url_path] = time.perf_counter() - page_started
    log.info("pages warmed up in %.1f s", time.perf_counter() - started)
    return took


# What the entry script and the pages import besides the page logic (portal/app.py, pages/*.py).
APP_MODULES = ("portal.a11y", "portal.auth", "portal.glossary", "portal.navigation", "portal.ops",
               "portal.store", "portal.textfiles", "portal.ui", "portal.uploads")


# What Streamlit logs when its code runs outside a server's script run, which is what importing the pages and
# the warm-up's headless runs are. Expected there, and 23 lines of warnings in every start's log otherwise.
OUTSIDE_A_RUN_WARNINGS = {
    "streamlit.runtime.scriptrunner_utils.script_run_context": "missing ScriptRunContext",
    "streamlit.runtime.caching.cache_data_api": "No runtime found",
}


class _DropMessage(logging.Filter):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


@contextlib.contextmanager
def outside_a_run_warnings_dropped():
    """Drop only :data:`OUTSIDE_A_RUN_WARNINGS` while the start-up work runs; anything else still logs.
    A filter, not a level: Streamlit sets its loggers' levels again whenever it reads its configuration."""
    dropping = [(logging.getLogger(name), _DropMessage(text)) for name, text in OUTSIDE_A_RUN_WARNINGS.items()]
    for logger, drop in dropping:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger, drop in dropping:
            logger.removeFilter(drop)


def forget_startup_configuration() -> None:
    """Make the server read its configuration as if for the first time.

    The warm-up's headless runs read Streamlit's configuration without the server's command-line options.
    When the server then reads it with them, Streamlit compares the two and logs "An update to the [server]
    config option section was detected. To have these changes be reflected, please restart streamlit.",
    although the options read then are the ones the server starts with: a false alarm that told operators
    to restart for nothing."""
    from streamlit import config

    config._config_options = None


def freeze_startup_objects() -> int:
    """Collect once, then exempt every object alive now (modules, classes, functions) from later collections.

    Python's full collections walk every tracked object. With pandas, Altair, statsmodels and Streamlit
    loaded that is about 190,000 objects, and a full collection stopped the whole server for 65–85 ms,
    three times in one session's 130 actions (measured with ``gc.callbacks``): every session waited, and
    the unlucky action was counted in the p95. Objects imported at start-up live as long as the process,
    so collecting them can never free anything. ``gc.freeze`` moves them to a generation the collector
    skips; what sessions create later is collected as before. Returns how many objects were frozen."""
    for module in APP_MODULES:
        importlib.import_module(module)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def main(argv: list[str]) -> None:
    """Start Streamlit as ``python -m streamlit`` would, with the settings above in place first."""
    if len(argv) < 2 or argv[0] != "run":
        raise SystemExit("usage: python -m portal.server_tuning run SCRIPT [streamlit options]")
    pin_script_path(argv[1])
    enable_websocket_nodelay()
    create_elements_without_renaming()
    with outside_a_run_warnings_dropped():
        preload_page_modules()
        preload_query_specs()
        warm_up_pages()
        freeze_startup_objects()
    forget_startup_configuration()  # last: everything above may read the configuration
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *argv]
    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
