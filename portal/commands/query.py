"""``python -m portal query NAME --param key=value --role ROLE --format csv|json``: run a named query.

The same runner as the pages, with the same checks: the role must be allowed, parameters are validated
against the query file, scoped queries take their scope from the account, and aggregate output is
suppressed for every role but ``analyst``. Global filters are given as parameters too
(``--param locality=Eastfield --param period="Last 3 years"``).

Who runs it:

* ``--user USERNAME`` runs as a real account from the user store (its role and scope);
* ``--role ROLE`` runs as that role; ``gp`` also needs ``--practice CODE`` and ``clinician`` needs
  ``--service CODE --locality NAME`` (the scope a real account of that role would carry).

Every run is written to the audit log as an export. Output goes to standard output; in CSV suppressed
cells show ``*`` as on screen; in JSON they are ``null`` and listed under ``suppressed_cells``.
Exit codes: 0 done, 2 bad usage or parameter, 3 not allowed, 4 data not available, 1 query failed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from portal import filters as global_filters
from portal import queries, suppression
from portal.roles import CLINICIAN, GP, ROLES, User

EXIT_BAD = 2
EXIT_FORBIDDEN = 3
EXIT_NO_DATA = 4
EXIT_FAILED = 1
FILTER_NAMES = ("period", *global_filters.FILTER_COLUMNS)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "query", help="run a named query (same checks as the portal)",
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", nargs="?", help="query name (a file in queries/ without .yaml)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a query parameter or global filter; repeat for more")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--role", choices=ROLES, help="run as this role")
    who.add_argument("--user", metavar="USERNAME", help="run as this account from the user store")
    parser.add_argument("--practice", metavar="CODE", help="gp role: the practice the user belongs to")
    parser.add_argument("--service", metavar="CODE", help="clinician role: the user's service")
    parser.add_argument("--locality", metavar="NAME", help="clinician role: the user's locality")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--list", action="store_true", help="list the queries this role or user may run")
    parser.set_defaults(func=_run)


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _user_from_args(args) -> User:
    if args.user:
        from portal import ops

        record = ops.get_user(args.user)
        if record is None or not record.active:
            raise PermissionError(f"No active user called {args.user!r}.")
        if args.practice or args.service or args.locality:
            raise ValueError("--practice/--service/--locality come from the account when --user is given.")
        return record.to_user()
    if not args.role:
        raise ValueError("Say who runs the query: --role ROLE or --user USERNAME.")
    if args.practice and args.role != GP:
        raise ValueError("--practice is only for the gp role.")
    if (args.service or args.locality) and args.role != CLINICIAN:
        raise ValueError("--service and --locality are only for the clinician role.")
    if args.role == GP and not args.practice:
        raise ValueError("The gp role needs --practice CODE (or use --user).")
    if args.role == CLINICIAN and not (args.service and args.locality):
        raise ValueError("The clinician role needs --service CODE and --locality NAME (or use --user).")
    return User(username=f"cli-{args.role}", name=f"Command line ({args.role})", role=args.role,
                practice_code=args.practice, service=args.service, locality=args.locality)


def parse_params(pairs: list[str], spec: queries.QuerySpec) -> tuple[dict, dict]:
    """Split ``key=value`` pairs into (global filter values, query parameters)."""
    filter_values: dict[str, str] = {}
    params: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise queries.BadParameter(f"Parameters are written key=value; {pair!r} is not.")
        target = filter_values if key in FILTER_NAMES else params
        if key in target:
            spec_param = spec.params.get(key)
            if spec_param is None or spec_param.type != "list":
                raise queries.BadParameter(f"{key!r} is given more than once.")
            existing = target[key]
            target[key] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            target[key] = value
    return filter_values, params


def _run(args) -> int:
    try:
        user = _user_from_args(args)
    except PermissionError as exc:
        return _fail(str(exc), EXIT_FORBIDDEN)
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD)

    if args.list:
        for name in queries.list_queries():
            spec = queries.load_query(name)
            if user.role in spec.roles:
                print(f"{name}\t{spec.output}\t{spec.title}")
        return 0
    if not args.name:
        return _fail("Give a query name, or --list.", EXIT_BAD)

    try:
        spec = queries.load_query(args.name)
        filter_values, params = parse_params(args.param, spec)
        result = queries.run(args.name, user, filter_values, **params)
    except queries.ForbiddenQuery as exc:
        return _fail(str(exc), EXIT_FORBIDDEN)
    except (queries.BadParameter, queries.UnknownQuery) as exc:
        return _fail(str(exc), EXIT_BAD)
    except queries.MartsUnavailable as exc:
        return _fail(str(exc), EXIT_NO_DATA)
    except queries.QueryError as exc:
        return _fail(str(exc), EXIT_FAILED)

    _audit(user, result, args.format)
    if args.format == "csv":
        sys.stdout.write(result.display_df().to_csv(index=False))
        if result.suppressed:
            print(suppression.SUPPRESSED_NOTE, file=sys.stderr)
    else:
        json.dump(as_json(result), sys.stdout, indent=2, default=_json_default)
        sys.stdout.write("\n")
    return 0


def as_json(result: queries.QueryResult) -> dict:
    rows = json.loads(result.df.to_json(orient="records", date_format="iso"))
    return {
        "query": result.name,
        "title": result.query.title,
        "output": result.query.output,
        "data_version": result.version.name,
        "as_of": result.as_of.isoformat(),
        "filters": result.filters.as_query_params(),
        "period": [result.filters.period_start.isoformat(), result.filters.period_end.isoformat()],
        "params": result.params,
        "suppressed": result.suppressed,
        "suppressed_cells": [{"row": r, "column": c} for r, c in suppression.hidden_cells(result.suppressed_cells)],
        "note": suppression.SUPPRESSED_NOTE if result.suppressed else None,
        "feed_refresh": result.feed_refresh,
        "rows": rows,
    }


def _json_default(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _audit(user: User, result: queries.QueryResult, file_format: str) -> None:
    from portal import ops

    ops.audit("export", user.username, {
        "query": result.name, "format": file_format, "rows": len(result.df), "via": "command line",
        "role": user.role, "filters": result.filters.as_query_params(), "params": result.params,
    })
