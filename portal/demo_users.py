"""Demo users, one per role, for the synthetic demo only.

Their passwords are published in the README, so they must never exist on a portal holding real data:
``python -m portal serve --no-demo-users`` skips them, and ``python -m portal users disable NAME`` turns
one off. They are marked ``demo`` in the user store so ``users list`` shows them as such.
"""
from __future__ import annotations

from pathlib import Path

from portal import ops, store
from portal.roles import ADMIN, ANALYST, CLINICIAN, COMMISSIONER, GP

# username, display name, role; the password is "<username>-password".
DEMO_USERS = [
    ("demo-commissioner", "Demo Commissioner", COMMISSIONER),
    ("demo-clinician", "Demo Clinician (autism assessment)", CLINICIAN),
    ("demo-gp", "Demo GP", GP),
    ("demo-analyst", "Demo Analyst", ANALYST),
    ("demo-admin", "Demo Administrator", ADMIN),
]
DEMO_CLINICIAN_SERVICE = "ASD"


def demo_password(username: str) -> str:
    return f"{username}-password"


def demo_scope() -> dict:
    """The practice and locality the demo GP and clinician belong to, taken from the live marts."""
    cur, _version = store.reader().cursor()
    practice_code, = cur.execute("SELECT min(practice_code) FROM dim_practice").fetchone()
    locality, = cur.execute("SELECT min(locality) FROM dim_locality").fetchone()
    return {"practice_code": practice_code, "locality": locality}


def ensure_demo_users(path: Path | None = None) -> list[str]:
    """Create any missing demo user (existing ones are left alone); return the usernames created."""
    scope = None
    created = []
    for username, name, role in DEMO_USERS:
        if ops.get_user(username, path=path):
            continue
        scope = scope or demo_scope()
        ops.add_user(
            username, demo_password(username), role, name, demo=True, path=path,
            practice_code=scope["practice_code"] if role == GP else None,
            service=DEMO_CLINICIAN_SERVICE if role == CLINICIAN else None,
            locality=scope["locality"] if role == CLINICIAN else None,
        )
        created.append(username)
    return created
