"""Server-side settings that Streamlit does not expose as options, measured by ``python -m bench``.

Streamlit's websocket handler leaves Nagle's algorithm on. A script run sends many small messages; after
the first one, the kernel holds the rest until the browser acknowledges it, and browsers delay that
acknowledgement by up to 40 ms. So every filter change waited about 40 ms for nothing (measured: 48 ms
to 11 ms for a light page). Setting ``TCP_NODELAY`` on each websocket, as browsers and most servers do for
interactive traffic, removes the wait. It only changes when bytes are sent, never what is sent.
"""
from __future__ import annotations

import logging

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
