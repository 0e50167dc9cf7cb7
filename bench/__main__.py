"""``python -m bench``: measure the portal and write docs/performance.md.

    python -m bench                         # county scale, every part (about 15 minutes)
    python -m bench --scale national --parts build,queries,load,pages --users 1   # about 35 minutes
    python -m bench --parts queries,compare --reuse-data
    python -m bench --public FOLDER         # with published statistics loaded, so "How do we compare?" is measured
    python -m bench soak --users 50 --minutes 10     # the full soak (SPEC §5, issue 10)

Each scale is built into its own data directory under ``--data-root`` (default /tmp/send-portal-bench),
never the demo's ``data/``. The printed tables and docs/performance.md show the same figures.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

PARTS = ("build", "queries", "compare", "load", "pages")
DEFAULT_DATA_ROOT = Path("/tmp/send-portal-bench")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["soak"]:
        from bench.soak import main as soak_main

        return soak_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="append", choices=["small", "county", "national"],
                        help="scale(s) to measure (default: county)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated parts to run, of {', '.join(PARTS)}")
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--reuse-data", action="store_true",
                        help="use an already-built data directory instead of building (no build timing)")
    parser.add_argument("--users", default="1,20,50", help="concurrent sessions for the load test")
    parser.add_argument("--load-seconds", type=float, default=60.0, help="duration of each load level")
    parser.add_argument("--query-runs", type=int, default=20, help="filter combinations per query")
    parser.add_argument("--page-changes", type=int, default=10,
                        help="filter changes on each page in the pages part")
    parser.add_argument("--workers", type=int, default=None,
                        help="server processes for the load and pages parts, as `portal serve --workers` "
                             "(default: one more than the CPU cores, the production setting)")
    parser.add_argument("--public", type=Path, default=None, metavar="FOLDER",
                        help="published statistics to load into each scale's data first (as `portal public "
                             "load FOLDER`), so the \"How do we compare?\" page and its queries are measured")
    parser.add_argument("--output", type=Path, default=None,
                        help="Markdown file to write (default docs/performance.md; '-' for none)")
    args = parser.parse_args(argv)

    from bench.runner import BenchOptions, run_all
    from portal.worker_pool import recommended_workers

    options = BenchOptions(
        scales=args.scale or ["county"],
        parts=[p.strip() for p in args.parts.split(",") if p.strip()],
        data_root=args.data_root,
        reuse_data=args.reuse_data,
        users=[int(u) for u in args.users.split(",") if u.strip()],
        load_seconds=args.load_seconds,
        query_runs=args.query_runs,
        page_changes=args.page_changes,
        workers=args.workers or recommended_workers(),
        public=args.public,
        output=None if str(args.output) == "-" else (args.output or _default_report()),
    )
    unknown = set(options.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    return run_all(options)


def _default_report() -> Path:
    from portal import config

    return config.REPO_ROOT / "docs" / "performance.md"


if __name__ == "__main__":
    raise SystemExit(main())
