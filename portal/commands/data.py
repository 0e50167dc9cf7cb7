"""``build-demo``, ``ingest`` and ``build``: from raw feeds to published marts."""
from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from portal import config


class Progress:
    """A one-line text progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, item: str = "") -> None:
        width = 30
        filled = int(width * done / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        elapsed = time.monotonic() - self.started  # long national runs are read from logs, so say when
        line = f"{self.label} [{bar}] {done}/{total}{' ' + item if item else ''} ({elapsed:.0f}s)"
        if self.tty:
            sys.stderr.write("\r" + line[:100].ljust(100))
            if done >= total:
                sys.stderr.write("\n")
        elif item:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def note(self, message: str) -> None:
        sys.stderr.write(f"{self.label}: {message}\n")
        sys.stderr.flush()


def register(subparsers) -> None:
    demo = subparsers.add_parser("build-demo", help="generate the synthetic ICB, ingest its feeds and build the marts")
    demo.add_argument("--scale", choices=["small", "county", "national"], default="county")
    demo.add_argument("--seed", type=int, default=20261031)
    demo.set_defaults(func=run_build_demo)

    ingest = subparsers.add_parser("ingest", help="validate, link and land feed files (files or folders)")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--feed", help="the feed these files belong to (default: from each file name)")
    ingest.set_defaults(func=run_ingest)

    build = subparsers.add_parser("build", help="build the marts from the landed feeds and publish a new version")
    build.add_argument("--as-of", type=dt.date.fromisoformat, help="snapshot date (default: the GP extract date)")
    build.set_defaults(func=run_build)

    doc = subparsers.add_parser("contracts-doc", help="write docs/contracts.md from the feed contracts")
    doc.add_argument("--check", action="store_true", help="exit 1 if docs/contracts.md is out of date")
    doc.set_defaults(func=run_contracts_doc)


def run_contracts_doc(args) -> int:
    from portal.contracts import render_markdown

    target = config.REPO_ROOT / "docs" / "contracts.md"
    text = render_markdown()
    if args.check:
        current = target.read_text() if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run python -m portal contracts-doc", file=sys.stderr)
            return 1
        print(f"{target} is up to date.")
        return 0
    target.write_text(text)
    print(f"Wrote {target}.")
    return 0


def _print_outcomes(outcomes) -> int:
    failed = 0
    for o in outcomes:
        if o.status == "landed":
            linked = f", {o.linked_rows:,} linked ({o.linked_rows / o.rows:.1%})" if o.linked_rows is not None and o.rows else ""
            print(f"  landed      {o.file}  ({o.feed}: {o.rows:,} rows{linked})")
        elif o.status == "already ingested":
            print(f"  unchanged   {o.file}  (already ingested)")
        else:
            failed += 1
            print(f"  FAILED      {o.file}: {o.status}", file=sys.stderr)
            print("    " + o.message.replace("\n", "\n    "), file=sys.stderr)
            if o.report:
                print(f"    report: {o.report}", file=sys.stderr)
    return failed


def run_ingest(args) -> int:
    from portal.ingest import IngestError, ingest

    try:
        outcomes = ingest(args.paths, feed=args.feed, progress=Progress("ingest"))
    except (IngestError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    failed = _print_outcomes(outcomes)
    landed = sum(o.status == "landed" for o in outcomes)
    print(f"{landed} file(s) landed, {sum(o.status == 'already ingested' for o in outcomes)} unchanged, {failed} failed.")
    if failed:
        print("Some files were not ingested (see above); files that failed their contract are in "
              f"{config.quarantine_dir()} with a report.", file=sys.stderr)
        return 1
    return 0


def run_build(args) -> int:
    from portal.marts import BuildError, build

    started = time.monotonic()
    try:
        version = build(as_of=args.as_of, progress=Progress("build"))
    except BuildError as exc:
        print(f"Build failed, the live marts are unchanged: {exc}", file=sys.stderr)
        return 1
    _print_version(version, time.monotonic() - started)
    return 0


def _print_version(version, seconds: float) -> None:
    m = version.manifest
    print(f"Published {version.name} (as of {m['as_of']}) in {seconds:.1f}s:")
    for mart, info in sorted(m["marts"].items()):
        print(f"  {mart:<26} {info['rows']:>12,} rows")


def run_build_demo(args) -> int:
    from portal.ingest import IngestError
    from portal.marts import BuildError
    from portal.synth.generator import WorkerDied

    try:
        summary = build_demo(args.scale, seed=args.seed, verbose=True)
    except (IngestError, BuildError, WorkerDied, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"Demo ({args.scale}, as of {summary['as_of']}) ready in {summary['seconds']:.1f}s "
          f"(generate {summary['generate_seconds']:.1f}s, ingest {summary['ingest_seconds']:.1f}s, "
          f"build {summary['build_seconds']:.1f}s; CPU seconds {summary['cpu_seconds']}). "
          f"Ground truth: {summary['ground_truth']}")
    return 0


def build_demo(scale: str, seed: int = 20261031, verbose: bool = False) -> dict:
    """Generate the synthetic ICB into feeds/<scale>, ingest it and publish marts (the CLI and tests share this)."""
    import shutil

    from portal.ingest import IngestError, ingest
    from portal.marts import build
    from portal.synth import generate

    started, cpu_started = time.monotonic(), time.process_time()
    progress = Progress("build-demo") if verbose else None
    out_dir = config.feeds_dir() / scale
    if out_dir.exists():
        shutil.rmtree(out_dir)
    if progress:
        progress.note(f"generating the {scale} synthetic ICB into {out_dir}")
    truth = generate(scale, out_dir, seed=seed, progress=progress.note if progress else None)
    generated, cpu_generated = time.monotonic(), time.process_time()
    if progress:
        progress.note(f"generated in {generated - started:.1f}s; ingesting")
    outcomes = ingest([out_dir], progress=Progress("ingest") if verbose else None)
    if verbose:
        _print_outcomes(outcomes)
    failed = [o for o in outcomes if o.failed]
    if failed:
        raise IngestError("demo feeds failed to ingest: " + "; ".join(f"{o.file}: {o.message}" for o in failed))
    ingested, cpu_ingested = time.monotonic(), time.process_time()
    if progress:
        progress.note(f"ingested in {ingested - generated:.1f}s; building marts")
    version = build(scale=scale, progress=Progress("build") if verbose else None)
    if verbose:
        _print_version(version, time.monotonic() - ingested)
    done, cpu_done = time.monotonic(), time.process_time()
    return {"as_of": truth["as_of"], "version": version.name, "seconds": done - started,
            "generate_seconds": generated - started, "ingest_seconds": ingested - generated,
            "build_seconds": done - ingested, "ground_truth": out_dir / "ground_truth.json",
            # CPU seconds (all threads) tell the cost apart from waiting on a busy machine
            "cpu_seconds": {"generate": round(cpu_generated - cpu_started, 1),
                            "ingest": round(cpu_ingested - cpu_generated, 1),
                            "build": round(cpu_done - cpu_ingested, 1)}}
