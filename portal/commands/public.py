"""``python -m portal public load DIR`` and ``python -m portal public fetch``: published national statistics."""
from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("public", help="load or fetch published national statistics")
    sub = parser.add_subparsers(dest="public_command", metavar="ACTION")
    load = sub.add_parser("load", help="load published files (DfE, LAIT, NHS) from a folder")
    load.add_argument("folder", type=Path)
    load.set_defaults(func=run_load)
    fetch = sub.add_parser("fetch", help="download the latest DfE releases from the explore-education-statistics API, then load them")
    fetch.add_argument("--api-url", default=None, help="API base URL (default: the live EES API)")
    fetch.add_argument("--into", type=Path, default=None, help="folder to save downloads in (default: data/downloads/ees/<date>)")
    fetch.add_argument("--with", dest="extra", type=Path, default=None,
                       help="a folder of other published files (LAIT, neighbours, NHS waits) to load with the downloads")
    fetch.set_defaults(func=run_fetch)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _load_and_publish(folders: list[Path], source: str) -> int:
    from portal.public import loader, mart
    from portal.public.common import PublicDataError

    try:
        result = loader.load_folders(folders)
    except PublicDataError as exc:
        print(f"Nothing was loaded: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    mart.save(result, source)
    version = mart.publish_public()
    if version is None:
        print("Saved. No marts are built yet: the figures join the first build (python -m portal build-demo).")
    else:
        print(f"Published mart version {version.name} with the public figures.")
    return 0


def run_load(args) -> int:
    return _load_and_publish([args.folder], str(args.folder))


def run_fetch(args) -> int:
    from portal.public import fetch

    try:
        saved = fetch.fetch_latest(api_url=args.api_url, into=args.into)
    except fetch.FetchError as exc:
        print(f"Could not fetch: {exc}", file=sys.stderr)
        return 1
    for line in saved.report:
        print(line)
    folders = [saved.folder] + ([args.extra] if args.extra else [])
    return _load_and_publish(folders, f"explore-education-statistics API {saved.api_url}")
