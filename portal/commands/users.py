"""``python -m portal users add|disable|enable|set-password|set-role|list``: manage who can sign in.

Passwords are read from a prompt (or from standard input with ``--password-stdin`` for scripts), never
from the command line where other users of the machine could see them. Every change that affects an
account (disable, new password, new role) ends that user's open sessions at once.
"""
from __future__ import annotations

import getpass
import sys

from portal import ops
from portal.roles import ROLES


def register(subparsers) -> None:
    users = subparsers.add_parser("users", help="manage portal users")
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", help="display name (defaults to the username)")
    _scope_options(add)
    _password_options(add)
    add.set_defaults(func=_add)

    for action, helptext, func in (("disable", "stop a user signing in and end their sessions", _disable),
                                   ("enable", "let a disabled or locked-out user sign in again", _enable)):
        parser = actions.add_parser(action, help=helptext)
        parser.add_argument("username")
        parser.set_defaults(func=func)

    password = actions.add_parser("set-password", help="set a new password and end the user's sessions")
    password.add_argument("username")
    _password_options(password)
    password.set_defaults(func=_set_password)

    role = actions.add_parser("set-role", help="change a user's role and end their sessions")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    _scope_options(role)
    role.set_defaults(func=_set_role)

    listing = actions.add_parser("list", help="list users")
    listing.set_defaults(func=_list)


def _scope_options(parser) -> None:
    parser.add_argument("--practice", dest="practice_code", help="gp only: the practice code")
    parser.add_argument("--service", help="clinician only: the service code, e.g. ASD")
    parser.add_argument("--locality", help="clinician only: the locality")


def _password_options(parser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise ops.UserError("The two passwords differ.")
    return first


def _run(action) -> int:
    try:
        message = action()
    except ops.UserError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(message)
    return 0


def _add(args) -> int:
    def action():
        user = ops.add_user(args.username, _read_password(args), args.role, args.name,
                            practice_code=args.practice_code, service=args.service, locality=args.locality)
        return f"Added {user.username} ({user.role})."
    return _run(action)


def _disable(args) -> int:
    return _run(lambda: (ops.set_active(args.username, False), f"Disabled {args.username}; "
                         "their sessions have ended.")[1])


def _enable(args) -> int:
    return _run(lambda: (ops.set_active(args.username, True), f"Enabled {args.username}.")[1])


def _set_password(args) -> int:
    def action():
        ops.set_password(args.username, _read_password(args))
        return f"New password set for {args.username}; their sessions have ended."
    return _run(action)


def _set_role(args) -> int:
    def action():
        ops.set_role(args.username, args.role, practice_code=args.practice_code,
                     service=args.service, locality=args.locality)
        return f"{args.username} is now {args.role}; their sessions have ended."
    return _run(action)


def _list(args) -> int:
    users = ops.list_users()
    if not users:
        print("No users yet.")
        return 0
    header = ("username", "role", "scope", "status", "name")
    rows = [header]
    for user in users:
        scope = user.practice_code or (f"{user.service} / {user.locality}" if user.service else "")
        status = "disabled" if not user.active else "locked" if user.is_locked() else "active"
        if user.demo:
            status += " (demo)"
        rows.append((user.username, user.role, scope, status, user.name))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(str(value).ljust(width) for value, width in zip(row, widths)).rstrip())
    return 0
