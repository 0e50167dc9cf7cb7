"""The same questions answered the way an analyst scripts them today: pandas over the raw feed files.

The raw files are read once (CSV with UK dates, Excel, Parquet, as the ICB receives them) and joined into
one person table (GP registration + geography + the council's SEND register by NHS number) — that set-up
is timed separately and not charged to any question, which favours pandas. Council records without an NHS
number (SEND register, SEN2 casework, school census, key stage 4) are matched there to the one registration
with the same date of birth, sex and postcode, as the portal's ingest does, so most pupils are not lost. Each
question then filters and groups the in-memory frames with the same global filters and parameters the
portal query received (only the filters the query's file lists apply).

The scripts are simpler than the marts (SEND status, primary need, locality and the other dimensions as at
the snapshot date rather than at the event; only the age band is taken at the event where a question spans
months or years), which again favours pandas; they answer the same question with the same shape of result.
With a SEND status filter their counts differ most, as children's status changes. Questions without a
script here are reported as such.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from portal import config, queries, store
from portal.filters import FILTER_COLUMNS, as_of_date

ETHNIC_GROUP = {**{c: "White" for c in "ABC"}, **{c: "Mixed" for c in "DEFG"}, **{c: "Asian" for c in "HJKL"},
                **{c: "Black" for c in "MNP"}, "R": "Other", "S": "Other", "Z": "Not known"}
MELATONIN = "0401010AD"
CONSULTATION = "11429006"       # SNOMED CT: consultation (the portal's GP contacts)
NEURODEVELOPMENTAL = ("ASD", "ADHD")
AGE_BANDS = {"0-4": (0, 4), "5-10": (5, 10), "11-15": (11, 15), "16-17": (16, 17), "18-25": (18, 25)}
# the age band of each completed year of age from 0 to 25
BAND_OF_AGE = np.array([band for band, (lo, hi) in AGE_BANDS.items() for _ in range(lo, hi + 1)], dtype=object)
SEND_RANK = {"E": 2, "K": 1}
SEND_LABEL = {2: "EHCP", 1: "SEN support"}
# home_headlines' columns in the query's order
HEADLINE_COLUMNS = ["now_date", "before_date"] + [
    f"{measure}_{when}" for measures in (["ehcp"], ["sen_support"], ["awaiting_assessment"],
                                         ["nd_waiting", "nd_median_wait"], ["plans_issued", "on_time", "pct_on_time"],
                                         ["melatonin"])
    for when in ("now", "before") for measure in measures]
HISTORY_MONTHS = 72             # the feeds and the marts hold six years of monthly history up to the snapshot


# Memory the frames take per byte of feed files, measured at county scale (25 November 2026): reading the
# 182 MB of county feeds made the process 1.22 GB larger. National feeds are 9 GB, about 60 GB as frames.
FRAME_BYTES_PER_FILE_BYTE = 6.7


class FeedsUnavailable(RuntimeError):
    """The raw feed files behind the marts are not where the build left them."""


class FeedsTooLarge(FeedsUnavailable):
    """The raw feeds would not fit in this machine's memory as pandas frames."""


def feed_bytes(folder: Path) -> int:
    """The size of the raw feed files in ``folder``."""
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def check_fits_in_memory(folder: Path, available: int | None = None) -> None:
    """Refuse, before reading anything, feeds whose frames would need more memory than is free.

    Reading them anyway would not give a slower figure but no figure: the kernel kills the benchmark, or
    another process, when memory runs out (the machine has no swap)."""
    on_disk = feed_bytes(folder)
    needed = on_disk * FRAME_BYTES_PER_FILE_BYTE
    available = psutil.virtual_memory().available if available is None else available
    if needed > available:
        raise FeedsTooLarge(
            f"the raw feeds are {on_disk / 2**30:.1f} GiB of files; read into pandas frames they would take about "
            f"{needed / 2**30:.0f} GiB ({FRAME_BYTES_PER_FILE_BYTE}x, measured at county scale), more than the "
            f"{available / 2**30:.1f} GiB this machine has free, so an analyst's script could not load them here")


def feeds_location() -> Path:
    """The folder of raw feed files for the live data (build-demo writes feeds/<scale>/ or feeds/)."""
    root = config.feeds_dir()
    candidates = [root] + sorted(p for p in root.glob("*") if p.is_dir()) if root.exists() else []
    for folder in candidates:
        if list(folder.glob("gp_registrations*")):
            return folder
    raise FeedsUnavailable(f"no raw feed files (gp_registrations*) under {root}")


def _read_csvs(folder: Path, feed: str, **kwargs) -> pd.DataFrame:
    files = sorted(folder.glob(f"{feed}*.csv"))
    if not files:
        raise FeedsUnavailable(f"no {feed} CSV in {folder}")
    return pd.concat([pd.read_csv(f, encoding="utf-8-sig", **kwargs) for f in files], ignore_index=True)


def _read_parquets(folder: Path, feed: str, columns=None, filters=None) -> pd.DataFrame:
    files = sorted(folder.glob(f"{feed}*.parquet"))
    if not files:
        raise FeedsUnavailable(f"no {feed} Parquet in {folder}")
    return pd.concat([pd.read_parquet(f, columns=columns, filters=filters) for f in files], ignore_index=True)


