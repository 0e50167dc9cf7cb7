"""A seeded synthetic ICB: people, their SEND journeys and health-service use, written as raw feeds.

Everything is vectorised over people with numpy (loops run over months, years or services, never over
people), so the county scale (about 350,000 children and young people) takes seconds. The national scale
generates the activity feeds in chunks of people so memory stays bounded.

Rates follow published figures (DfE SEN in England 2025: 5.3% of pupils with an EHCP, 14.2% on SEN
support; KS4 Attainment 8 about 14.8 with an EHCP and about 50 with no SEN; NHS community waits with 40-60%
of children waiting over 18 weeks). Stories are planted on top and their true values are computed from the
generated records with the same definitions the marts use, then written to ``ground_truth.json``.

Where a true value depends on SEND status, it uses the status the linked data can show: a council record
that the documented linkage rule cannot match (no NHS number and a postcode the GP does not hold, or a
date of birth + postcode + sex shared with someone else) does not count, exactly as in the marts.
"""
from __future__ import annotations

import collections
import concurrent.futures
import concurrent.futures.process
import dataclasses
import datetime as dt
import functools
import gc
import json
import math
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pandas as pd

from portal import linkage
from portal.synth import geo, vocab
from portal.synth.writers import FeedWriter

REFERENCE_DATE = dt.date(2026, 10, 31)
HISTORY_YEARS = 6
EPOCH = np.datetime64("1970-01-01", "D")

SNOMED = {
    "asthma": "195967001", "asthma_review": "394700004", "asthma_monitoring": "270442000",
    "adhd": "406506008", "autism": "35919005", "obesity": "414916001", "consultation": "11429006",
}
BNF = {
    "melatonin": ("0401010ADAAAAAA", "Melatonin 2mg modified-release tablets"),
    "salbutamol": ("0301011R0AAAPAP", "Salbutamol 100micrograms/dose inhaler CFC free"),
    "methylphenidate": ("0404000M0AAAAAA", "Methylphenidate 10mg tablets"),
}
SERVICES = ["SLT", "OT", "PHYSIO", "CAMHS", "ASD", "ADHD", "PAEDS"]
NEEDS = ["ASD", "SLCN", "SEMH", "MLD", "SpLD", "SLD", "PMLD", "HI", "VI", "MSI", "PD", "OTH"]
# Primary need shares (DfE SEN in England 2025, rounded): EHCP and SEN support differ a lot.
NEED_SHARE_EHCP = [0.33, 0.21, 0.18, 0.08, 0.04, 0.05, 0.01, 0.015, 0.01, 0.003, 0.03, 0.042]
NEED_SHARE_SUPPORT = [0.07, 0.25, 0.21, 0.19, 0.17, 0.005, 0.0, 0.015, 0.008, 0.002, 0.02, 0.06]
# NHS Data Dictionary ethnic category codes with rough shares among children in England.
ETHNIC_CODES = list("ABCDEFGHJKLMNPRSZ")
ETHNIC_SHARE = [0.66, 0.01, 0.05, 0.015, 0.008, 0.012, 0.01, 0.035, 0.035, 0.012, 0.015, 0.012, 0.025,
                0.006, 0.008, 0.012, 0.03]
ETHNIC_GROUP = {**{c: "White" for c in "ABC"}, **{c: "Mixed" for c in "DEFG"}, **{c: "Asian" for c in "HJKL"},
                **{c: "Black" for c in "MNP"}, "R": "Other", "S": "Other", "Z": "Not known"}
CEASE_REASONS = ["max_age", "needs_met", "he", "employment", "moved", "no_engage", "other"]

# Indices of the localities that carry the planted stories (the same at every scale).
LONG_WAIT_LOCALITY = 0        # far longer autism assessment waits, lowest survey scores
MELATONIN_LOCALITIES = (1, 6)  # melatonin prescribing to SEND children concentrated here


@dataclasses.dataclass(frozen=True)
class Scale:
    name: str
    n_cyp: int                  # people aged 0-25 at as_of
    n_localities: int
    n_practices: int
    small_areas_per_locality: int
    n_schools: int
    survey_rate: float          # mean survey responses per service x locality x quarter
    chunk_people: int           # people per chunk of activity generation


SCALES = {
    "small": Scale("small", 6_000, 8, 16, 6, 24, 5.0, 10**9),
    "county": Scale("county", 350_000, 8, 60, 40, 250, 30.0, 10**9),
    # chunks of 750,000: two processes each hold one chunk's working data (about 4 GB each); 1.5 million
    # in one process took about as much memory as two half-size chunks at once
    "national": Scale("national", 17_000_000, 106, 6_300, 300, 20_000, 30.0, 750_000),
}


def as_of_for(reference: dt.date = REFERENCE_DATE) -> dt.date:
    """The last day of the last complete month before the reference date."""
    return reference.replace(day=1) - dt.timedelta(days=1)


