"""One session visits every page of its menu and changes that page's filters: figures for each page.

The load test opens pages at random, so in a minute some pages are opened once or not at all and its p95
says little about the slowest page. The targets are about "any page", so this part opens each page of the
demo commissioner's menu in turn and changes its sidebar filters ``changes`` times, one after another
(no think time), and reports each page's own times.
"""
from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field

from bench.load import change_a_filter, failures
from bench.ws_client import StreamlitSession


@dataclass
class PageTimes:
    page: str
    open_s: float
    filter_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def slowest_s(self) -> float:
        return max([self.open_s, *self.filter_s])

    @property
    def filter_p50_s(self) -> float:
        return statistics.median(self.filter_s) if self.filter_s else float("nan")


async def visit_every_page(url: str, changes: int, username: str = "demo-commissioner",
                           password: str = "demo-commissioner-password", seed: int = 20261122,
                           timeout_s: float = 120.0) -> list[PageTimes]:
    rng = random.Random(seed)
    found: list[PageTimes] = []
    async with StreamlitSession(url, timeout=timeout_s) as session:
        await session.open()
        await session.login(username, password)
        if not session.pages:
            raise RuntimeError("sign-in did not reach the portal menu")
        for page in list(session.pages):
            run = await session.go_to(page)
            times = PageTimes(page or "home", run.seconds, errors=failures(page, run))
            for _ in range(changes):
                run = await change_a_filter(session, rng)
                if run is None:
                    break
                times.filter_s.append(run.seconds)
                times.errors += failures(page, run)
            found.append(times)
    return found
