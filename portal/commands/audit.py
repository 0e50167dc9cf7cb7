"""``python -m portal audit``: search the audit log and write it out (CSV or JSON lines).

Read-only by design: there is no command that edits or deletes an entry (the database refuses it too).
The export itself is recorded in the log, like every other export.
"""
from __future__ import annotations

import datetime as dt
import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser("audit", help="search and export the append-only audit log")
    parser.add_argument("--text", default="", help="text to look for in the event, user or details")
    parser.add_argument("--event", action="append", default=[], help="an event type (repeat for more)")
    parser.add_argument("--user", help="only this user's entries")
    parser.add_argument("--since", type=dt.date.fromisoformat, help="first day, YYYY-MM-DD")
    parser.add_argument("--until", type=dt.date.fromisoformat, help="last day, YYYY-MM-DD")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--limit", type=int, default=5000)
    parser.set_defaults(func=_export)


def _export(args) -> int:
    from portal import ops
    from portal.journeys import audit_log

    criteria = audit_log.AuditSearch(text=args.text, events=tuple(args.event), username=args.user,
                                     since=args.since, until=args.until, limit=args.limit)
    found = audit_log.search(criteria)
    if args.format == "csv":
        audit_log.display_table(found).to_csv(sys.stdout, index=False)
    else:
        for row in found.to_dict(orient="records"):
            row["detail"] = json.loads(row["detail"])
            print(json.dumps(row, sort_keys=True))
    ops.audit("export", None, {"table": "audit_log", "format": args.format, "rows": len(found),
                               "via": "command line"})
    return 0