# ---------------------------------------------------------------------------------------------- dates
def days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def to_date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def ymd(day_numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of day numbers (days since 1970-01-01)."""
    return _looked_up(day_numbers, _ymd_computed)


def _ymd_computed(day_numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(day_numbers).astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (y.astype(np.int64) + 1970, (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
            (d - m.astype("datetime64[D]")).astype(np.int64) + 1)


def add_years(day_numbers: np.ndarray, years) -> np.ndarray:
    """Same day and month ``years`` later; 29 February becomes 1 March in a common year."""
    y, m, d = ymd(day_numbers)
    month = ((y + years - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    return (month.astype("datetime64[D]") + (d - 1)).astype(np.int64)


def age_at(dob: np.ndarray, at) -> np.ndarray:
    """Completed years of age (the marts use the same rule in SQL: macro ``age_at``)."""
    y1, m1, d1 = ymd(dob)
    y2, m2, d2 = ymd(np.broadcast_to(at, np.shape(dob)))
    return y2 - y1 - ((m2 * 100 + d2) < (m1 * 100 + d1))


def month_starts(start: int, end: int) -> np.ndarray:
    """First days (as day numbers) of the months from the month of ``start`` to the month of ``end``."""
    a = np.datetime64(to_date(start), "M")
    b = np.datetime64(to_date(end), "M")
    return np.arange(a, b + 1).astype("datetime64[D]").astype(np.int64)


def _iso_text(day_numbers) -> np.ndarray:
    return np.asarray(day_numbers).astype("datetime64[D]").astype(str)


def _uk_text(day_numbers) -> np.ndarray:
    y, m, d = _ymd_computed(day_numbers)
    return np.char.add(np.char.add(np.char.add(np.char.zfill(d.astype(str), 2), "/"),
                                   np.char.add(np.char.zfill(m.astype(str), 2), "/")), y.astype(str))


# Calendar facts and the text of dates are looked up in tables of every day from 1900 to 2100, made once:
# working them out for each row took the national SEND register 15 s of its 36 s, and each chunk of people
# 3 s of its 25 s.
_DAY_TABLE_FIRST = (dt.date(1900, 1, 1) - dt.date(1970, 1, 1)).days
_DAY_TABLE_LENGTH = (dt.date(2101, 1, 1) - dt.date(1900, 1, 1)).days


@functools.cache
def _day_table(make):
    """``make`` (a function of an array of day numbers) applied once to every day the tables hold."""
    table = make(np.arange(_DAY_TABLE_FIRST, _DAY_TABLE_FIRST + _DAY_TABLE_LENGTH))
    if isinstance(table, np.ndarray) and table.dtype.kind == "U":
        table = table.astype(f"U{np.strings.str_len(table).max()}")  # ten characters, not numpy's 27 or 28
    return table


def _looked_up(day_numbers, make):
    """``make(day_numbers)``, taken from its day table (an array, or a tuple of arrays) when every day is in it."""
    offsets = np.asarray(day_numbers) - _DAY_TABLE_FIRST
    if offsets.size and (offsets.min() < 0 or offsets.max() >= _DAY_TABLE_LENGTH):
        return make(day_numbers)
    table = _day_table(make)
    return tuple(t[offsets] for t in table) if isinstance(table, tuple) else table[offsets]


def iso(day_numbers) -> np.ndarray:
    """yyyy-mm-dd text of day numbers (days since 1970-01-01)."""
    return _looked_up(day_numbers, _iso_text)


def uk(day_numbers) -> np.ndarray:
    """dd/mm/yyyy text of day numbers."""
    return _looked_up(day_numbers, _uk_text)


NEVER = np.iinfo(np.int64).max // 4  # "no such date" in day arithmetic


# ---------------------------------------------------------------------------------------------- people
def nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct 10-digit NHS numbers in the 9xxxxxxxxx range with a valid modulus 11 check digit."""
    want = int(n * 1.3) + 100
    # np.unique's result, by sorting: numpy's hash-based unique took 18 s of the national population's 65
    drawn = np.sort(rng.integers(900_000_000, 1_000_000_000, size=want, dtype=np.int64))
    base = drawn[np.concatenate(([True], drawn[1:] != drawn[:-1]))]
    digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = 11 - (digits * np.arange(10, 1, -1)).sum(axis=1) % 11
    check = np.where(check == 11, 0, check)
    ok = check != 10
    numbers = base[ok] * 10 + check[ok]
    if len(numbers) < n:
        raise RuntimeError("not enough NHS numbers drawn")  # cannot happen with the 1.3 margin
    numbers = rng.permutation(numbers)[:n]
    return numbers.astype(str)


def place_names(n: int) -> list[str]:
    names = list(vocab.LOCALITY_NAMES[:n])
    i = 0
    while len(names) < n:
        p, s = vocab.PLACE_PREFIXES[i % len(vocab.PLACE_PREFIXES)], vocab.PLACE_SUFFIXES[
            (i // len(vocab.PLACE_PREFIXES)) % len(vocab.PLACE_SUFFIXES)]
        if p + s not in names:
            names.append(p + s)
        i += 1
    return names


class Coded:
    """A text column stored as integer codes into a vocabulary (or, with no vocabulary, as the digits
    themselves); indexing gives text, so a national-scale population fits in memory."""

    def __init__(self, codes: np.ndarray, vocabulary: np.ndarray | None):
        self.codes, self.vocabulary = codes, vocabulary

    def __getitem__(self, p):
        codes = self.codes[p]
        return codes.astype(str) if self.vocabulary is None and np.ndim(codes) else (
            str(codes) if self.vocabulary is None else self.vocabulary[codes])

    def __len__(self) -> int:
        return len(self.codes)


class Postcodes:
    """Postcodes built from the small area's sector and a unit code, e.g. "KX12 3" + "4AB"."""

    def __init__(self, sectors: np.ndarray, small_area: np.ndarray, unit: Coded):
        self.sectors, self.small_area, self.unit = sectors, small_area, unit

    def __getitem__(self, p):
        return np.char.add(self.sectors[self.small_area[p]], self.unit[p])


class CouncilPostcodes:
    """The postcode a council holds: the GP's, except for families who moved (a newer address)."""

    def __init__(self, postcodes: Postcodes, moved: np.ndarray):
        self.postcodes, self.moved = postcodes, moved

    def __getitem__(self, p):
        return np.where(self.moved[p], "KX99 9ZZ", self.postcodes[p])


class World:
    """The synthetic area: geography, services, people and their (true) SEND journeys."""

    def __init__(self, scale: Scale, seed: int, as_of: dt.date):
        self.scale, self.seed = scale, seed
        self.as_of = days(as_of)
        # first day of the month after as_of, six years back: 72 whole months ending at as_of
        first = dt.date(as_of.year - HISTORY_YEARS, as_of.month, 1)
        first = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        self.history_start = days(first)
        self.months = month_starts(self.history_start, self.as_of)
        self.intervention = days(dt.date(as_of.year - 2, 9, 1))   # the new service started 1 September
        self.no_change = days(dt.date(as_of.year - 4, 9, 1))
        self._geography()
        self._people()
        self._send()

    def rng(self, *stream: int) -> np.random.Generator:
        """An independent random stream per purpose, so a change to one feed leaves the others alone."""
        return np.random.default_rng([self.seed, *stream])

    # ------------------------------------------------------------------------------------ geography
    def _geography(self):
        s, rng = self.scale, self.rng(1)
        self.locality_names = place_names(s.n_localities)
        self.locality_codes = [f"LOC{i + 1:03d}" for i in range(s.n_localities)]
        self.cells = geo.locality_cells(s.n_localities, rng)
        n_sa = s.n_localities * s.small_areas_per_locality
        self.sa_locality = np.repeat(np.arange(s.n_localities), s.small_areas_per_locality)
        self.sa_code = np.array([f"Z{10_000_000 + i:08d}"[:9] for i in range(n_sa)])
        self.sa_code = np.char.add("Z01", np.char.zfill(np.arange(1, n_sa + 1).astype(str), 6))
        loc_deprivation = rng.uniform(3, 8, s.n_localities)
        loc_deprivation[LONG_WAIT_LOCALITY] = 3.0  # the long-wait locality is among the more deprived
        self.sa_imd = np.clip(np.round(rng.normal(loc_deprivation[self.sa_locality], 2.0)), 1, 10).astype(int)
        self.sa_weight = rng.gamma(4.0, 1.0, n_sa)
        core = np.array([c["core"] for c in self.cells])  # (loc, 2, 2)
        lo, hi = core[self.sa_locality, 0], core[self.sa_locality, 1]
        pts = lo + rng.uniform(0, 1, (n_sa, 2)) * (hi - lo)
        self.sa_lon, self.sa_lat = np.round(pts[:, 0], 5), np.round(pts[:, 1], 5)
        # postcode sector per small area in the fictional KX area, e.g. "KX12 3"
        self.sa_sector = np.char.add(np.char.add("KX", (1 + np.arange(n_sa) // 9).astype(str)),
                                     np.char.add(" ", (1 + np.arange(n_sa) % 9).astype(str)))
        # practices: each locality gets at least one; names from streets and places
        self.practice_locality = np.sort(np.arange(s.n_practices) % s.n_localities)
        self.practice_code = np.char.add("Z8", np.char.zfill(np.arange(1, s.n_practices + 1).astype(str), 4))
        names = []
        for i, loc in enumerate(self.practice_locality):
            style = vocab.PRACTICE_STYLES[i % len(vocab.PRACTICE_STYLES)]
            street = vocab.STREET_WORDS[(i * 7) % len(vocab.STREET_WORDS)]
            names.append(style.format(place=self.locality_names[loc], street=street))
        # names must be unique for people to tell practices apart
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                names[i] = f"{name} ({seen[name]})"
        self.practice_name = np.array(names)
        self.practice_start = np.searchsorted(self.practice_locality, np.arange(s.n_localities))
        self.practice_count = np.bincount(self.practice_locality, minlength=s.n_localities)
        # schools: 70% primary (ages 4-10), 30% secondary (11-15), spread over localities
        n_sec = max(s.n_localities, int(s.n_schools * 0.3))
        n_pri = max(s.n_localities, s.n_schools - n_sec)
        self.school_urn = 900_001 + np.arange(n_pri + n_sec)
        self.school_phase = np.array(["primary"] * n_pri + ["secondary"] * n_sec)
        self.school_locality = np.concatenate([np.arange(n_pri) % s.n_localities, np.arange(n_sec) % s.n_localities])

    # ---------------------------------------------------------------------------------------- people
    def _people(self):
        s, rng = self.scale, self.rng(2)
        span = 32 * 365.25  # born up to 32 years before as_of: everyone was 0-25 at some point in history
        n = int(round(s.n_cyp * 32 / 26))
        self.n = n
        self.dob = self.as_of - rng.integers(0, int(span), n)
        self.dob.sort()
        self.dob = rng.permutation(self.dob)
        self.male = rng.random(n) < 0.512
        self.eth = rng.choice(len(ETHNIC_CODES), n, p=np.array(ETHNIC_SHARE) / sum(ETHNIC_SHARE))
        p_sa = self.sa_weight / self.sa_weight.sum()
        self.sa = rng.choice(len(p_sa), n, p=p_sa)
        self.loc = self.sa_locality[self.sa]
        self.imd = self.sa_imd[self.sa]
        self.practice = self.practice_start[self.loc] + (rng.random(n) * self.practice_count[self.loc]).astype(int)
        # identity columns are kept as small integer codes and turned into text only for the rows written
        self.nhs = Coded(nhs_numbers(rng, n).astype(np.int64), None)
        given_vocab = np.array(vocab.GIVEN_NAMES_MALE + vocab.GIVEN_NAMES_FEMALE)
        first = np.where(self.male, rng.integers(0, len(vocab.GIVEN_NAMES_MALE), n),
                         len(vocab.GIVEN_NAMES_MALE) + rng.integers(0, len(vocab.GIVEN_NAMES_FEMALE), n))
        self.given = Coded(first.astype(np.int16), given_vocab)
        self.family = Coded(rng.integers(0, len(vocab.FAMILY_NAMES), n).astype(np.int16),
                            np.array(vocab.FAMILY_NAMES))
        letters = list("ABDEFGHJLNPQRSTUWXYZ")
        units = np.array([f"{d}{a}{b}" for d in range(1, 10) for a in letters for b in letters])
        self.postcode_unit = rng.integers(0, len(units), n).astype(np.int16)
        self.postcode = Postcodes(self.sa_sector, self.sa, Coded(self.postcode_unit, units))
        self.house = rng.integers(1, 120, n).astype(np.int16)
        self.street = Coded(rng.integers(0, len(vocab.STREET_WORDS) * len(vocab.STREET_KINDS), n).astype(np.int16),
                            np.array([f"{w} {k}" for w in vocab.STREET_WORDS for k in vocab.STREET_KINDS]))
        # registered from birth, or moved into the area at some point
        moved_in = rng.random(n) < 0.12
        self.registered = np.where(moved_in, np.maximum(self.dob, self.as_of - rng.integers(0, 9 * 365, n)),
                                   self.dob)
        dob_y, dob_m, dob_d = ymd(self.dob)
        self.dob_y, self.dob_md = dob_y, dob_m * 100 + dob_d
        self.bday18 = add_years(self.dob, 18)
        self.bday26 = add_years(self.dob, 26)

    # ------------------------------------------------------------------------------------ SEND journeys
    def _send(self):
        rng, n = self.rng(3), self.n
        imd_factor = 1.3 - 0.06 * (self.imd - 1)
        p_send = np.clip(0.265 * np.where(self.male, 1.32, 0.66) * imd_factor, 0, 0.9)
        self.ever_send = rng.random(n) < p_send
        self.ever_ehcp = self.ever_send & (rng.random(n) < np.where(self.male, 0.36, 0.30))
        start_age_days = rng.uniform(2.5, 12.0, n) * 365.25
        self.sen_start = np.where(self.ever_send, self.dob + start_age_days.astype(np.int64), NEVER)
        direct = rng.random(n) < 0.15
        delay = np.where(direct, 0, rng.uniform(0.3, 4.0, n) * 365.25).astype(np.int64)
        self.ehcp_start = np.where(self.ever_ehcp, self.sen_start + delay, NEVER)
        self.support_end = np.where(self.ever_ehcp, self.ehcp_start, self.bday18)
        # plans end: most at the age limit (26th birthday), some earlier (needs met, moved, work, college)
        early = rng.random(n) < 0.45
        cease_age = np.where(rng.random(n) < 0.2, rng.uniform(8, 16, n), rng.uniform(16, 25.9, n))
        self.ehcp_end = np.where(self.ever_ehcp, np.where(early, np.maximum(
            self.dob + (cease_age * 365.25).astype(np.int64), self.ehcp_start + 180), self.bday26), NEVER)
        self.cease_reason = Coded(np.where(early, 1 + rng.choice(len(CEASE_REASONS) - 1, n,
                                                                 p=[0.3, 0.15, 0.15, 0.2, 0.1, 0.1]), 0).astype(np.int8),
                                  np.array(CEASE_REASONS))
        need_e = rng.choice(len(NEEDS), n, p=np.array(NEED_SHARE_EHCP) / sum(NEED_SHARE_EHCP))
        need_s = rng.choice(len(NEEDS), n, p=np.array(NEED_SHARE_SUPPORT) / sum(NEED_SHARE_SUPPORT))
        self.need = np.where(self.ever_ehcp, need_e, need_s)
        # Council records: most carry the NHS number; the rest are linked by date of birth + postcode + sex.
        self.council_has_nhs = rng.random(n) < 0.8
        moved = (~self.council_has_nhs) & (rng.random(n) < 0.1)  # the council holds a newer address
        self.council_moved = moved
        self.council_postcode = CouncilPostcodes(self.postcode, moved)
        # (date of birth, postcode, sex) as one integer, to find combinations shared by two people
        key = ((self.dob.astype(np.int64) * len(self.sa_sector) + self.sa) * 4000 + self.postcode_unit) * 2 + self.male
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        self.demographics_unique = counts[inverse] == 1
        self.register_linkable = self.council_has_nhs | ((~moved) & self.demographics_unique)
        # the status the linked data can show (ground truth uses this; see module docstring)
        self.obs_sen_start = np.where(self.register_linkable, self.sen_start, NEVER)
        self.obs_ehcp_start = np.where(self.register_linkable, self.ehcp_start, NEVER)
        self.adhd_code = self.ever_send & (rng.random(n) < np.where(np.isin(self.need, [0, 2]), 0.25, 0.04))
        self.adhd_code |= (~self.ever_send) & (rng.random(n) < 0.01)
        self.autism_code = self.ever_send & (self.need == 0) & (rng.random(n) < 0.9)
        self.autism_code |= (rng.random(n) < 0.004)
        self.asthma = rng.random(n) < np.where(self.ever_send, 0.13, 0.10)
        self.asthma_date = self.dob + (rng.uniform(2, 10, n) * 365.25).astype(np.int64)
        self.obese = rng.random(n) < 0.07 * np.where(self.ever_send, 1.4, 1.0) * (1.3 - 0.06 * (self.imd - 1))
        self.obese_date = self.dob + (rng.uniform(4, 16, n) * 365.25).astype(np.int64)

    def status_at(self, t, idx=slice(None), observed: bool = False) -> np.ndarray:
        """0 no SEND, 1 SEN support, 2 EHCP on day(s) t for people idx."""
        sen_start = (self.obs_sen_start if observed else self.sen_start)[idx]
        ehcp_start = (self.obs_ehcp_start if observed else self.ehcp_start)[idx]
        support = (sen_start <= t) & (t < self.support_end[idx])
        ehcp = (ehcp_start <= t) & (t < self.ehcp_end[idx])
        return np.where(ehcp, 2, np.where(support, 1, 0))

    def send_group(self, idx=slice(None), observed: bool = True) -> np.ndarray:
        """Highest SEND status held before the 18th birthday (the transition view)."""
        sen = (self.obs_sen_start if observed else self.sen_start)[idx]
        ehcp = (self.obs_ehcp_start if observed else self.ehcp_start)[idx]
        # the register only holds episodes that have started by as_of
        b18 = np.minimum(self.bday18[idx], self.as_of + 1)
        return np.where(ehcp < b18, 2, np.where(sen < b18, 1, 0))

    def age_on(self, t: int, idx=slice(None)) -> np.ndarray:
        """age_at for one day t, using the birth dates' year and month-day worked out once."""
        y, m, d = ymd(np.array([t]))
        return y[0] - self.dob_y[idx] - ((m[0] * 100 + d[0]) < self.dob_md[idx])

    def in_scope(self, t, idx=slice(None)) -> np.ndarray:
        dob = self.dob[idx]
        age = self.age_on(t, idx) if np.ndim(t) == 0 else age_at(dob, t)
        return (dob <= t) & (age <= 25) & (self.registered[idx] <= t)


# ---------------------------------------------------------------------------------------------- feeds
def write_geography(w: World, out: FeedWriter) -> None:
    n_sa = len(w.sa_code)
    frame = pd.DataFrame({
        "small_area_code": w.sa_code,
        "small_area_name": [f"{w.locality_names[l]} {i % w.scale.small_areas_per_locality + 1:03d}"
                            for i, l in enumerate(w.sa_locality)],
        "locality_code": np.array(w.locality_codes)[w.sa_locality],
        "locality_name": np.array(w.locality_names)[w.sa_locality],
        "imd_decile": w.sa_imd,
        "centroid_lon": w.sa_lon,
        "centroid_lat": w.sa_lat,
        "postcode_sector": w.sa_sector,
    })
    assert len(frame) == n_sa
    out.write("geography", frame, fmt="xlsx")
    collection = geo.feature_collection(w.locality_names, w.locality_codes, w.cells)
    out.write_json("geography_boundaries.geojson", collection)


def write_registrations(w: World, out: FeedWriter, idx: np.ndarray, first: bool) -> None:
    frame = pd.DataFrame({
        "nhs_number": w.nhs[idx],
        "given_name": w.given[idx],
        "family_name": w.family[idx],
        "date_of_birth": iso(w.dob[idx]),
        "sex": np.where(w.male[idx], "M", "F"),
        "ethnic_category": np.array(ETHNIC_CODES)[w.eth[idx]],
        "postcode": w.postcode[idx],
        "small_area_code": w.sa_code[w.sa[idx]],
        "practice_code": w.practice_code[w.practice[idx]],
        "practice_name": w.practice_name[w.practice[idx]],
        "registration_date": iso(w.registered[idx]),
        "deregistration_date": "",
        "extract_date": iso(np.full(len(idx), w.as_of)),
    })
    # one file however many chunks: the registrations are a full extract (the linkage spine)
    out.write("gp_registrations", frame, fmt="csv", bom=True, append=not first)


class Accumulator:
    """Collects per-chunk pieces of ground truth (small frames) to combine at the end."""

    def __init__(self):
        self.parts: dict[str, list] = {}

    def add(self, name: str, frame) -> None:
        self.parts.setdefault(name, []).append(frame)

    def frame(self, name: str) -> pd.DataFrame:
        parts = self.parts.get(name, [])
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def monthly_activity(w: World, idx: np.ndarray, acc: Accumulator, counters: dict) -> tuple[pd.DataFrame, ...]:
    """GP consultations, A&E attendances and monthly prescriptions for the people idx.

    The ground-truth pieces are counted in the same pass, with the marts' definitions: age and (linked)
    SEND status on the first day of each month.
    """
    rng = w.rng(10, int(idx[0]))
    n = len(idx)
    group = w.send_group(idx, observed=False)
    obs_group = w.send_group(idx, observed=True)
    gp_rows, ae_rows, rx_rows = [], [], []
    on_melatonin_until = np.full(n, -1)
    loc_boost = np.where(np.isin(w.loc[idx], MELATONIN_LOCALITIES), 4.0, 1.0)
    need_boost = np.where((w.need[idx] == 0) | w.adhd_code[idx], 2.5, 1.0)
    asthma_from = np.where(w.asthma[idx], w.asthma_date[idx], NEVER)
    adhd_from = np.where(w.adhd_code[idx], np.maximum(w.sen_start[idx], w.dob[idx] + 6 * 365), NEVER)
    people = np.arange(n)
    pop, ae_by_send = [], []
    # transition counts by age 0-29 x observed SEND group: months registered, GP contacts, A&E attendances
    tr = {name: np.zeros(90, dtype=np.int64) for name in ("py", "gp", "ae")}
    for m, t in enumerate(w.months):
        t_next = w.months[m + 1] if m + 1 < len(w.months) else w.as_of + 1
        n_days = t_next - t
        scope = w.in_scope(t, idx)
        age = w.age_on(t, idx)
        status = w.status_at(t, idx)
        obs_send = w.status_at(t, idx, observed=True) > 0
        send_now = status > 0
        adult_send = (age >= 18) & (group > 0)
        # GP consultations: children with SEND see the GP more; after 18 that contact drops sharply
        gp_rate = np.select([age <= 4, age <= 17], [0.35, 0.16], 0.20)
        gp_rate = np.where(send_now & (age <= 17), gp_rate * 1.6, gp_rate)
        gp_rate = np.where(adult_send, 0.11, gp_rate)
        # A&E: SEND status adds +15 per 1,000 a month before the intervention and -3 after (-18 change);
        # young adults who had SEND as children use A&E more (+25 per 1,000)
        ae_rate = np.select([age <= 4, age <= 17], [0.045, 0.025], 0.030)
        ae_rate = ae_rate + np.where(send_now, 0.015 if t < w.intervention else -0.003, 0.0)
        ae_rate = ae_rate + np.where(adult_send, 0.025, 0.0)
        tr_key = np.clip(age, 0, 29) * 3 + obs_group
        tr["py"] += np.bincount(tr_key[scope], minlength=90)
        pop.append((m, int((scope & obs_send).sum()), int((scope & ~obs_send).sum())))
        for name, rate, rows in (("gp", gp_rate, gp_rows), ("ae", ae_rate, ae_rows)):
            counts = rng.poisson(np.where(scope, rate, 0.0))
            who = np.repeat(people, counts)
            rows.append(np.stack([who, t + rng.integers(0, n_days, len(who))], axis=1))
            tr[name] += np.bincount(tr_key, weights=counts, minlength=90).astype(np.int64)
            if name == "ae":
                ae_by_send.append((m, int(counts[obs_send].sum()), int(counts[~obs_send].sum())))
        # melatonin: starts rise year on year, four times as often in two localities
        years = (t - w.history_start) / 365.25
        hazard = np.where(send_now, 0.0011, 0.00006) * 1.45 ** years * loc_boost * need_boost
        eligible = scope & (age >= 2) & (age <= 17) & (on_melatonin_until < m)
        start = eligible & (rng.random(n) < hazard)
        on_melatonin_until[start] = m + rng.geometric(1 / 16, start.sum()) - 1
        on = scope & (on_melatonin_until >= m)
        salbutamol = scope & (asthma_from <= t) & (rng.random(n) < 0.12)
        methylphenidate = scope & (adhd_from <= t) & (rng.random(n) < 0.8)
        for drug, mask in (("melatonin", on), ("salbutamol", salbutamol), ("methylphenidate", methylphenidate)):
            who = np.flatnonzero(mask)
            rx_rows.append(pd.DataFrame({"who": who, "m": m, "drug": drug,
                                         "items": 1 + rng.binomial(1, 0.15, len(who))}))
            if drug == "melatonin":
                acc.add("melatonin", pd.DataFrame({"person": idx[who], "m": m, "send": obs_send[who],
                                                   "loc": w.loc[idx[who]]}))
    gp = np.concatenate(gp_rows)
    ae = np.concatenate(ae_rows)
    rx = pd.concat(rx_rows, ignore_index=True)
    acc.add("ae", pd.DataFrame([(m, True, a) for m, a, _ in ae_by_send] + [(m, False, b) for m, _, b in ae_by_send],
                               columns=["m", "send", "n"]))
    acc.add("pop", pd.DataFrame(pop, columns=["m", "send", "nosend"]))
    for name in ("gp", "ae"):
        acc.add(f"tr_{name}", pd.DataFrame({"age": np.arange(90) // 3, "group": np.arange(90) % 3, "n": tr[name]}))
    acc.add("tr_py", pd.DataFrame({"age": np.arange(90) // 3, "group": np.arange(90) % 3, "months": tr["py"]}))

    gp_frame = pd.DataFrame({"p": idx[gp[:, 0]], "date": gp[:, 1], "code": SNOMED["consultation"]})
    ae_frame = pd.DataFrame({"p": idx[ae[:, 0]], "date": ae[:, 1]})
    rx_frame = pd.DataFrame({"p": idx[rx["who"].to_numpy()], "month": w.months[rx["m"].to_numpy()],
                             "drug": rx["drug"].to_numpy(), "items": rx["items"].to_numpy()})
    return gp_frame, ae_frame, rx_frame


def coded_events(w: World, idx: np.ndarray, acc: Accumulator) -> pd.DataFrame:
    """Diagnoses and reviews: asthma, its annual review and monitoring, autism, ADHD, obesity."""
    rng = w.rng(11, int(idx[0]))
    parts = []

    def add(mask, dates, concept):
        keep = mask & (dates <= w.as_of) & (dates >= w.dob[idx])
        parts.append(pd.DataFrame({"p": idx[keep], "date": dates[keep], "code": SNOMED[concept]}))

    add(w.asthma[idx], w.asthma_date[idx], "asthma")
    add(w.autism_code[idx], np.minimum(w.sen_start[idx], w.as_of + 1) + rng.integers(0, 700, len(idx)), "autism")
    add(w.adhd_code[idx], np.maximum(w.sen_start[idx], w.dob[idx] + 6 * 365) + rng.integers(0, 365, len(idx)),
        "adhd")
    add(w.obese[idx], w.obese_date[idx], "obesity")
    # asthma reviews: one chance a year; children with an EHCP are reviewed less often (the planted gap)
    ehcp_now = w.status_at(w.as_of, idx) == 2
    p_review = np.where(ehcp_now, 0.55, 0.72)
    for k in range(HISTORY_YEARS + 2):
        end = add_years(np.array([w.as_of]), -k)[0]
        start = add_years(np.array([w.as_of]), -k - 1)[0]
        when = start + 1 + rng.integers(0, end - start, len(idx))
        eligible = w.asthma[idx] & (w.asthma_date[idx] < when) & w.in_scope(when, idx)
        add(eligible & (rng.random(len(idx)) < p_review), when, "asthma_review")
        when2 = start + 1 + rng.integers(0, end - start, len(idx))
        eligible2 = w.asthma[idx] & (w.asthma_date[idx] < when2) & w.in_scope(when2, idx)
        add(eligible2 & (rng.random(len(idx)) < 0.4), when2, "asthma_monitoring")
    return pd.concat(parts, ignore_index=True)


def referrals(w: World, idx: np.ndarray, counters: dict) -> pd.DataFrame:
    """Community service referrals and when each child was seen (NaN while still waiting)."""
    rng = w.rng(12, int(idx[0]))
    window_start = w.history_start - 3 * 365
    # service: (ages from, to (exclusive), yearly rate with SEND, without, median wait in weeks)
    plan = {"SLT": (2, 12, 0.10, 0.010, 20), "OT": (3, 18, 0.06, 0.005, 22), "PHYSIO": (0, 18, 0.04, 0.005, 16),
            "CAMHS": (5, 18, 0.05, 0.010, 24), "ASD": (2, 18, 0.06, 0.004, 40), "ADHD": (5, 18, 0.04, 0.004, 45),
            "PAEDS": (0, 18, 0.05, 0.010, 19)}
    parts = []
    dob = w.dob[idx]
    for service, (a0, a1, r_send, r_none, median) in plan.items():
        lo = np.maximum(np.maximum(window_start, add_years(dob, a0)), w.registered[idx])
        hi = np.minimum(w.as_of + 1, add_years(dob, a1))
        years = np.clip(hi - lo, 0, None) / 365.25
        rate = np.where(w.ever_send[idx], r_send, r_none)
        if service == "ASD":
            rate = np.where(w.need[idx] == 0, 0.25, rate)
        count = np.minimum(rng.poisson(rate * years), 3)
        who = np.repeat(np.arange(len(idx)), count)
        ref_date = lo[who] + (rng.random(len(who)) * (hi[who] - lo[who])).astype(np.int64)
        trend = 1 + 0.08 * (ref_date - w.history_start) / 365.25
        med = median * np.clip(trend, 0.7, None)
        if service == "ASD":
            med = np.where(w.loc[idx[who]] == LONG_WAIT_LOCALITY, med * 2.4, med)
        wait_days = (np.exp(rng.normal(np.log(med * 7), 0.55)) ).astype(np.int64)
        seen = ref_date + wait_days
        parts.append(pd.DataFrame({"p": idx[who], "service": service, "referral_date": ref_date,
                                   "seen_date": np.where(seen <= w.as_of, seen, -1)}))
    frame = pd.concat(parts, ignore_index=True).sort_values(["referral_date", "p"], kind="stable")
    start = counters.get("referral", 0)
    frame["referral_id"] = np.char.add("R", np.char.zfill((start + np.arange(len(frame))).astype(str), 9))
    counters["referral"] = start + len(frame)
    return frame


def council_identity(w: World, p: np.ndarray, rng: np.random.Generator, share_with_nhs: float | None = None
                     ) -> dict[str, np.ndarray]:
    """Identity columns as a council holds them: NHS number often, date of birth, sex and postcode always."""
    has_nhs = w.council_has_nhs[p] if share_with_nhs is None else rng.random(len(p)) < share_with_nhs
    postcode = w.council_postcode[p] if share_with_nhs is None else w.postcode[p]
    return {"nhs_number": np.where(has_nhs, w.nhs[p], ""), "date_of_birth": w.dob[p],
            "sex": np.where(w.male[p], "M", "F"), "postcode": postcode, "linkable": has_nhs | (
                w.demographics_unique[p] & (postcode == w.postcode[p]))}


def send_register(w: World) -> pd.DataFrame:
    """One row per SEND episode (SEN support or EHCP) that started by as_of."""
    rng = w.rng(13)
    support = np.flatnonzero(w.ever_send & (w.sen_start < w.support_end) & (w.sen_start <= w.as_of))
    ehcp = np.flatnonzero(w.ever_ehcp & (w.ehcp_start <= w.as_of))
    p = np.concatenate([support, ehcp])
    is_ehcp = np.concatenate([np.zeros(len(support), bool), np.ones(len(ehcp), bool)])
    start = np.where(is_ehcp, w.ehcp_start[p], w.sen_start[p])
    end = np.where(is_ehcp, w.ehcp_end[p], w.support_end[p])
    open_ = end > w.as_of
    ident = council_identity(w, p, rng)
    # annual reviews: most plans reviewed within the last year, some overdue
    months_in = (w.as_of - start) / 30.44
    reviewed = rng.random(len(p)) < 0.78
    last_review = np.where(reviewed, w.as_of - rng.integers(0, 365, len(p)), w.as_of - rng.integers(366, 560, len(p)))
    last_review = np.where(is_ehcp & open_ & (months_in >= 12) & (last_review >= start + 300), last_review, -1)
    due = np.where(last_review > 0, add_years(np.maximum(last_review, 0), 1), add_years(start, 1))
    frame = pd.DataFrame({
        "record_id": np.char.add("SR", np.char.zfill(np.arange(1, len(p) + 1).astype(str), 8)),
        "nhs_number": ident["nhs_number"],
        "date_of_birth": uk(ident["date_of_birth"]),
        "sex": ident["sex"],
        "postcode": ident["postcode"],
        "sen_status": np.where(is_ehcp, "E", "K"),
        "primary_need": np.array(NEEDS)[w.need[p]],
        "start_date": uk(start),
        "end_date": np.where(open_, "", uk(np.minimum(end, w.as_of))),
        "plan_id": np.where(is_ehcp, np.char.add("EHCP", np.char.zfill(np.arange(1, len(p) + 1).astype(str), 7)), ""),
        "last_review_date": np.where(is_ehcp & (last_review > 0), uk(np.maximum(last_review, 0)), ""),
        "review_due_date": np.where(is_ehcp & open_, uk(due), ""),
        "cease_reason": np.where(is_ehcp & ~open_, w.cease_reason[p], ""),
    })
    order = rng.permutation(len(frame))
    frame = frame.iloc[order].reset_index(drop=True)
    frame.attrs["linkable"] = ident["linkable"][order]
    return frame


def sen2_casework(w: World) -> pd.DataFrame:
    """EHC needs assessment requests in the history window, with decisions, plans and disputes."""
    rng = w.rng(14)
    # requests that led to a plan: the request came weeks_to_issue before the plan started
    planned = np.flatnonzero(w.ever_ehcp)
    weeks = np.clip(rng.gamma(6.0, 3.6, len(planned)), 8, 104)
    exception = rng.random(len(planned)) < 0.06
    request = w.ehcp_start[planned] - (weeks * 7).astype(np.int64)
    in_assessment = (request >= w.history_start) & (request <= w.as_of) & (w.ehcp_start[planned] > w.as_of)
    assessed_p, assessed_request = planned[in_assessment], request[in_assessment]
    keep = (request >= w.history_start) & (w.ehcp_start[planned] <= w.as_of)
    planned, weeks, exception, request = planned[keep], weeks[keep], exception[keep], request[keep]
    # requests refused, or assessed without a plan, for children on SEN support
    others = np.flatnonzero(w.ever_send & ~w.ever_ehcp & (w.sen_start < w.as_of))
    others = others[rng.random(len(others)) < 0.12]
    o_request = w.sen_start[others] + (rng.uniform(0.2, 5, len(others)) * 365.25).astype(np.int64)
    keep = (o_request >= w.history_start) & (o_request <= w.as_of - 60) & (o_request < w.bday18[others])
    others, o_request = others[keep], o_request[keep]
    refuse = rng.random(len(others)) < 0.6
    p = np.concatenate([planned, others])
    req = np.concatenate([request, o_request])
    decision_kind = np.concatenate([np.full(len(planned), "assess"), np.where(refuse, "refuse", "assess")])
    outcome = np.concatenate([np.full(len(planned), "plan"), np.where(refuse, "", "no plan")])
    issued = np.concatenate([w.ehcp_start[planned], np.full(len(others), -1)])
    exc = np.concatenate([exception, np.zeros(len(others), bool)])
    parts = [_casework_rows(w, rng, p, req, decision_kind, outcome, issued, exc),
             _requests_in_assessment(w, assessed_p, assessed_request)]
    frame = pd.concat([rows for rows, _ in parts], ignore_index=True)
    frame.insert(0, "request_id", np.char.add("REQ", np.char.zfill(np.arange(1, len(frame) + 1).astype(str), 7)))
    linkable = np.concatenate([linkable for _, linkable in parts])
    order = np.argsort(np.concatenate([req, assessed_request]), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame.attrs["linkable"] = linkable[order]
    return frame


def _requests_in_assessment(w: World, p: np.ndarray, request: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Requests made by the snapshot date for children whose plans start after it: decided (to assess) if the
    decision was due by then, with no plan yet.

    They were left out, because the requests were made from plans that had started, so the latest 12 months
    showed about 40% fewer requests than the years before (923 against about 1,450 at county scale) and
    almost no one was awaiting an assessment. A random stream of their own leaves every other request as it
    was."""
    return _casework_rows(w, w.rng(14, 1), p, request, np.full(len(p), "assess"), np.full(len(p), ""),
                          np.full(len(p), -1), np.zeros(len(p), bool))


def _casework_rows(w: World, rng: np.random.Generator, p: np.ndarray, req: np.ndarray, decision_kind: np.ndarray,
                   outcome: np.ndarray, issued: np.ndarray, exc: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The casework rows of these requests (decisions, outcomes, plans and disputes as known at the snapshot;
    ``issued`` -1 for no plan, the child's identity as the council holds it), and which rows can be linked."""
    decision_weeks = np.clip(rng.gamma(5.0, 1.2, len(p)), 1, 20)
    decision = req + (decision_weeks * 7).astype(np.int64)
    ident = council_identity(w, p, rng)
    mediation = rng.random(len(p)) < np.where(decision_kind == "refuse", 0.12, 0.04)
    tribunal = rng.random(len(p)) < np.where(decision_kind == "refuse", 0.06, 0.02)
    med_date = decision + rng.integers(20, 120, len(p))
    trib_date = decision + rng.integers(90, 300, len(p))
    mediation &= med_date <= w.as_of
    tribunal &= trib_date <= w.as_of
    frame = pd.DataFrame({
        "nhs_number": ident["nhs_number"],
        "date_of_birth": iso(ident["date_of_birth"]),
        "sex": ident["sex"],
        "postcode": ident["postcode"],
        "request_date": iso(req),
        "decision_date": np.where(decision <= w.as_of, iso(decision), ""),
        "decision": np.where(decision <= w.as_of, decision_kind, ""),
        "assessment_outcome": np.where((issued > 0) | ((outcome == "no plan") & (decision + 100 <= w.as_of)),
                                       outcome, ""),
        "plan_issued_date": np.where(issued > 0, iso(np.maximum(issued, 0)), ""),
        "exception": np.where(exc, "Y", "N"),
        "mediation_date": np.where(mediation, iso(med_date), ""),
        "mediation_outcome": np.where(mediation, rng.choice(["agreement", "no agreement"], len(p), p=[0.7, 0.3]), ""),
        "tribunal_date": np.where(tribunal, iso(trib_date), ""),
        "tribunal_outcome": np.where(tribunal, rng.choice(["upheld", "partly upheld", "dismissed", "withdrawn"],
                                                          len(p), p=[0.55, 0.15, 0.05, 0.25]), ""),
    })
    return frame, ident["linkable"]


def academic_years(w: World) -> list[tuple[str, int, int]]:
    """(label, 1 September start, census day 15 January) for academic years that ended by as_of."""
    years = []
    y_end = dt.date.fromordinal(to_date(w.as_of).toordinal()).year
    for y in range(y_end - HISTORY_YEARS, y_end):
        start = days(dt.date(y, 9, 1))
        if days(dt.date(y + 1, 7, 31)) <= w.as_of and start >= w.history_start - 40:
            years.append((f"{y}/{str(y + 1)[2:]}", start, days(dt.date(y + 1, 1, 15))))
    return years


def school_feeds(w: World, idx: np.ndarray, counters: dict, acc: Accumulator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """School census rows (one per pupil per academic year) and KS4 results (Year 11 pupils)."""
    rng = w.rng(15, int(idx[0]))
    n_pri = int((w.school_phase == "primary").sum())
    census, ks4 = [], []
    pri_pick = rng.random(len(idx))
    sec_pick = rng.random(len(idx))
    loc = w.loc[idx]
    pri_count = np.bincount(w.school_locality[:n_pri], minlength=w.scale.n_localities)
    sec_count = np.bincount(w.school_locality[n_pri:], minlength=w.scale.n_localities)
    pri_schools = [np.flatnonzero(w.school_locality[:n_pri] == l) for l in range(w.scale.n_localities)]
    sec_schools = [n_pri + np.flatnonzero(w.school_locality[n_pri:] == l) for l in range(w.scale.n_localities)]
    pri_table = np.full((w.scale.n_localities, pri_count.max()), -1)
    sec_table = np.full((w.scale.n_localities, sec_count.max()), -1)
    for l in range(w.scale.n_localities):
        pri_table[l, :len(pri_schools[l])] = pri_schools[l]
        sec_table[l, :len(sec_schools[l])] = sec_schools[l]
    pri = pri_table[loc, (pri_pick * pri_count[loc]).astype(int)]
    sec = sec_table[loc, (sec_pick * sec_count[loc]).astype(int)]
    upn = np.char.add("K", np.char.zfill((idx + 100_000_000_000).astype(str), 12))
    ability = rng.normal(0, 1, len(idx))
    for label, start, census_day in academic_years(w):
        age_aug = age_at(w.dob[idx], start - 1)
        pupil = (age_aug >= 4) & (age_aug <= 15) & w.in_scope(census_day, idx)
        status = w.status_at(census_day, idx)
        p = np.flatnonzero(pupil)
        st = status[p]
        possible = rng.integers(300, 336, len(p))
        rate = np.choose(st, [0.055, 0.085, 0.11]) * rng.gamma(2.0, 0.5, len(p))
        missed = rng.binomial(possible, np.clip(rate, 0, 0.9))
        susp = rng.poisson(np.choose(st, [0.02, 0.12, 0.09]) * np.where(age_aug[p] >= 11, 2.0, 0.4))
        excl = (rng.random(len(p)) < np.choose(st, [0.0005, 0.003, 0.002]) * (age_aug[p] >= 11)).astype(int)
        census.append(pd.DataFrame({
            "p": idx[p], "academic_year": label, "census_date": census_day,
            "school_urn": w.school_urn[np.where(age_aug[p] <= 10, pri[p], sec[p])],
            "upn": upn[p], "sen_provision": np.array(["N", "K", "E"])[st],
            "sessions_possible": possible, "sessions_missed": missed, "suspensions": susp,
            "permanent_exclusions": excl}))
        y11 = p[age_aug[p] == 15]
        st11 = status[y11]
        a8 = np.clip(np.choose(st11, [50.0, 34.0, 14.8]) + np.choose(st11, [14.0, 12.0, 9.0]) * ability[y11], 0, 90)
        ks4.append(pd.DataFrame({"p": idx[y11], "academic_year": label, "census_date": census_day,
                                 "school_urn": w.school_urn[sec[y11]], "upn": upn[y11],
                                 "attainment8": np.round(a8, 1)}))
    return pd.concat(census, ignore_index=True), pd.concat(ks4, ignore_index=True)


def surveys(w: World) -> tuple[pd.DataFrame, list[dict]]:
    """Parent and young-person survey responses with scores and free-text comments."""
    rng = w.rng(16)
    quarters = month_starts(w.history_start, w.as_of)[::3]
    rows = []
    loc_weight = np.bincount(w.loc, minlength=w.scale.n_localities) / (w.n / w.scale.n_localities)
    for qi, q in enumerate(quarters):
        q_end = min(int(add_years(np.array([q]), 0)[0]) + 91, w.as_of)
        for si, service in enumerate(SERVICES):
            counts = rng.poisson(w.scale.survey_rate * loc_weight * (1.4 if service in ("SLT", "ASD") else 1.0))
            for loc in range(w.scale.n_localities):
                k = counts[loc]
                if k:
                    rows.append(pd.DataFrame({"loc": loc, "service": service,
                                              "date": q + rng.integers(0, max(1, q_end - q), k)}))
    frame = pd.concat(rows, ignore_index=True)
    n = len(frame)
    penalty = np.where(frame["loc"].to_numpy() == LONG_WAIT_LOCALITY, 2.6, 0.0)
    penalty = penalty + np.where(frame["service"].isin(["ASD", "ADHD"]).to_numpy(), 0.6, 0.0)
    score = np.clip(np.round(rng.normal(7.4 - penalty, 1.7)), 0, 10).astype(int)
    respondent = np.where(rng.random(n) < 0.75, "parent", "young person")
    themes = list(vocab.COMMENTS)
    low = score <= 5
    theme = np.where(low & (rng.random(n) < 0.6), 0, rng.integers(0, len(themes), n))
    has_comment = rng.random(n) < 0.7
    comments = np.full(n, "", dtype=object)
    planted = []
    kinds = list(vocab.IDENTIFIER_SENTENCES)
    carries = has_comment & (rng.random(n) < 0.12)
    response_ids = np.char.add("S", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    people = rng.integers(0, w.n, n)
    for i in np.flatnonzero(has_comment):
        options = vocab.COMMENTS[themes[theme[i]]]
        text = options[rng.integers(0, len(options))].format(
            locality=w.locality_names[frame["loc"].iat[i]], service=frame["service"].iat[i])
        if carries[i]:
            kind = kinds[rng.integers(0, len(kinds))]
            pi = people[i]
            value = {
                "name": f"{w.given[pi]} {w.family[pi]}" if rng.random() < 0.5 else str(w.given[pi]),
                "nhs_number": f"{w.nhs[pi][:3]} {w.nhs[pi][3:6]} {w.nhs[pi][6:]}",
                "date_of_birth": to_date(w.dob[pi]).strftime("%d/%m/%Y"),
                "phone": f"07700 900{rng.integers(0, 1000):03d}",
                "email": f"{w.given[pi].lower()}.{w.family[pi].lower().replace(chr(39), '')}@example.com",
                "address": f"{w.house[pi]} {w.street[pi]}, {w.locality_names[w.loc[pi]]}",
            }[kind]
            sentences = vocab.IDENTIFIER_SENTENCES[kind]
            text = f"{text} {sentences[rng.integers(0, len(sentences))].format(value=value)}"
            planted.append({"response_id": str(response_ids[i]), "kind": kind, "value": value})
        comments[i] = text
    out = pd.DataFrame({
        "response_id": response_ids,
        "survey_date": iso(frame["date"].to_numpy()),
        "service": frame["service"].to_numpy(),
        "locality": np.array(w.locality_names)[frame["loc"].to_numpy()],
        "respondent": respondent,
        "score": score,
        "comment": comments,
        "comment_theme": np.where(has_comment, np.array(themes)[theme], ""),
    })
    return out, planted


# ------------------------------------------------------------------------------ activity by chunk of people
# Identifiers numbered within a chunk start at the chunk's own block, so chunks can be made in any order (or at
# once) and still number the same way; one chunk (every scale but national) starts at 0 as before.
AE_IDS_PER_CHUNK = 10**8
REFERRAL_IDS_PER_CHUNK = 10**7


@dataclasses.dataclass
class ChunkFeeds:
    """What one chunk of people leaves behind once its activity feeds are written."""

    files: list[dict]                 # FeedWriter records of the files written, in order
    ground_truth: dict[str, list]     # Accumulator parts
    referrals: pd.DataFrame
    census_linkable: np.ndarray
    ks4: pd.DataFrame


def chunk_feeds(w: World, out_dir: Path, ci: int, idx: np.ndarray, n_chunks: int) -> ChunkFeeds:
    """Write the GP events, A&E, prescribing and school census files of the people ``idx`` (chunk ``ci``)."""
    out, acc = FeedWriter(out_dir), Accumulator()
    # The chunk's NHS numbers as text, made once: each person has many rows (9.5 million GP events for 750,000
    # people at national scale, where turning each row's number into text took 2 s of the chunk's 25).
    if idx[-1] - idx[0] + 1 != len(idx):
        raise ValueError("a chunk is a run of consecutive people")
    chunk_nhs = w.nhs[idx]

    def nhs_number(p: np.ndarray) -> np.ndarray:
        return chunk_nhs[p - idx[0]]

    counters = {"ae": ci * AE_IDS_PER_CHUNK, "referral": ci * REFERRAL_IDS_PER_CHUNK}
    gp, ae, rx = monthly_activity(w, idx, acc, counters)
    events = pd.concat([coded_events(w, idx, acc), gp], ignore_index=True)
    events = events.sort_values(["date", "p"], kind="stable")
    acc.add("asthma_events", events.loc[events["code"].isin([SNOMED["asthma"], SNOMED["asthma_review"]]),
                                        ["p", "date", "code"]])
    out.write("gp_events", pd.DataFrame({
        "nhs_number": nhs_number(events["p"].to_numpy()),
        "practice_code": w.practice_code[w.practice[events["p"].to_numpy()]],
        "event_date": events["date"].to_numpy().astype("datetime64[D]"),
        "snomed_code": events["code"].to_numpy(),
    }), fmt="parquet", part=ci)
    ae = ae.sort_values(["date", "p"], kind="stable")
    start = counters.get("ae", 0)
    counters["ae"] = start + len(ae)
    acuity = w.rng(20, int(idx[0])).choice(["1", "2", "3", "4", "5"], len(ae), p=[0.01, 0.09, 0.4, 0.4, 0.1])
    # written with columns in another order than the contract, and UK dates
    out.write("ae_attendances", pd.DataFrame({
        "arrival_date": uk(ae["date"].to_numpy()),
        "acuity": acuity,
        "nhs_number": nhs_number(ae["p"].to_numpy()),
        "attendance_id": np.char.add("AE", np.char.zfill((start + np.arange(len(ae))).astype(str), 10)),
        "provider_code": "ZRX",
    }), fmt="csv", part=ci)
    rx = rx.sort_values(["month", "p", "drug"], kind="stable")
    code = rx["drug"].map({k: v[0] for k, v in BNF.items()}).to_numpy()
    out.write("prescribing", pd.DataFrame({
        "nhs_number": nhs_number(rx["p"].to_numpy()),
        "practice_code": w.practice_code[w.practice[rx["p"].to_numpy()]],
        "dispensed_month": rx["month"].to_numpy().astype("datetime64[D]"),
        "bnf_code": code,
        "bnf_name": rx["drug"].map({k: v[1] for k, v in BNF.items()}).to_numpy(),
        "items": rx["items"].to_numpy().astype(np.int64),
    }), fmt="parquet", part=ci)
    ref = referrals(w, idx, counters)
    census, ks4 = school_feeds(w, idx, counters, acc)
    ident = council_identity(w, census["p"].to_numpy(), w.rng(17, int(idx[0])), share_with_nhs=0.4)
    # the census is the largest council feed: written chunk by chunk (one file at county scale)
    out.write("school_census", pd.DataFrame({
        "academic_year": census["academic_year"], "school_urn": census["school_urn"].astype(str),
        "upn": census["upn"], "nhs_number": ident["nhs_number"],
        "date_of_birth": ident["date_of_birth"].astype("datetime64[D]"), "sex": ident["sex"],
        "postcode": ident["postcode"], "sen_provision": census["sen_provision"],
        "sessions_possible": census["sessions_possible"].astype(np.int64),
        "sessions_missed": census["sessions_missed"].astype(np.int64),
        "suspensions": census["suspensions"].astype(np.int64),
        "permanent_exclusions": census["permanent_exclusions"].astype(np.int64),
    }), fmt="parquet", part=None if n_chunks == 1 else ci)
    if counters["ae"] - ci * AE_IDS_PER_CHUNK > AE_IDS_PER_CHUNK or \
            counters["referral"] - ci * REFERRAL_IDS_PER_CHUNK > REFERRAL_IDS_PER_CHUNK:
        raise ValueError("a chunk of people made more records than its block of identifiers holds")
    return ChunkFeeds(out.files, acc.parts, ref, ident["linkable"], ks4)


def generate_workers() -> int:
    """Processes for the chunks: SEND_PORTAL_GENERATE_WORKERS if set, else one per core up to two (each holds
    one chunk's working data; two fit a 24 GB machine at national scale)."""
    wanted = os.environ.get("SEND_PORTAL_GENERATE_WORKERS", "").strip()
    if wanted:
        if not wanted.isdigit() or not 1 <= int(wanted) <= 64:
            raise ValueError(f"SEND_PORTAL_GENERATE_WORKERS must be a whole number from 1 to 64, not {wanted!r}.")
        return int(wanted)
    return max(1, min(2, os.cpu_count() or 1))


def _activity_step(chunks: list[np.ndarray], ci: int) -> str:
    return f"activity for people {chunks[ci][0]:,}-{chunks[ci][-1]:,}"


_FORKED_WORLD: "World | None" = None  # the world a forked process reads (copied on write, never pickled)


def _chunk_in_worker(args) -> ChunkFeeds:
    return chunk_feeds(_FORKED_WORLD, *args)


class WorkerDied(RuntimeError):
    """A forked generator process ended without finishing its work (most often killed for lack of memory)."""


class ForkedCall:
    """fn(*args) in a forked process of its own, which reads the world ``w`` as ``_FORKED_WORLD`` (shared, copied
    on write) and ends when the call returns, so its memory goes back. If the process dies, result() raises
    WorkerDied: multiprocessing.Pool, used before, waited for ever for the lost task."""

    def __init__(self, w: World, fn, *args):
        global _FORKED_WORLD
        _FORKED_WORLD = w
        # Everything alive at the fork is frozen out of the garbage collector, so the forked process never
        # collects the parent's garbage: a DuckDB connection there (left by a caller, as in the tests) would
        # be closed in a process without its threads, which crashes it. It also spares the copied-on-write
        # memory the collector's writes.
        gc.freeze()
        try:  # a fork-context executor forks on submit, in this thread, so the process sees the world set here
            self._executor = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            self._future = self._executor.submit(fn, *args)
        finally:
            gc.unfreeze()
            _FORKED_WORLD = None

    def result(self):
        try:
            return self._future.result()
        except concurrent.futures.process.BrokenProcessPool as exc:
            raise WorkerDied(
                "a generator process ended before finishing its work, most often because the machine ran out of "
                "memory; free some, or run one process at a time with SEND_PORTAL_GENERATE_WORKERS=1") from exc
        finally:
            self._executor.shutdown()

    def abandon(self) -> None:
        """Stop waiting for the call; a call already running finishes in its process."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _each_chunk(w: World, out_dir: Path, chunks: list[np.ndarray], workers: int):
    """(index, ChunkFeeds) for every chunk, in order; with more than one worker, up to that many chunks are made
    at once, each in a forked process that shares the world and ends after its chunk."""
    jobs = [(out_dir, ci, idx, len(chunks)) for ci, idx in enumerate(chunks)]
    if workers <= 1 or len(chunks) == 1:
        for ci, job in enumerate(jobs):
            yield ci, chunk_feeds(w, *job)
        return
    running: collections.deque[ForkedCall] = collections.deque()
    try:
        for job in jobs[:workers]:
            running.append(ForkedCall(w, _chunk_in_worker, job))
        for ci in range(len(jobs)):
            made = running.popleft().result()
            if ci + workers < len(jobs):  # the next chunk starts before this one's files are taken in
                running.append(ForkedCall(w, _chunk_in_worker, jobs[ci + workers]))
            yield ci, made
    finally:
        for call in running:
            call.abandon()


@dataclasses.dataclass
class WorldFeeds:
    """What the ground truth needs of the feeds made from the world alone, and the records of their files."""
    register_linkable: np.ndarray
    survey_scores: pd.DataFrame  # locality and score of every survey response
    planted: list[dict]
    files: list[dict]


COUNCIL_FEEDS = ("community_referrals", "send_register", "sen2_casework", "ks4_attainment", "surveys")


def world_feeds(w: World, out_dir: Path) -> WorldFeeds:
    """Write the SEND register and the surveys."""
    out = FeedWriter(out_dir)
    register = send_register(w)
    out.write("send_register", register, fmt="csv")
    survey, planted = surveys(w)
    out.write("surveys", survey, fmt="csv", bom=True)
    return WorldFeeds(register.attrs["linkable"], survey[["locality", "score"]], planted, out.files)


def _world_feeds_in_worker(out_dir: Path) -> WorldFeeds:
    return world_feeds(_FORKED_WORLD, out_dir)


# ------------------------------------------------------------------------------------------- the run
def generate(scale_name: str, out_dir: Path, seed: int = 20261031, reference: dt.date = REFERENCE_DATE,
             progress=None, workers: int | None = None) -> dict:
    """Write every feed of the synthetic ICB into ``out_dir`` and return the ground truth (also written).

    ``workers`` processes make the chunks of people at once (default: SEND_PORTAL_GENERATE_WORKERS, else
    one per core up to two); the files are the same whatever the number."""
    workers = workers or generate_workers()
    scale = SCALES[scale_name]
    as_of = as_of_for(reference)
    step = progress or (lambda message: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = FeedWriter(out_dir)
    step("people and geography")
    w = World(scale, seed, as_of)
    write_geography(w, out)
    acc = Accumulator()
    chunks = [np.arange(lo, min(lo + scale.chunk_people, w.n)) for lo in range(0, w.n, scale.chunk_people)]
    ref_frames, census_linkable, ks4_frames = [], [], []
    step(_activity_step(chunks, 0))
    for ci, chunk in _each_chunk(w, out_dir, chunks, workers):
        # written here, while the workers make the next chunks, rather than before they start (28 s at
        # national scale that held them up)
        write_registrations(w, out, chunks[ci], first=ci == 0)
        if ci + 1 < len(chunks):  # the next chunk waited for (with several workers, it is already under way)
            step(_activity_step(chunks, ci + 1))
        for name, parts in chunk.ground_truth.items():
            for part in parts:
                acc.add(name, part)
        out.files.extend(chunk.files)
        ref_frames.append(chunk.referrals)
        census_linkable.append(chunk.census_linkable)
        ks4_frames.append(chunk.ks4)
    step("council and community feeds")
    # The SEND register and the surveys need only the world: with a second worker they are made in a forked
    # process while this one makes the feeds that need the chunks (at national scale 32 s and 38 s, which
    # took 70 s one after the other).
    council_files = len(out.files)  # where the council feeds' records start
    beside = ForkedCall(w, _world_feeds_in_worker, out_dir) if workers > 1 else None
    try:
        ref = pd.concat(ref_frames, ignore_index=True)
        out.write("community_referrals", pd.DataFrame({
            "referral_source": np.where(ref["service"].isin(["ASD", "ADHD", "PAEDS"]), "GP", "School"),
            "referral_id": ref["referral_id"],
            "nhs_number": w.nhs[ref["p"].to_numpy()],
            "service": ref["service"],
            "referral_date": uk(ref["referral_date"].to_numpy()),
            "seen_date": np.where(ref["seen_date"].to_numpy() > 0, uk(np.maximum(ref["seen_date"].to_numpy(), 0)), ""),
        }), fmt="csv", bom=True)
        casework = sen2_casework(w)
        # Excel is how casework teams send it; above a county's size openpyxl is too slow, so CSV
        out.write("sen2_casework", casework, fmt="xlsx" if len(casework) < 100_000 else "csv")
        ks4 = pd.concat(ks4_frames, ignore_index=True)
        kident = council_identity(w, ks4["p"].to_numpy(), w.rng(18), share_with_nhs=0.5)
        out.write("ks4_attainment", pd.DataFrame({
            "academic_year": ks4["academic_year"], "upn": ks4["upn"], "nhs_number": kident["nhs_number"],
            "date_of_birth": iso(kident["date_of_birth"]), "sex": kident["sex"], "postcode": kident["postcode"],
            "school_urn": ks4["school_urn"].astype(str), "attainment8": ks4["attainment8"],
        }), fmt="csv")
        world = beside.result() if beside else world_feeds(w, out_dir)
    finally:
        if beside:
            beside.abandon()
    # in the order one process writes them, so the ground truth's list of files does not depend on the workers
    out.files[council_files:] = sorted(out.files[council_files:] + world.files,
                                       key=lambda f: COUNCIL_FEEDS.index(f["feed"]))
    step("ground truth")
    truth = ground_truth(w, acc, ref, np.concatenate(census_linkable), ks4, kident["linkable"],
                         world.register_linkable, casework, world.survey_scores, world.planted)
    truth["files"] = out.files
    (out_dir / "ground_truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True, default=_json_default))
    return truth


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(type(value))


def ground_truth(w: World, acc: Accumulator, ref: pd.DataFrame, census_linkable: np.ndarray,
                 ks4: pd.DataFrame, ks4_linkable, register_linkable: np.ndarray, casework: pd.DataFrame,
                 survey_scores: pd.DataFrame, planted: list[dict]) -> dict:
    names = w.locality_names
    as_of = to_date(w.as_of)
    truth: dict = {"as_of": as_of.isoformat(), "history_start": to_date(w.history_start).isoformat(),
                   "scale": w.scale.name, "seed": w.seed, "localities": names,
                   "note": ("True values use the SEND status that linked data can show (council records the "
                            "documented linkage rule cannot match do not count). person_keys depend on the "
                            "LINKAGE_KEY in use when the feeds were generated.")}

    # melatonin: patients with SEND per 12-month period ending on as_of, and by locality in the last one
    mel = acc.frame("melatonin")
    period = (len(w.months) - 1 - mel["m"]) // 12  # 0 = the 12 months to as_of
    send = mel[mel["send"]]
    by_period = send.assign(period=period[mel["send"]]).groupby("period")["person"].nunique()
    years = []
    for k in sorted(by_period.index, reverse=True):
        end = add_years(np.array([w.as_of]), -int(k))[0]
        years.append({"period_end": to_date(end).isoformat(), "send_patients": int(by_period[k])})
    last = send[period[mel["send"]] == 0].groupby("loc")["person"].nunique()
    truth["melatonin"] = {
        "localities": [names[i] for i in MELATONIN_LOCALITIES],
        "send_patients_by_year": years,
        "send_patients_last_12_months_by_locality": {names[i]: int(last.get(i, 0)) for i in range(len(names))},
        "definition": "distinct people with a melatonin (BNF 0401010AD) item in a month in which they had SEND "
                      "(EHCP or SEN support); 12-month periods ending on as_of",
    }

    # A&E: planted level change for SEND, and the realised monthly rates
    ae = acc.frame("ae").groupby(["m", "send"])["n"].sum().unstack(fill_value=0)
    pop = acc.frame("pop").groupby("m")[["send", "nosend"]].sum()
    rate_send = ae.get(True, 0) / pop["send"] * 1000
    rate_none = ae.get(False, 0) / pop["nosend"] * 1000
    after = w.months >= w.intervention
    truth["ae_intervention"] = {
        "intervention_date": to_date(w.intervention).isoformat(),
        "true_level_change_per_1000_per_month": -18.0,
        "no_change_date": to_date(w.no_change).isoformat(),
        "no_change_true_level_change": 0.0,
        "no_change_note": "analyse a window that ends before the intervention date",
        "send_rate_before": round(float(rate_send[~after].mean()), 3),
        "send_rate_after": round(float(rate_send[after].mean()), 3),
        "non_send_rate_before": round(float(rate_none[~after].mean()), 3),
        "non_send_rate_after": round(float(rate_none[after].mean()), 3),
        "definition": "A&E attendances per 1,000 people per month; SEND status on the first day of the month "
                      "(agg_activity_month)",
    }

    # autism waits: median wait of children waiting now, by locality
    ref = ref.copy()
    ref["loc"] = w.loc[ref["p"].to_numpy()]
    waiting = ref[(ref["service"] == "ASD") & (ref["seen_date"] < 0)]
    med = ((w.as_of - waiting["referral_date"]) / 7.0).groupby(waiting["loc"]).median()
    truth["autism_waits"] = {
        "locality": names[LONG_WAIT_LOCALITY],
        "median_wait_weeks_waiting_now": round(float(med[LONG_WAIT_LOCALITY]), 2),
        "median_wait_weeks_waiting_now_by_locality": {names[i]: round(float(v), 2) for i, v in med.items()},
        "definition": "ASD referrals not yet seen at as_of; wait = (as_of - referral_date) / 7 days",
    }

    # attainment gap
    k = ks4[np.asarray(ks4_linkable)]
    census_month = (k["census_date"].to_numpy() - 14)  # 1 January: status on the first day of the month
    st = w.status_at(census_month, k["p"].to_numpy(), observed=True)
    means = k["attainment8"].groupby(st).mean()
    truth["attainment"] = {
        "mean_attainment8": {"EHCP": round(float(means[2]), 3), "SEN support": round(float(means[1]), 3),
                             "No SEND": round(float(means[0]), 3)},
        "gap_ehcp_vs_no_send": round(float(means[0] - means[2]), 3),
        "rows_linked": int(len(k)),
        "definition": "mean Attainment 8 over all academic years, SEND status on 1 January of the academic year",
    }

    # transition at 18: per person-year at 17 and 19, for the SEND group (SEND before 18)
    tr = {}
    py = acc.frame("tr_py").groupby(["age", "group"])["months"].sum() / 12
    for name in ("gp", "ae"):
        ev = acc.frame(f"tr_{name}").groupby(["age", "group"])["n"].sum()
        for age in (17, 19):
            send_events = sum(ev.get((age, g), 0) for g in (1, 2))
            send_py = sum(py.get((age, g), 0) for g in (1, 2))
            tr[f"{name}_per_person_year_age_{age}"] = round(float(send_events / send_py), 4)
    truth["transition"] = {**tr, "definition": (
        "young people whose highest SEND status before their 18th birthday was EHCP or SEN support; events "
        "by age on the first day of the event's month, person-years from months in which they were 0-25 and registered (age at the "
        "first of the month), history window only")}

    # asthma review gap: EHCP now (linked), asthma ever, no asthma review in the 12 months to as_of
    ev = acc.frame("asthma_events")
    asthma_people = np.unique(ev.loc[ev["code"] == SNOMED["asthma"], "p"])
    year_ago = add_years(np.array([w.as_of]), -1)[0]
    reviewed = np.unique(ev.loc[(ev["code"] == SNOMED["asthma_review"]) & (ev["date"] > year_ago) &
                                (ev["date"] <= w.as_of), "p"])
    ehcp_now = np.flatnonzero((w.status_at(w.as_of, observed=True) == 2) & w.in_scope(w.as_of))
    cohort = np.setdiff1d(np.intersect1d(ehcp_now, asthma_people), reviewed)
    keys = linkage.person_keys(w.nhs[cohort])
    by_practice: dict[str, dict] = {}
    for person, key in sorted(zip(cohort, keys), key=lambda pk: (w.practice_code[w.practice[pk[0]]], pk[1])):
        entry = by_practice.setdefault(str(w.practice_code[w.practice[person]]), {"person_keys": [], "nhs_numbers": []})
        entry["person_keys"].append(str(key))
        entry["nhs_numbers"].append(str(w.nhs[person]))
    truth["asthma_review_gap"] = {
        "snomed": {"asthma": SNOMED["asthma"], "asthma_review": SNOMED["asthma_review"]},
        "window": f"review dated after {to_date(year_ago).isoformat()} up to {as_of.isoformat()}",
        "count_by_practice": {p: len(v["nhs_numbers"]) for p, v in by_practice.items()},
        "by_practice": by_practice,
        "total": int(len(cohort)),
        "definition": "aged 0-25 and registered at as_of, EHCP at as_of, asthma code ever, no asthma review "
                      "(394700004) in the 12 months to as_of",
    }

    # surveys
    mean_score = survey_scores.groupby("locality")["score"].mean()
    truth["survey"] = {
        "lowest_scoring_locality": str(mean_score.idxmin()),
        "mean_score_by_locality": {k: round(float(v), 3) for k, v in mean_score.items()},
        "planted_identifiers": planted,
    }

    # rates at as_of among pupils (age 5-15) and expected linkage match rates
    pupils = w.in_scope(w.as_of) & (age_at(w.dob, w.as_of) >= 5) & (age_at(w.dob, w.as_of) <= 15)
    st_now = w.status_at(w.as_of, observed=True)
    truth["prevalence_age_5_15"] = {"ehcp_pct": round(float((st_now[pupils] == 2).mean() * 100), 2),
                                    "sen_support_pct": round(float((st_now[pupils] == 1).mean() * 100), 2)}
    truth["expected_match_rate"] = {
        "send_register": round(float(register_linkable.mean()), 6),
        "sen2_casework": round(float(casework.attrs["linkable"].mean()), 6),
        "school_census": round(float(np.asarray(census_linkable).mean()), 6),
        "ks4_attainment": round(float(np.asarray(ks4_linkable).mean()), 6),
    }
    return truth
