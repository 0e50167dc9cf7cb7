"""Pseudonymous linkage: one person key per person across every feed.

The rule, in order (this text is rendered into docs/contracts.md):

1. **NHS number.** A record with a valid NHS number gets ``person_key = HMAC-SHA256(LINKAGE_KEY,
   nhs_number)``, the first 20 hex characters. The key comes from ``portal.config.get_secret("LINKAGE_KEY")``
   (an environment variable in a real deployment; the demo generates its own into ``data/secrets``), so
   nobody without the key can turn an NHS number into a person key or back. The record is *linked* when
   that key belongs to someone in the GP registrations (the spine).
2. **Fallback for council records without an NHS number**: date of birth + postcode (upper case, spaces
   removed) + sex, matched against the spine. It links only when exactly one registered person has that
   combination; twins at one address, a house move the GP has not heard of, or a typo leave the record
   unlinked rather than linking it to the wrong child.
3. Otherwise the record is **unlinked** (``person_key`` NULL). It still counts in the feed's row total and
   lowers the feed's match rate, which ``feed_status.linkage_match_rate`` reports.

The spine's keys are made inside DuckDB (:func:`person_key_sql`, HMAC written out as two SHA-256 passes),
which hashes on every core: about 21 million NHS numbers, one Python HMAC each, took about a minute of the
national ingest. The fallback is one DuckDB join, so linkage stays fast at national scale.
"""
from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

from portal import config

KEY_HEX_CHARS = 20


def linkage_key() -> bytes:
    return config.get_secret("LINKAGE_KEY").encode()


def person_keys(nhs_numbers, key: bytes | None = None) -> np.ndarray:
    """Person keys for an array of NHS numbers (strings of 10 digits); None/NaN gives None."""
    key = key or linkage_key()
    values = pd.Series(nhs_numbers, dtype="object")
    present = values.notna()
    uniques = pd.unique(values[present].astype(str))
    digests = {
        nhs: hmac.new(key, nhs.encode(), hashlib.sha256).hexdigest()[:KEY_HEX_CHARS] for nhs in uniques
    }
    out = np.full(len(values), None, dtype=object)
    out[present.to_numpy()] = values[present].astype(str).map(digests).to_numpy()
    return out


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer padded keys of HMAC-SHA256 (RFC 2104): a key longer than a block is hashed first."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def person_key_sql(column: str, key: bytes | None = None) -> tuple[str, dict]:
    """A DuckDB expression giving the same person key as :func:`person_keys` for the VARCHAR ``column``
    (NULL stays NULL), and the values to bind with it. The key travels only as bound values, never in the SQL.
    HMAC(k, m) = SHA256((k ^ opad) || SHA256((k ^ ipad) || m))."""
    inner, outer = _hmac_pads(key or linkage_key())
    expression = (f"left(sha256($hmac_outer || unhex(sha256($hmac_inner || encode({column})))), "
                  f"{KEY_HEX_CHARS})")
    return expression, {"hmac_inner": inner, "hmac_outer": outer}


def normalise_postcode(postcode: pd.Series) -> pd.Series:
    return postcode.astype("string").str.upper().str.replace(r"\s+", "", regex=True)


def nhs_check_digit_ok(nhs: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number (weights 10..2 on the first nine digits)."""
    if len(nhs) != 10 or not nhs.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(nhs[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(nhs[9])


def nhs_check_digit_sql(column: str) -> str:
    """A DuckDB boolean expression: ``column`` (VARCHAR, 10 digits) passes the modulus 11 check."""
    weighted = " + ".join(f"{w} * TRY_CAST(substr({column}, {i}, 1) AS INTEGER)" for i, w in
                          zip(range(1, 10), range(10, 1, -1)))
    check = f"(11 - (({weighted}) % 11))"
    return (f"(regexp_full_match({column}, '[0-9]{{10}}') AND "
            f"(CASE WHEN {check} = 11 THEN 0 ELSE {check} END) = TRY_CAST(substr({column}, 10, 1) AS INTEGER))")