def _uk_date(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format="%d/%m/%Y", errors="coerce")


def _age_band(age: pd.Series) -> pd.Series:
    return pd.cut(age, [-1, 4, 10, 15, 17, 25, 200], labels=["0-4", "5-10", "11-15", "16-17", "18-25", "26+"]
                  ).astype(str)


def _month_no(day) -> int:
    """A date's month as a number (months since year 0), for month arithmetic without dates."""
    return day.year * 12 + day.month - 1


def _month_number(dates: pd.Series) -> pd.Series:
    return dates.dt.year * 12 + dates.dt.month - 1


def _first_month_from(dates: pd.Series) -> pd.Series:
    """The number of the first month whose first day is on or after each date."""
    return _month_number(dates) + (dates.dt.day != 1)


def _month_start(number: int) -> pd.Timestamp:
    return pd.Timestamp(int(number) // 12, int(number) % 12 + 1, 1)


def _month_dates(numbers: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.DataFrame({"year": numbers // 12, "month": numbers % 12 + 1, "day": 1}))


def _postcode_key(postcode: pd.Series) -> pd.Series:
    return postcode.astype(str).str.upper().str.replace(r"\s+", "", regex=True)


def _link(frame: pd.DataFrame, spine: pd.Series, date_of_birth: pd.Series) -> pd.DataFrame:
    """Fill in missing NHS numbers from the one registration with the same date of birth, sex and postcode
    (the portal's fallback match), then drop those identifiers."""
    nhs = frame["nhs_number"].replace("", np.nan)
    keys = pd.MultiIndex.from_arrays([pd.to_datetime(date_of_birth).astype("datetime64[ns]"), frame["sex"],
                                      _postcode_key(frame["postcode"])])
    matched = pd.Series(spine.reindex(keys).to_numpy(), index=frame.index)
    return frame.drop(columns=["date_of_birth", "sex", "postcode"]).assign(nhs_number=nhs.fillna(matched))


def _send_status_on(register: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Each person's register episode open on ``day`` (an EHC plan outranks SEN support), by NHS number."""
    open_then = register[(register.start_date <= day) & (register.end_date.isna() | (register.end_date > day))]
    ranked = open_then.assign(rank=open_then.sen_status.map(SEND_RANK)).sort_values("rank")
    return ranked.drop_duplicates("nhs_number", keep="last").set_index("nhs_number")


def _census_day(academic_year: pd.Series) -> pd.Series:
    """15 January of each academic year (the census day the marts date pupils' details by)."""
    days = {y: pd.Timestamp(int(y[:4]) + 1, 1, 15) for y in academic_year.unique()}
    return academic_year.map(days)


def _optional(read, *args, **kwargs):
    """A feed's frame, or None when the folder lacks it (the questions needing it then say so)."""
    try:
        return read(*args, **kwargs)
    except FeedsUnavailable:
        return None


def _read_sen2(folder: Path, spine: pd.Series) -> pd.DataFrame:
    files = sorted(folder.glob("sen2_casework*.xlsx"))
    sen2 = (pd.read_excel(files[0], dtype={"nhs_number": str}) if files
            else _read_csvs(folder, "sen2_casework", dtype={"nhs_number": str}))
    for column in ("request_date", "decision_date", "plan_issued_date"):
        sen2[column] = pd.to_datetime(sen2[column], errors="coerce")
    return _link(sen2, spine, pd.to_datetime(sen2["date_of_birth"], errors="coerce"))


def _read_ae(folder: Path) -> pd.DataFrame:
    ae = _read_csvs(folder, "ae_attendances", dtype={"nhs_number": str}, usecols=["nhs_number", "arrival_date"])
    ae["arrival_date"] = _uk_date(ae["arrival_date"])
    return ae


def _read_pupils(folder: Path, spine: pd.Series, feed: str, columns: list[str]) -> pd.DataFrame:
    """A school feed (census Parquet or key stage 4 CSV), linked to registrations, with its census day."""
    identity = ["academic_year", "nhs_number", "date_of_birth", "sex", "postcode"]
    if list(folder.glob(f"{feed}*.parquet")):
        pupils = _read_parquets(folder, feed, identity + columns)
    else:
        pupils = _read_csvs(folder, feed, dtype={"nhs_number": str}, usecols=identity + columns)
    pupils = _link(pupils, spine, pupils["date_of_birth"])
    return pupils.assign(census_date=_census_day(pupils["academic_year"]))


@dataclass
class Feeds:
    as_of: pd.Timestamp
    people: pd.DataFrame            # one row per person aged 0-25 at the snapshot, with the standard dimensions
    referrals: pd.DataFrame
    prescribing: pd.DataFrame
    sen2: pd.DataFrame | None
    everyone: pd.DataFrame = field(default=None)       # every registered person, any age (for past months)
    register: pd.DataFrame = field(default=None)       # SEND register episodes, linked
    ae: pd.DataFrame | None = None
    gp_contacts: pd.DataFrame | None = None            # GP consultations only
    census: pd.DataFrame | None = None
    ks4: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None


def load(folder: Path, as_of: dt.date) -> Feeds:
    """Read the raw files and build the person table, as the first cells of an analyst's notebook do."""
    as_of_ts = pd.Timestamp(as_of)
    reg = _read_csvs(folder, "gp_registrations", dtype={"nhs_number": str},
                     usecols=["nhs_number", "date_of_birth", "sex", "ethnic_category", "small_area_code",
                              "practice_code", "postcode", "registration_date"],
                     parse_dates=["date_of_birth", "registration_date"])
    spine = (reg.assign(postcode=_postcode_key(reg.postcode))
             .drop_duplicates(["date_of_birth", "sex", "postcode"], keep=False)
             .set_index(["date_of_birth", "sex", "postcode"])["nhs_number"])
    geo_files = sorted(folder.glob("geography*.xlsx"))
    if not geo_files:
        raise FeedsUnavailable(f"no geography workbook in {folder}")
    geo = pd.read_excel(geo_files[0], usecols=["small_area_code", "locality_name", "imd_decile"])
    register = _read_csvs(folder, "send_register", dtype={"nhs_number": str},
                          usecols=["nhs_number", "date_of_birth", "sex", "postcode", "sen_status", "primary_need",
                                   "start_date", "end_date", "last_review_date", "review_due_date"])
    for column in ("start_date", "end_date", "last_review_date", "review_due_date"):
        register[column] = _uk_date(register[column])
    register = _link(register, spine, _uk_date(register["date_of_birth"]))
    register = register[register.nhs_number.notna()].reset_index(drop=True)
    status = _send_status_on(register, as_of_ts)
    everyone = reg.drop(columns="postcode").merge(geo, on="small_area_code", how="left")
    everyone["locality"] = everyone.pop("locality_name").fillna("Not known")
    everyone["imd_quintile"] = ((everyone.pop("imd_decile") + 1) // 2).fillna(3).astype(int)
    everyone["sex"] = everyone["sex"].map({"F": "Female", "M": "Male"})
    everyone["ethnicity"] = everyone.pop("ethnic_category").map(ETHNIC_GROUP).fillna("Not known")
    age = (as_of_ts - everyone["date_of_birth"]).dt.days // 365.25
    everyone["age_band"] = _age_band(age)
    code = everyone["nhs_number"].map(status["sen_status"])
    everyone["send_status"] = code.map({"E": "EHCP", "K": "SEN support"}).fillna("No SEND")
    everyone["primary_need"] = everyone["nhs_number"].map(status["primary_need"]).where(code.notna(), "None")
    # the age on the first day of month m is (m - birth_month) // 12; registered from registered_month on
    everyone["birth_month"] = _first_month_from(everyone["date_of_birth"])
    everyone["registered_month"] = _first_month_from(everyone["registration_date"])
    people = everyone[age <= 25].reset_index(drop=True)

    referrals = _read_csvs(folder, "community_referrals", dtype={"nhs_number": str},
                           usecols=["referral_id", "nhs_number", "service", "referral_date", "seen_date"])
    referrals["referral_date"] = _uk_date(referrals["referral_date"])
    referrals["seen_date"] = _uk_date(referrals["seen_date"])
    prescribing = _read_parquets(folder, "prescribing", ["nhs_number", "dispensed_month", "bnf_code", "items"])
    surveys = _optional(_read_csvs, folder, "surveys", usecols=["survey_date", "service", "locality", "respondent",
                                                                "score"], parse_dates=["survey_date"])
    return Feeds(
        as_of=as_of_ts, people=people, referrals=referrals, prescribing=prescribing,
        sen2=_optional(_read_sen2, folder, spine), everyone=everyone, register=register,
        ae=_optional(_read_ae, folder),
        # only the consultations are read: the portal's GP contacts are those events
        gp_contacts=_optional(_read_parquets, folder, "gp_events", ["nhs_number", "event_date"],
                              [("snomed_code", "==", CONSULTATION)]),
        census=_optional(_read_pupils, folder, spine, "school_census",
                         ["sessions_possible", "sessions_missed", "suspensions", "permanent_exclusions"]),
        ks4=_optional(_read_pupils, folder, spine, "ks4_attainment", ["attainment8"]),
        surveys=surveys)


def _feed(feeds: Feeds, name: str) -> pd.DataFrame:
    frame = getattr(feeds, name)
    if frame is None:
        raise FeedsUnavailable(f"no {name} feed among the raw files")
    return frame


def applicable(name: str, filters):
    """The filters with those the query's file does not list cleared: they do not apply to its question."""
    listed = set(queries.load_query(name).filters)
    return replace(filters, **{f: None for f in FILTER_COLUMNS if f not in listed})


def _people(feeds: Feeds, filters, everyone: bool = False) -> pd.DataFrame:
    people = feeds.everyone if everyone else feeds.people
    mask = np.ones(len(people), dtype=bool)
    for name in ("locality", "age_band", "sex", "ethnicity", "imd_quintile", "send_status", "primary_need"):
        value = getattr(filters, name, None)
        if value is not None:
            mask &= (people[name] == value).to_numpy()
    return people[mask]


def _with_people(frame: pd.DataFrame, feeds: Feeds, filters, at: str | None = None) -> pd.DataFrame:
    """``frame`` joined to the people the filters select; with ``at`` (a date column), the age band is the one
    in that date's month, as in the marts, rather than at the snapshot."""
    if at is None:
        return frame.merge(_people(feeds, filters), on="nhs_number", how="inner")
    return _at_event(frame, _people(feeds, replace(filters, age_band=None), everyone=True), at, filters.age_band)


def _at_event(frame: pd.DataFrame, people: pd.DataFrame, at: str, age_band: str | None = None) -> pd.DataFrame:
    """``frame`` joined to ``people``, with the month of each row's ``at`` date and the age and age band on its
    first day; rows when the person was not aged 0-25 are dropped, as are other age bands than ``age_band``."""
    out = frame.merge(people, on="nhs_number", how="inner")
    month = _month_number(out[at]).to_numpy()
    age = month - out["birth_month"].to_numpy()
    age = np.where(age >= 0, age // 12, -1)
    keep = (age >= 0) & (age <= 25)
    out = out[keep].assign(month=month[keep], age=age[keep], age_band=BAND_OF_AGE[age[keep]])
    return out if age_band is None else out[out.age_band == age_band]


def _period_months(feeds: Feeds, filters) -> tuple[int, int]:
    """The period's first and last months (numbers), within the six years of history the feeds hold."""
    end = _month_no(feeds.as_of)
    return max(_month_no(filters.period_start), end - HISTORY_MONTHS + 1), min(_month_no(filters.period_end), end)


def _person_months(people: pd.DataFrame, first: int, last: int, bands=AGE_BANDS, only=None) -> pd.DataFrame:
    """One row per person and age band: the first and last months in first..last on whose first day the person
    was registered here and in that band (``bands``: label -> youngest and oldest age), as the marts' monthly
    denominators count people."""
    start = np.maximum(people["registered_month"].to_numpy(), first)
    born = people["birth_month"].to_numpy()
    spans = []
    for band, (youngest, oldest) in bands.items():
        if only in (None, band):
            a, b = np.maximum(start, born + 12 * youngest), np.minimum(last, born + 12 * oldest + 11)
            keep = a <= b
            spans.append(people[keep].assign(age_band=band, first=a[keep], last=b[keep]))
    return pd.concat(spans, ignore_index=True)


def _months_in(spans: pd.DataFrame) -> pd.Series:
    return spans["last"] - spans["first"] + 1


def _count_by_month(spans: pd.DataFrame, key: pd.Series, first: int, last: int) -> pd.Series:
    """How many of the spans cover each month first..last, by ``key``: +1 where a span starts, -1 after it ends."""
    delta = pd.concat([pd.DataFrame({"group_value": key, "month": spans["first"], "d": 1}),
                       pd.DataFrame({"group_value": key, "month": spans["last"] + 1, "d": -1})])
    table = delta.groupby(["group_value", "month"]).d.sum().unstack(fill_value=0)
    table = table.reindex(columns=range(first, last + 2), fill_value=0).cumsum(axis=1).iloc[:, :-1]
    return table.stack().swaplevel().sort_index()


def _events_in(frame: pd.DataFrame, column: str, people: pd.DataFrame, first: int, last: int,
               age_band: str | None = None) -> pd.DataFrame:
    """Rows of ``frame`` dated (``column``) in months first..last, joined to ``people`` at the event."""
    rows = frame[(frame[column] >= _month_start(first)) & (frame[column] < _month_start(last + 1))]
    return _at_event(rows, people, column, age_band)


def _group_value(frame: pd.DataFrame, by: str) -> pd.Series:
    """The grouping the portal's ``CASE $by`` makes."""
    if by == "all":
        value = pd.Series("Whole area", index=frame.index)
    elif by == "primary_need":
        value = frame["primary_need"].fillna("None")
    else:
        value = frame[by].astype(str)
    return value.rename("group_value")


def _send_group(frame: pd.DataFrame) -> pd.Series:
    return frame["send_status"].where(frame["send_status"] == "No SEND", "SEND").rename("group_value")


def _split(params: dict):
    """The ``split`` parameter: SEND against no SEND, or each SEND status."""
    if params.get("split") == "send_status":
        return lambda frame: frame["send_status"].rename("group_value")
    return _send_group


def _per(out: pd.DataFrame, scale: float, denominator: str, **rates: str) -> pd.DataFrame:
    """Adds each rate (name=numerator column) as ``scale`` x numerator / denominator (blank where it is 0)."""
    base = out[denominator].replace(0, np.nan)
    return out.assign(**{name: scale * out[numerator] / base for name, numerator in rates.items()})


# ----- the questions, named after the portal query they answer -----------------------------------------

def waiting_now(feeds: Feeds, filters) -> pd.DataFrame:
    ref = feeds.referrals
    waiting = ref[ref.seen_date.isna() | (ref.seen_date > feeds.as_of)]
    waiting = _with_people(waiting, feeds, filters)
    return waiting.assign(wait_weeks=(feeds.as_of - waiting.referral_date).dt.days / 7)


def waits_by_service(feeds: Feeds, filters, params) -> pd.DataFrame:
    w = waiting_now(feeds, filters)
    return w.groupby("service").agg(
        n_waiting=("wait_weeks", "size"), median_wait_weeks=("wait_weeks", "median"),
        n_over_18_weeks=("wait_weeks", lambda s: int((s > 18).sum())),
        n_over_52_weeks=("wait_weeks", lambda s: int((s > 52).sum()))).reset_index()


def wait_distribution(feeds: Feeds, filters, params) -> pd.DataFrame:
    w = waiting_now(feeds, filters)
    w = w[w.service == params.get("service", "ASD")]
    bands = pd.cut(w.wait_weeks, [-1, 6, 12, 18, 26, 52, 78, 104, 100000])
    return bands.value_counts(sort=False).rename("n_waiting").reset_index()


def longest_waits_by_locality_and_service(feeds: Feeds, filters, params) -> pd.DataFrame:
    now = waiting_now(feeds, filters).groupby(["locality", "service"]).agg(
        n_waiting=("wait_weeks", "size"), median_wait_weeks=("wait_weeks", "median"))
    year_ago = feeds.as_of - pd.DateOffset(years=1)
    ref = feeds.referrals
    then = ref[(ref.referral_date <= year_ago) & (ref.seen_date.isna() | (ref.seen_date > year_ago))]
    then = _with_people(then, feeds, filters)
    then = then.assign(wait=(year_ago - then.referral_date).dt.days / 7).groupby(["locality", "service"]).agg(
        n_waiting_year_ago=("wait", "size"), median_wait_weeks_year_ago=("wait", "median"))
    return now.join(then, how="left").reset_index()


def people_by_locality(feeds: Feeds, filters, params) -> pd.DataFrame:
    return _people(feeds, filters).groupby("locality").size().rename("n_people").reset_index()


def _melatonin(feeds: Feeds, filters) -> pd.DataFrame:
    rx = feeds.prescribing
    rx = rx[rx.bnf_code.str.startswith(MELATONIN)]
    return _with_people(rx, feeds, filters)


def melatonin_need_by_locality(feeds: Feeds, filters, params) -> pd.DataFrame:
    rx = _melatonin(feeds, filters)
    rx = rx[(rx.dispensed_month >= pd.Timestamp(filters.period_start))
            & (rx.dispensed_month <= pd.Timestamp(filters.period_end))]
    counted = rx.groupby("locality").agg(patients=("nhs_number", "nunique"), items=("items", "sum"))
    population = _people(feeds, filters).groupby("locality").size().rename("population")
    out = population.to_frame().join(counted, how="left").fillna(0)
    out["patients_per_1000"] = 1000 * out.patients / out.population
    return out.reset_index()


def melatonin_prescribing_by_year(feeds: Feeds, filters, params) -> pd.DataFrame:
    rx = _melatonin(feeds, filters)
    rx = rx[rx.dispensed_month <= feeds.as_of]
    months_back = ((feeds.as_of.year - rx.dispensed_month.dt.year) * 12
                   + feeds.as_of.month - rx.dispensed_month.dt.month)
    rx = rx.assign(years_back=months_back // 12)
    by = params.get("by", "all")
    keys = ["years_back"] + ([] if by == "all" else [by])
    counted = rx[rx.years_back < 5].groupby(keys).agg(patients=("nhs_number", "nunique"), items=("items", "sum"))
    population = _people(feeds, filters)
    pop = population.groupby([by]).size() if by != "all" else pd.Series({"all": len(population)})
    out = counted.reset_index()
    out["patients_per_1000"] = 1000 * out.patients / (pop.sum() if by == "all" else out[by].map(pop))
    return out


def ehcp_journey_by_year(feeds: Feeds, filters, params) -> pd.DataFrame:
    req = _feed(feeds, "sen2").merge(_people(feeds, filters)[["nhs_number"]], on="nhs_number", how="inner")
    request = pd.to_datetime(req.request_date, errors="coerce")
    decision = pd.to_datetime(req.decision_date, errors="coerce")
    issued = pd.to_datetime(req.plan_issued_date, errors="coerce")
    years_back = ((feeds.as_of.year - request.dt.year) * 12 + feeds.as_of.month - request.dt.month) // 12
    issue_back = ((feeds.as_of.year - issued.dt.year) * 12 + feeds.as_of.month - issued.dt.month) // 12
    received = pd.DataFrame({
        "years_back": years_back, "decided": decision.notna(),
        "within_6": (decision - request).dt.days <= 42,
    }).groupby("years_back").agg(requests=("decided", "size"), decisions=("decided", "sum"),
                                  decided_within_6_weeks=("within_6", "sum"))
    plans = pd.DataFrame({"years_back": issue_back, "within_20": (issued - request).dt.days <= 140})[issued.notna()]
    issued_by_year = plans.groupby("years_back").agg(plans_issued=("within_20", "size"),
                                                     issued_within_20_weeks=("within_20", "sum"))
    out = received.join(issued_by_year, how="outer").loc[lambda f: f.index < 5].fillna(0)
    out["pct_decided_within_6_weeks"] = 100 * out.decided_within_6_weeks / out.decisions.replace(0, np.nan)
    out["pct_issued_within_20_weeks"] = 100 * out.issued_within_20_weeks / out.plans_issued.replace(0, np.nan)
    return out.reset_index()


def _school_years(frame: pd.DataFrame, filters) -> pd.DataFrame:
    """Rows whose academic year (1 September to 31 August) overlaps the period."""
    start, end = pd.Timestamp(filters.period_start), pd.Timestamp(filters.period_end)
    years = [y for y in frame.academic_year.unique()
             if pd.Timestamp(int(y[:4]), 9, 1) <= end and pd.Timestamp(int(y[:4]) + 1, 8, 31) >= start]
    return frame[frame.academic_year.isin(years)]


# Education: SEND status and the other details as at the snapshot (the marts: as on the census day), age band on
# the census day.
def education_attainment_by_group(feeds: Feeds, filters, params) -> pd.DataFrame:
    ks4 = _feed(feeds, "ks4")
    pupils = _with_people(_school_years(ks4[ks4.attainment8.notna()], filters), feeds, filters, at="census_date")
    return pupils.groupby([_group_value(pupils, params.get("by", "all")), "send_status"]).attainment8.agg(
        pupils="size", mean_attainment8="mean").reset_index()


def education_absence_by_group(feeds: Feeds, filters, params) -> pd.DataFrame:
    census = _school_years(_feed(feeds, "census"), filters)
    p = _with_people(census, feeds, filters, at="census_date")
    p = p.assign(persistently_absent=p.sessions_missed * 10 >= p.sessions_possible, suspended=p.suspensions > 0)
    out = p.groupby([_group_value(p, params.get("by", "all")), "send_status"]).agg(
        pupils=("suspended", "size"), sessions_possible=("sessions_possible", "sum"),
        sessions_missed=("sessions_missed", "sum"), persistently_absent=("persistently_absent", "sum"),
        pupils_suspended=("suspended", "sum"), suspensions=("suspensions", "sum"),
        permanent_exclusions=("permanent_exclusions", "sum"))
    out = _per(out, 100, "sessions_possible", absence_rate="sessions_missed")
    out = _per(out, 100, "pupils", pct_persistently_absent="persistently_absent", pct_suspended="pupils_suspended",
               suspensions_per_100="suspensions")
    return out[["pupils", "absence_rate", "persistently_absent", "pct_persistently_absent", "pupils_suspended",
                "pct_suspended", "suspensions", "suspensions_per_100", "permanent_exclusions"]].reset_index()


# Health activity: SEND status and the other details as at the snapshot (the marts: as in each month); the age
# band and the months counted (registered, aged 0-25) as in each month.
def _activity_people(feeds: Feeds, filters):
    """The period's months, the people the filters select (any age now) and their person-month spans in it,
    with the age band of each month, as agg_population_month counts them."""
    first, last = _period_months(feeds, filters)
    people = _people(feeds, replace(filters, age_band=None), everyone=True)
    return first, last, people, _person_months(people, first, last, only=filters.age_band)


def _contacts(feeds: Feeds, people: pd.DataFrame, first: int, last: int, age_band=None):
    """A&E attendances and GP consultations in months first..last by ``people``, with the age band at each."""
    return (_events_in(_feed(feeds, "ae"), "arrival_date", people, first, last, age_band),
            _events_in(_feed(feeds, "gp_contacts"), "event_date", people, first, last, age_band))


def health_activity_by_month(feeds: Feeds, filters, params) -> pd.DataFrame:
    first, last, people, spans = _activity_people(feeds, filters)
    ae, gp = _contacts(feeds, people, first, last, filters.age_band)
    group = _split(params)
    out = pd.concat([_count_by_month(spans, group(spans), first, last).rename("n_people"),
                     ae.groupby(["month", group(ae)]).size().rename("ae_attendances"),
                     gp.groupby(["month", group(gp)]).size().rename("gp_contacts")], axis=1).fillna(0)
    out = _per(out, 1000, "n_people", ae_per_1000="ae_attendances", gp_per_1000="gp_contacts").reset_index()
    return out.assign(month=_month_dates(out["month"]))


def health_activity_by_group(feeds: Feeds, filters, params) -> pd.DataFrame:
    first, last, people, spans = _activity_people(feeds, filters)
    ae, gp = _contacts(feeds, people, first, last, filters.age_band)
    by = params.get("by", "locality")

    def keys(frame):
        return [_group_value(frame, by), _send_group(frame).rename("send_group")]

    out = pd.concat([_months_in(spans).groupby(keys(spans)).sum().rename("person_months"),
                     ae.groupby(keys(ae)).size().rename("ae_attendances"),
                     gp.groupby(keys(gp)).size().rename("gp_contacts")], axis=1).fillna(0)
    return _per(out, 1000, "person_months", ae_per_1000="ae_attendances", gp_per_1000="gp_contacts").reset_index()


def _against_area(events: pd.Series, base: pd.Series, base_name: str) -> pd.DataFrame:
    """Events and their base in each group beside the whole area's, the shape of the inequalities queries."""
    out = pd.DataFrame({"events": events.reindex(base.index, fill_value=0), base_name: base})
    out["area_events"] = out.events.sum()
    out[f"area_{base_name}"] = out[base_name].sum()
    return out.rename_axis("group_value").reset_index()


def inequalities_ae(feeds: Feeds, filters, params) -> pd.DataFrame:
    first, last, people, spans = _activity_people(feeds, filters)
    ae = _events_in(_feed(feeds, "ae"), "arrival_date", people, first, last, filters.age_band)
    by = params.get("by", "ethnicity")
    return _against_area(ae.groupby(_group_value(ae, by)).size(),
                         _months_in(spans).groupby(_group_value(spans, by)).sum(), "person_months")


def inequalities_long_waits(feeds: Feeds, filters, params) -> pd.DataFrame:
    # the waiting child's details as at the snapshot (the mart: as at referral)
    waits = waiting_now(feeds, filters)
    waits = waits[waits.wait_weeks > 18]
    by = params.get("by", "ethnicity")
    people = _people(feeds, filters)
    return _against_area(waits.groupby(_group_value(waits, by)).size(),
                         people.groupby(_group_value(people, by)).size(), "population")


def transition_contacts_by_age(feeds: Feeds, filters, params) -> pd.DataFrame:
    everyone = _people(feeds, replace(filters, send_status=None), everyone=True)
    # the group is the highest SEND status a young person had before their 18th birthday, from the register
    register = feeds.register.merge(everyone[["nhs_number", "date_of_birth"]], on="nhs_number")
    cutoff = (register.date_of_birth + pd.DateOffset(years=18)).clip(upper=feeds.as_of + pd.Timedelta(days=1))
    before_18 = register[register.start_date < cutoff]
    rank = before_18.sen_status.map(SEND_RANK).groupby(before_18.nhs_number).max()
    people = everyone.assign(send_status=everyone.nhs_number.map(rank).map(SEND_LABEL).fillna("No SEND"))
    if filters.send_status is not None:
        people = people[people.send_status == filters.send_status]
    last = _month_no(feeds.as_of)
    first = last - HISTORY_MONTHS + 1
    spans = _person_months(people, first, last, bands={age: (age, age) for age in range(14, 26)})
    ae, gp = _contacts(feeds, people, first, last)
    group = _split(params)
    out = pd.concat([(_months_in(spans) / 12).groupby([spans.age_band.rename("age"), group(spans)]).sum()
                     .rename("person_years"),
                     gp[gp.age >= 14].groupby(["age", group(gp)]).size().rename("gp_contacts"),
                     ae[ae.age >= 14].groupby(["age", group(ae)]).size().rename("ae_attendances")], axis=1).fillna(0)
    return _per(out, 1, "person_years", gp_per_person_year="gp_contacts", ae_per_person_year="ae_attendances"
                ).reset_index()


def survey_scores_by_group(feeds: Feeds, filters, params) -> pd.DataFrame:
    s = _feed(feeds, "surveys")
    s = s[(s.survey_date >= pd.Timestamp(filters.period_start)) & (s.survey_date <= pd.Timestamp(filters.period_end))
          & (s.survey_date <= feeds.as_of)]
    if filters.locality is not None:
        s = s[s.locality == filters.locality]
    key = s[params.get("by", "locality")].rename("group_value")
    return pd.DataFrame({"responses": s.groupby(key).size(), "mean_score": s.score.groupby(key).mean(),
                         "pct_scoring_7_plus": 100 * (s.score >= 7).groupby(key).mean()}).reset_index()


def home_headlines(feeds: Feeds, filters, params) -> pd.DataFrame:
    # the filters select people by their details at the snapshot (the marts: at each date and in each source)
    people = _people(feeds, filters)
    register = feeds.register[feeds.register.nhs_number.isin(people.nhs_number)]
    sen2 = _feed(feeds, "sen2").merge(people[["nhs_number"]], on="nhs_number")
    ref = feeds.referrals
    nd = ref[ref.service.isin(NEURODEVELOPMENTAL) & ref.nhs_number.isin(people.nhs_number)]
    rx = _melatonin(feeds, filters)
    now = feeds.as_of
    before = now.replace(day=1) - pd.Timedelta(days=1)
    row = {"now_date": now, "before_date": before}
    for when, day in (("now", now), ("before", before)):
        status = _send_status_on(register, day.replace(day=1)).sen_status      # the register in that month
        row[f"ehcp_{when}"] = int((status == "E").sum())
        row[f"sen_support_{when}"] = int((status == "K").sum())
        assessing = (sen2.decision == "assess") & (sen2.assessment_outcome.isna() | (sen2.plan_issued_date > day))
        row[f"awaiting_assessment_{when}"] = int(((sen2.request_date <= day) & (
            sen2.decision_date.isna() | (sen2.decision_date > day) | assessing)).sum())
        waiting = nd[(nd.referral_date <= day) & (nd.seen_date.isna() | (nd.seen_date > day))]
        row[f"nd_waiting_{when}"] = len(waiting)
        row[f"nd_median_wait_{when}"] = ((day - waiting.referral_date).dt.days / 7).median()
        year_before = day - pd.DateOffset(months=12)
        issued = sen2[(sen2.plan_issued_date > year_before) & (sen2.plan_issued_date <= day)]
        row[f"plans_issued_{when}"] = len(issued)
        row[f"on_time_{when}"] = int(((issued.plan_issued_date - issued.request_date).dt.days <= 140).sum())
        row[f"pct_on_time_{when}"] = 100 * row[f"on_time_{when}"] / len(issued) if len(issued) else np.nan
        row[f"melatonin_{when}"] = rx.nhs_number[(rx.dispensed_month > year_before)
                                                 & (rx.dispensed_month <= day)].nunique()
    return pd.DataFrame([row])[HEADLINE_COLUMNS]


def ehcp_annual_reviews(feeds: Feeds, filters, params) -> pd.DataFrame:
    as_of = feeds.as_of
    plans = feeds.register[(feeds.register.sen_status == "E") & (feeds.register.start_date <= as_of)]
    # a plan's SEND status is EHCP and its primary need the plan's own; other details as when it ceased, or now
    if filters.primary_need is not None:
        plans = plans[plans.primary_need == filters.primary_need]
    if filters.send_status not in (None, "EHCP"):
        plans = plans.iloc[:0]
    plans = plans.assign(dims_date=(plans.end_date - pd.Timedelta(days=1)).fillna(as_of))
    people = _people(feeds, replace(filters, age_band=None, send_status=None, primary_need=None), everyone=True)
    plans = _at_event(plans, people.drop(columns="primary_need"), "dims_date", filters.age_band)
    in_place = (plans.start_date <= as_of) & (plans.end_date.isna() | (plans.end_date > as_of))
    out = pd.DataFrame({
        "plans_in_place": in_place,
        "reviews_held": plans.last_review_date.between(pd.Timestamp(filters.period_start),
                                                       pd.Timestamp(filters.period_end)),
        "reviews_due_next_3_months": in_place & (plans.review_due_date > as_of)
                                     & (plans.review_due_date <= as_of + pd.DateOffset(months=3)),
        "reviews_overdue": in_place & plans.end_date.isna() & (plans.review_due_date < as_of),
    }).groupby(_group_value(plans, params.get("by", "locality"))).sum()
    return _per(out, 100, "plans_in_place", pct_overdue="reviews_overdue").reset_index()


def waiting_trend_by_month(feeds: Feeds, filters, params) -> pd.DataFrame:
    # details other than the age band as at the snapshot (the mart: as in each month)
    first, last = _period_months(feeds, filters)
    ref = feeds.referrals
    ref = ref[ref.service == params.get("service", "ASD")].merge(
        _people(feeds, replace(filters, age_band=None), everyone=True), on="nhs_number")
    rows = []
    for month in range(first, last + 1):
        end = _month_start(month + 1) - pd.Timedelta(days=1)
        waiting = ref[(ref.referral_date <= end) & (ref.seen_date.isna() | (ref.seen_date > end))]
        age = (month - waiting.birth_month) // 12      # the age band in that month, as the mart takes it
        waiting = waiting[(age >= 0) & (age <= 25)
                          & (filters.age_band is None or BAND_OF_AGE[age.clip(0, 25)] == filters.age_band)]
        weeks = (end - waiting.referral_date).dt.days / 7
        rows.append((_month_start(month), len(weeks), int((weeks > 18).sum()), int((weeks > 52).sum())))
    out = pd.DataFrame(rows, columns=["month", "n_waiting", "n_over_18_weeks", "n_over_52_weeks"])
    return out[out.n_waiting > 0].reset_index(drop=True)


QUESTIONS = {
    "waits_by_service": waits_by_service,
    "wait_distribution": wait_distribution,
    "longest_waits_by_locality_and_service": longest_waits_by_locality_and_service,
    "waiting_trend_by_month": waiting_trend_by_month,
    "people_by_locality": people_by_locality,
    "melatonin_need_by_locality": melatonin_need_by_locality,
    "melatonin_prescribing_by_year": melatonin_prescribing_by_year,
    "ehcp_journey_by_year": ehcp_journey_by_year,
    "ehcp_annual_reviews": ehcp_annual_reviews,
    "education_attainment_by_group": education_attainment_by_group,
    "education_absence_by_group": education_absence_by_group,
    "health_activity_by_month": health_activity_by_month,
    "health_activity_by_group": health_activity_by_group,
    "inequalities_ae": inequalities_ae,
    "inequalities_long_waits": inequalities_long_waits,
    "transition_contacts_by_age": transition_contacts_by_age,
    "survey_scores_by_group": survey_scores_by_group,
    "home_headlines": home_headlines,
}


@dataclass
class PandasRun:
    load_seconds: float
    runs: dict[str, list[float]]
    problems: dict[str, str]

    def p50_ms(self, name: str) -> float:
        values = self.runs.get(name)
        return float(np.median(values) * 1000) if values else float("nan")

    def why_not(self, name: str) -> str:
        return self.problems.get(name, "no pandas script for this question")


def run(query_timings, max_runs: int = 5, progress=print) -> PandasRun:
    """Answer each question ``query_timings`` measured, with the same filters and parameters."""
    folder = feeds_location()
    check_fits_in_memory(folder)
    version = store.reader().version()
    started = time.perf_counter()
    feeds = load(folder, as_of_date(version))
    load_seconds = time.perf_counter() - started
    progress(f"  pandas read the raw feeds in {load_seconds:.1f} s ({len(feeds.people):,} people)")
    runs: dict[str, list[float]] = {}
    problems: dict[str, str] = {}
    for timing in query_timings:
        question = QUESTIONS.get(timing.name)
        if question is None or not timing.inputs:
            continue
        try:
            for filters, params in timing.inputs[:max_runs]:
                filters = applicable(timing.name, filters)
                t0 = time.perf_counter()
                question(feeds, filters, params)
                runs.setdefault(timing.name, []).append(time.perf_counter() - t0)
        except (FeedsUnavailable, KeyError, ValueError) as exc:
            problems[timing.name] = f"pandas script failed: {exc}"
            runs.pop(timing.name, None)
        progress(f"  {timing.name}: pandas p50 {np.median(runs.get(timing.name, [np.nan])) * 1000:.1f} ms")
    return PandasRun(load_seconds=load_seconds, runs=runs, problems=problems)
