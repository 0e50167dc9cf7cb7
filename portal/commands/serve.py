"""``python -m portal serve``: the one command that starts the portal.

On a fresh machine there are no marts yet, so it first builds the synthetic ``county`` demo (the build
prints its own progress), creates the demo users (one per role, demo only) unless told not to, and then
replaces itself with ``streamlit run portal/app.py`` in production mode. With ``--workers N`` (N > 1) it
instead replaces itself with the supervisor of N such servers behind HAProxy (``portal/worker_pool.py``).
"""
from __future__ import annotations

import os
import subprocess
import sys

from portal import config, store
from portal.worker_pool import pool_command, server_environment, streamlit_command


def register(subparsers) -> None:
    parser = subparsers.add_parser("serve", help="start the portal (builds the demo data first if needed)")
    parser.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface, "
                             "normally behind an HTTPS reverse proxy)")
    parser.add_argument("--no-demo-users", action="store_true",
                        help="do not create the demo users (do this on any portal holding real data)")
    parser.add_argument("--no-build", action="store_true", help="never build the demo, even with no marts")
    parser.add_argument("--demo-scale", default="county", choices=("small", "county", "national"),
                        help="the synthetic demo to build when there are no marts (default county)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes (default 1). More than one runs them behind HAProxy, which must "
                             "be installed; one more than the CPU cores serves many people at once within the "
                             "memory targets")
    parser.set_defaults(func=serve)


def marts_ready() -> bool:
    try:
        store.current_version()
    except (store.NoMartsError, store.MartsUnavailableError):
        return False
    return True


def serve(args) -> int:
    if not marts_ready():
        if args.no_build:
            print("No marts have been built yet; run: python -m portal build-demo", file=sys.stderr)
            return 1
        print(f"No data yet: building the synthetic {args.demo_scale} demo first (once; the county demo "
              "takes up to half an hour on a small machine).", flush=True)
        build = subprocess.run([sys.executable, "-m", "portal", "build-demo", "--scale", args.demo_scale],
                               cwd=config.REPO_ROOT)
        if build.returncode != 0 or not marts_ready():
            print("The demo build failed; see the messages above.", file=sys.stderr)
            return build.returncode or 1
    if not args.no_demo_users:
        from portal.demo_users import DEMO_USERS, demo_password, ensure_demo_users

        try:
            created = ensure_demo_users()
        except Exception as exc:  # the portal still starts; real users can be added with `users add`
            print(f"Could not create the demo users ({exc}); starting without them.", file=sys.stderr)
        else:
            if created:
                print(f"Created demo users: {', '.join(created)}")
            print("Demo sign-ins (synthetic data only; passwords are public, never use them with real data):")
            for username, _name, role in DEMO_USERS:
                print(f"  {role:<13} {username:<18} {demo_password(username)}")
    if args.workers < 1:
        print("--workers must be at least 1.", file=sys.stderr)
        return 2
    host = "localhost" if args.address in ("127.0.0.1", "0.0.0.0") else args.address
    print(f"Starting the portal at http://{host}:{args.port}", flush=True)
    os.chdir(config.REPO_ROOT)  # Streamlit reads .streamlit/config.toml from the working directory
    # Replaced by the server (or the pool's supervisor), which then holds nothing this process loaded.
    if args.workers > 1:
        command = pool_command(args.address, args.port, args.workers)
    else:
        command = streamlit_command(args.port, args.address)
    os.execve(command[0], command, server_environment())
    return 0  # not reached
