"""``python -m portal videos make [PAGE...]`` and ``videos check``: the narrated how-to videos.

``make`` with no page names remakes every video whose walkthrough or script changed since it was made
(``--all`` remakes all). It runs the real portal over its own data directory (``--data-dir``, default
``$TMPDIR/send-portal-video-data``, the small demo built there on first use), never the live data.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "send-portal-video-data"


def register(subparsers) -> None:
    parser = subparsers.add_parser("videos", help="make or check the narrated how-to videos (help_videos/)")
    actions = parser.add_subparsers(dest="videos_command", metavar="ACTION", required=True)
    make = actions.add_parser("make", help="remake videos: the named pages, or every out-of-date one")
    make.add_argument("pages", nargs="*", metavar="PAGE", help="page names, e.g. waiting_lists (default: out of date)")
    make.add_argument("--all", action="store_true", help="remake every video, even those up to date")
    make.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                      help=f"data directory for the portal the videos are made from (default {DEFAULT_DATA_DIR})")
    make.set_defaults(func=make_command)
    check = actions.add_parser("check", help="list videos that do not match their scripts (exit 1 if any)")
    check.set_defaults(func=check_command)


def make_command(args) -> int:
    from portal.videos import maker

    known = maker.script_pages()
    unknown = [page for page in args.pages if page not in known]
    if unknown:
        print(f"No video script for: {', '.join(unknown)}. Pages with scripts: {', '.join(known)}", file=sys.stderr)
        return 2
    pages = args.pages or (known if args.all else maker.stale_pages())
    if not pages:
        print("Every video matches its walkthrough and script; nothing to do.")
        return 0
    try:
        maker.make_videos(pages, args.data_dir.resolve())
    except maker.VideoScriptError as exc:
        print(f"Video script problem: {exc}", file=sys.stderr)
        return 1
    return 0


def check_command(args) -> int:
    from portal.videos import maker

    stale = maker.stale_pages()
    for page in stale:
        print(f"out of date: {page} (run: python -m portal videos make {page})")
    if not stale:
        print(f"All {len(maker.script_pages())} videos match their walkthroughs and scripts.")
    return 1 if stale else 0
