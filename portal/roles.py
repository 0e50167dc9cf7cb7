"""The roles of SPEC §2 and the signed-in user as the server knows it.

The server builds a ``User`` from its own user store after login; nothing in it comes from the browser.
The query runner and the navigation both take their decisions from this object.
"""
from __future__ import annotations

from dataclasses import dataclass

COMMISSIONER = "commissioner"
CLINICIAN = "clinician"
GP = "gp"
ANALYST = "analyst"
ADMIN = "admin"

ROLES = (COMMISSIONER, CLINICIAN, GP, ANALYST, ADMIN)

ROLE_LABELS = {
    COMMISSIONER: "Commissioner",
    CLINICIAN: "Clinician or service manager",
    GP: "GP practice",
    ANALYST: "Analyst",
    ADMIN: "Platform administrator",
}

# Roles that see aggregates without small-number suppression (SPEC §5).
UNSUPPRESSED_ROLES = frozenset({ANALYST})


@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: str
    practice_code: str | None = None  # gp only: the one practice they belong to
    service: str | None = None        # clinician only: their service code (e.g. ASD)
    locality: str | None = None       # clinician only: their locality

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")

    @property
    def sees_unsuppressed(self) -> bool:
        return self.role in UNSUPPRESSED_ROLES
