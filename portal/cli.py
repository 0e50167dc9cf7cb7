"""``python -m portal <command>``: one entry point; each command lives in its own module.

A module joins the CLI by being listed in ``COMMAND_MODULES`` and defining ``register(subparsers)``,
which adds its sub-command(s) and sets ``func`` to a callable taking the parsed args and returning an
exit code.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "portal.commands.data",      # build-demo, ingest, build
    "portal.commands.users",     # users add|disable|set-password|set-role|list
    "portal.commands.query",     # query NAME --param k=v --role R --format csv|json
    "portal.commands.public",    # public load DIR | public fetch
    "portal.commands.serve",     # serve (build the demo if needed, then start Streamlit)
    "portal.commands.audit",     # audit --text --event --user --since --until --format csv|jsonl (read-only)
    "portal.commands.videos",    # videos make [PAGE...] | videos check (narrated how-to videos)
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m portal", description="SEND Insight Portal")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # not written yet; every other import error is a real bug
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
