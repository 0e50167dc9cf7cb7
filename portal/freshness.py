"""How a source feed and the day it last arrived are written for people: the feed's title from its contract
("EHCP casework (SEN2)", not ``sen2_casework`` or "Sen2 casework") and the day in words ("25 November
2026"). The feed's code still appears where a figure is traced (the "What does this mean?" panel, the Excel
'About' sheet), since the data team knows feeds by it. Plain text, which reads the same in Markdown."""
from __future__ import annotations

import datetime as dt
import functools

from portal import contracts


@functools.cache
def _titles() -> dict[str, str]:
    return {feed: contract.title for feed, contract in contracts.load_contracts().items()}


def feed_title(feed: str) -> str:
    """The feed's title from its contract; a feed without one (an old manifest's) by its code in words."""
    return _titles().get(feed) or feed.replace("_", " ")


def received_text(day: str) -> str:
    """An ISO day ("2026-11-25") as "25 November 2026"; anything else ("not recorded") as it is."""
    try:
        return f"{dt.date.fromisoformat(day):%-d %B %Y}"
    except (TypeError, ValueError):
        return day


def feed_received(feed: str, day: str) -> str:
    """One feed's line where a figure is traced: "EHCP casework (SEN2) (sen2_casework), last received ..."."""
    return f"{feed_title(feed)} ({feed}), last received {received_text(day)}"
