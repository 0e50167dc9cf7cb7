"""Many simulated users at once against a running portal, at the websocket level.

Each simulated user opens the portal, signs in through the login form, then repeatedly (after a short
"think time") either changes a filter on the page it is on or opens another page from its menu. Every
action is timed from the message leaving the client to the script having finished (``script_finished``),
which is when the browser shows the finished page. The server's memory is sampled throughout.

Used by the benchmark (1, 20, 50 users) and by the soak (50 users for 10 minutes; 10 users for 45 s in CI).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import random
import time
from dataclasses import dataclass, field

import numpy as np

from bench.ws_client import ClientError, RunResult, StreamlitSession, Widget
from portal import ui


@dataclass
class LoadConfig:
    users: int
    duration_s: float                  # each user stops starting new actions after this (after its warm-up)
    username: str = "demo-commissioner"
    password: str = "demo-commissioner-password"
    pages: list[str] | None = None     # url paths to visit; None = every page in the user's menu
    think_s: tuple[float, float] = (1.0, 3.0)  # pause between one user's actions (uniform)
    page_switch_share: float = 0.2     # share of actions that open another page (the rest change filters)
    max_actions_per_user: int = 10_000
    action_timeout_s: float = 60.0
    seed: int = 20261122
    ramp_s: float = 5.0                # users start spread over this many seconds, as people arrive
    warm_up: bool = False              # each user first opens every page of its menu once (soak)


@dataclass
class Action:
    kind: str       # "login", "filter", "page"
    page: str
    seconds: float
    ok: bool
    at: float = 0.0  # seconds from the start of the load to the end of the action


@dataclass
class LoadResult:
    config: LoadConfig
    actions: list[Action] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)           # failures shown, timeouts, dropped connections
    error_boxes: list[str] = field(default_factory=list)      # every st.error message shown
    rss_samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, bytes)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    warmed_up_at: list[float] = field(default_factory=list)  # seconds since start, one per warmed-up user

    def latencies(self, kind: str, after: float = 0.0) -> np.ndarray:
        """Seconds each successful action of ``kind`` took, of those started ``after`` seconds or later."""
        return np.array([a.seconds for a in self.actions if a.kind == kind and a.ok and a.at - a.seconds >= after])

    @property
    def signed_in_at(self) -> float:
        """Seconds from the start until the last session finished signing in."""
        return max((a.at for a in self.actions if a.kind == "login"), default=0.0)

    def percentiles_ms(self, kind: str, after: float = 0.0) -> dict[str, float]:
        values = self.latencies(kind, after)
        if not len(values):
            return {"n": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
        p50, p95, p99 = np.percentile(values, [50, 95, 99]) * 1000
        return {"n": int(len(values)), "p50": float(p50), "p95": float(p95), "p99": float(p99)}

    @property
    def peak_rss(self) -> int:
        return max((b for _, b in self.rss_samples), default=0)

    def rss_growth(self, settle_share: float = 0.25) -> int:
        """Memory growth after warm-up: the last tenth of the run minus the peak during warm-up.

        Caches and the first page loads fill memory early on; a leak shows as growth after that. With
        ``LoadConfig.warm_up`` the warm-up ends when every user has opened every page once; otherwise it
        is the first ``settle_share`` of the run.
        """
        if len(self.rss_samples) < 4:
            return 0
        end = self.rss_samples[-1][0]
        warm = max(self.warmed_up_at) if self.config.warm_up and self.warmed_up_at else end * settle_share
        early = [b for t, b in self.rss_samples if t <= warm]
        late = [b for t, b in self.rss_samples if t >= max(warm, end * 0.9)]
        return int(np.median(late) - max(early)) if early and late else 0


def _filter_widgets(session: StreamlitSession) -> list[Widget]:
    """Widgets a user changes to filter the page: the global filters in the sidebar first."""
    choosable = [w for w in session.widgets.values()
                 if w.kind in ("selectbox", "multiselect", "radio") and not w.form_id
                 and len(w.options) > 1 and not w.proto.disabled]
    sidebar = [w for w in choosable if w.in_sidebar]
    return sidebar or choosable


def _shown(session: StreamlitSession, widget: Widget):
    state = session.values.get(widget.id)
    if state is not None and state.WhichOneof("value") == "string_value":
        return state.string_value
    return widget.current


async def change_a_filter(session: StreamlitSession, rng: random.Random) -> RunResult | None:
    """Set one of the page's filters (a sidebar one if there are any) to another of its values, chosen at
    random, as a user exploring the page would; None when the page has no filter to change."""
    widgets = _filter_widgets(session)
    if not widgets:
        return None
    widget = rng.choice(widgets)
    current = _shown(session, widget)
    value = rng.choice([o for o in widget.options if o != current] or widget.options)
    return await session.set(widget.label, [value] if widget.kind == "multiselect" else value, widget.kind)


def failures(page: str, run: RunResult) -> list[str]:
    """What in ``run`` a user would see as broken: an exception, a missing page, or one of the portal's
    failure messages."""
    found = list(run.exceptions)
    if run.page_not_found:
        found.append(f"page {page!r} not found")
    return found + [box for box in run.errors if box in ui.FAILURE_MESSAGES]


def _record(result: LoadResult, index: int, page: str, run: RunResult) -> bool:
    """Note the failures in ``run`` against user ``index``; True when there were none."""
    broken = failures(page, run)
    result.error_boxes.extend(run.errors)
    result.errors.extend(f"user {index} on {page or 'home'}: {failure[:300]}" for failure in broken)
    return not broken


def _add_action(result: LoadResult, index: int, kind: str, page: str, run: RunResult, started_at: float) -> None:
    ok = _record(result, index, page, run)
    result.actions.append(Action(kind, page, run.seconds, ok, time.monotonic() - started_at))


async def _simulate_user(index: int, url: str, cfg: LoadConfig, result: LoadResult, started_at: float,
                         stop_at: float) -> None:
    rng = random.Random(cfg.seed + index)
    await asyncio.sleep(cfg.ramp_s * index / max(cfg.users, 1))
    session = StreamlitSession(url, timeout=cfg.action_timeout_s)
    page = "home"
    try:
        await session.connect()
        if not _record(result, index, "login form", await session.open()):
            return
        run = await session.login(cfg.username, cfg.password)
        if not session.pages:
            result.errors.append(f"user {index}: login did not reach the portal menu ({run.texts[-3:]})")
            return
        _add_action(result, index, "login", page, run, started_at)
        # Every session acts for the full duration once signed in, however long signing in took.
        stop_at = max(stop_at, time.monotonic() + cfg.duration_s - cfg.ramp_s)
        pages = [p for p in session.pages if cfg.pages is None or p in cfg.pages] or list(session.pages)
        if cfg.warm_up:
            for page in pages:
                run = await session.go_to(page)
                _add_action(result, index, "warm-up", page, run, started_at)
            result.warmed_up_at.append(time.monotonic() - started_at)
            stop_at = time.monotonic() + cfg.duration_s  # the measured part starts after the warm-up
        for _ in range(cfg.max_actions_per_user):
            await asyncio.sleep(rng.uniform(*cfg.think_s))
            if time.monotonic() >= stop_at:
                break
            run = None if rng.random() < cfg.page_switch_share else await change_a_filter(session, rng)
            kind = "filter"
            if run is None:
                page = rng.choice(pages)
                kind, run = "page", await session.go_to(page)
            _add_action(result, index, kind, page, run, started_at)
    except (ClientError, OSError) as exc:
        result.errors.append(f"user {index} on {page or 'home'}: {type(exc).__name__}: {exc}")
    finally:
        await session.close()


async def _sample_memory(server, result: LoadResult, started: float, done: asyncio.Event,
                         every_s: float) -> None:
    while not done.is_set():
        result.rss_samples.append((time.monotonic() - started, server.rss_bytes()))
        try:
            await asyncio.wait_for(done.wait(), every_s)
        except asyncio.TimeoutError:
            pass
    result.rss_samples.append((time.monotonic() - started, server.rss_bytes()))


async def run_load_async(server, cfg: LoadConfig, sample_every_s: float = 0.5) -> LoadResult:
    """Drive ``cfg.users`` simulated users against ``server`` (a ``PortalServer``)."""
    result = LoadResult(config=cfg)
    started = time.monotonic()
    stop_at = started + cfg.ramp_s + cfg.duration_s
    cpu_before = server.cpu_seconds()
    done = asyncio.Event()
    sampler = asyncio.create_task(_sample_memory(server, result, started, done, sample_every_s))
    await asyncio.gather(*(_simulate_user(i, server.url, cfg, result, started, stop_at)
                           for i in range(cfg.users)))
    done.set()
    await sampler
    result.wall_seconds = time.monotonic() - started
    result.cpu_seconds = server.cpu_seconds() - cpu_before
    return result


def run_async(coroutine):
    """``asyncio.run``, also from a thread that already runs an event loop (Playwright's sync API leaves
    one running in the test process), by running the coroutine on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run_load(server, cfg: LoadConfig, sample_every_s: float = 0.5) -> LoadResult:
    return run_async(run_load_async(server, cfg, sample_every_s))
