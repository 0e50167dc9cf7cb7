"""The soak: many websocket-level sessions changing filters and pages for a long time.

    python -m bench soak --users 50 --minutes 10                  # the full soak, on county data
    python -m bench soak --users 10 --minutes 1 --scale small     # what CI runs (tests/test_soak.py)

Passes when no session saw an error (exception shown, dropped connection, timeout, page not found), every
session signed in and kept working, and the server's memory after warm-up (every session has opened every
page of its menu once) grew by less than the bound.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench.load import LoadConfig, LoadResult, run_load
from bench.server import PortalServer

MB = 2**20
DEFAULT_GROWTH_BOUND_MB = 150


def soak(data_dir: Path, users: int, seconds: float, think_s=(1.0, 3.0), sample_every_s: float = 1.0,
         workers: int = 1) -> LoadResult:
    """Run the soak against a fresh server (``serve --workers``) on ``data_dir`` (which must hold published marts)."""
    os.environ["SEND_PORTAL_DATA_DIR"] = str(data_dir)
    from portal import demo_users

    demo_users.ensure_demo_users()
    with PortalServer(data_dir, workers=workers) as server:
        cfg = LoadConfig(users=users, duration_s=seconds, think_s=think_s, ramp_s=min(10.0, users * 0.2),
                         warm_up=True)
        return run_load(server, cfg, sample_every_s=sample_every_s)


def judge(result: LoadResult, growth_bound_mb: float = DEFAULT_GROWTH_BOUND_MB,
          min_actions_per_user: int = 3, settle_share: float = 0.25) -> list[str]:
    """Why the soak failed (empty when it passed)."""
    problems = [f"error: {e}" for e in result.errors[:20]]
    if len(result.errors) > 20:
        problems.append(f"... and {len(result.errors) - 20} more errors")
    logins = sum(1 for a in result.actions if a.kind == "login")
    if logins < result.config.users:
        problems.append(f"only {logins} of {result.config.users} sessions signed in")
    actions = sum(1 for a in result.actions if a.kind in ("filter", "page"))
    if actions < result.config.users * min_actions_per_user:
        problems.append(f"only {actions} filter changes and page opens for {result.config.users} sessions")
    growth = result.rss_growth(settle_share) / MB
    if growth > growth_bound_mb:
        problems.append(f"server memory grew by {growth:.0f} MB after warm-up (bound {growth_bound_mb:.0f} MB)")
    return problems


def describe(result: LoadResult) -> str:
    f, p = result.percentiles_ms("filter"), result.percentiles_ms("page")
    return (f"{result.config.users} sessions, {result.wall_seconds:.0f} s: {f['n']} filter changes "
            f"(p50 {f['p50']:.0f} ms, p95 {f['p95']:.0f} ms, p99 {f['p99']:.0f} ms), {p['n']} page opens "
            f"(p95 {p['p95']:.0f} ms), {len(result.errors)} errors, server memory peak "
            f"{result.peak_rss / MB:,.0f} MB, growth after warm-up {result.rss_growth() / MB:+.0f} MB")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--scale", default="county", choices=["small", "county", "national"])
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/send-portal-bench"))
    parser.add_argument("--growth-bound-mb", type=float, default=DEFAULT_GROWTH_BOUND_MB)
    parser.add_argument("--workers", type=int, default=None,
                        help="server processes, as `portal serve --workers` (default: one more than the CPU cores)")
    args = parser.parse_args(argv)
    from portal.worker_pool import recommended_workers

    workers = args.workers or recommended_workers()
    data_dir = args.data_root / args.scale
    if not (data_dir / "marts" / "CURRENT").exists():
        from bench.build import build

        print(f"Building the {args.scale} demo in {data_dir} first ...", flush=True)
        built = build(args.scale, data_dir)
        if not built.ok:
            print(f"The build failed:\n{built.output_tail}")
            return 1
    print(f"Soak: {args.users} sessions for {args.minutes:g} minutes on {data_dir}, {workers} server "
          f"process(es) ...", flush=True)
    result = soak(data_dir, args.users, args.minutes * 60, workers=workers)
    print(describe(result))
    problems = judge(result, args.growth_bound_mb)
    for problem in problems:
        print(f"FAIL {problem}")
    print("PASS" if not problems else "FAILED")
    return 0 if not problems else 1
