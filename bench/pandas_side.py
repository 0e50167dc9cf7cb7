"""The same questions answered the way an analyst scripts them today: pandas over the raw feed files.

The raw files are read once (CSV with UK dates, Excel, Parquet, as the ICB receives them) and joined into
one person table (GP registration + geography + the council's SEND register by NHS number) — that set-up
is timed separately and not charged to any question, which favours pandas. Each question then filters
and groups the in-memory frames with the same global filters and parameters the portal query received.

The scripts are simpler than the marts (standard dimensions as at the snapshot date rather than at the
event, NHS-number linkage only), which again favours pandas; they answer the same question with the
same shape of result. Questions without a script here are reported as such.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from portal import config, store
from portal.filters import as_of_date

ETHNIC_GROUP = {**{c: "White" for c in "ABC"}, **{c: "Mixed" for c in "DEFG"}, **{c: "Asian" for c in "HJKL"},
                **{c: "Black" for c in "MNP"}, "R": "Other", "S": "Other", "Z": "Not known"}
MELATONIN = "0401010AD"


class FeedsUnavailable(RuntimeError):
    """The raw feed files behind the marts are not where the build left them."""


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


def _read_parquets(folder: Path, feed: str, columns=None) -> pd.DataFrame:
    files = sorted(folder.glob(f"{feed}*.parquet"))
    if not files:
        raise FeedsUnavailable(f"no {feed} Parquet in {folder}")
    return pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)


def _uk_date(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format="%d/%m/%Y", errors="coerce")


def _age_band(age: pd.Series) -> pd.Series:
    return pd.cut(age, [-1, 4, 10, 15, 17, 25, 200], labels=["0-4", "5-10", "11-15", "16-17", "18-25", "26+"]
                  ).astype(str)


@dataclass
class Feeds:
    as_of: pd.Timestamp
    people: pd.DataFrame            # one row per registered person, with the standard dimensions
    referrals: pd.DataFrame
    prescribing: pd.DataFrame
    sen2: pd.DataFrame
    population_by_month: pd.DataFrame = field(default=None)


def load(folder: Path, as_of: dt.date) -> Feeds:
    """Read the raw files and build the person table, as the first cells of an analyst's notebook do."""
    as_of_ts = pd.Timestamp(as_of)
    reg = _read_csvs(folder, "gp_registrations", dtype={"nhs_number": str},
                     usecols=["nhs_number", "date_of_birth", "sex", "ethnic_category", "small_area_code",
                              "practice_code"], parse_dates=["date_of_birth"])
    geo_files = sorted(folder.glob("geography*.xlsx"))
    if not geo_files:
        raise FeedsUnavailable(f"no geography workbook in {folder}")
    geo = pd.read_excel(geo_files[0], usecols=["small_area_code", "locality_name", "imd_decile"])
    register = _read_csvs(folder, "send_register", dtype={"nhs_number": str},
                          usecols=["nhs_number", "sen_status", "primary_need", "start_date", "end_date"])
    register["start_date"] = _uk_date(register["start_date"])
    register["end_date"] = _uk_date(register["end_date"])
    open_now = register[(register.start_date <= as_of_ts)
                        & (register.end_date.isna() | (register.end_date > as_of_ts))
                        & register.nhs_number.notna()]
    open_now = open_now.assign(rank=(open_now.sen_status == "E").astype(int)).sort_values("rank")
    status = open_now.drop_duplicates("nhs_number", keep="last").set_index("nhs_number")
    people = reg.merge(geo, on="small_area_code", how="left")
    people["locality"] = people.pop("locality_name")
    people["imd_quintile"] = (people.pop("imd_decile") + 1) // 2
    people["sex"] = people["sex"].map({"F": "Female", "M": "Male"})
    people["ethnicity"] = people.pop("ethnic_category").map(ETHNIC_GROUP).fillna("Not known")
    age = (as_of_ts - people["date_of_birth"]).dt.days // 365.25
    people["age_band"] = _age_band(age)
    code = people["nhs_number"].map(status["sen_status"])
    people["send_status"] = code.map({"E": "EHCP", "K": "SEN support"}).fillna("No SEND")
    people["primary_need"] = people["nhs_number"].map(status["primary_need"]).where(code.notna(), "None")
    people = people[age <= 25].reset_index(drop=True)

    referrals = _read_csvs(folder, "community_referrals", dtype={"nhs_number": str},
                           usecols=["referral_id", "nhs_number", "service", "referral_date", "seen_date"])
    referrals["referral_date"] = _uk_date(referrals["referral_date"])
    referrals["seen_date"] = _uk_date(referrals["seen_date"])
    prescribing = _read_parquets(folder, "prescribing", ["nhs_number", "dispensed_month", "bnf_code", "items"])
    sen2_files = sorted(folder.glob("sen2_casework*.xlsx"))
    sen2 = pd.read_excel(sen2_files[0], dtype={"nhs_number": str}) if sen2_files else pd.DataFrame()
    return Feeds(as_of=as_of_ts, people=people, referrals=referrals, prescribing=prescribing, sen2=sen2)


def _people(feeds: Feeds, filters) -> pd.DataFrame:
    people = feeds.people
    mask = np.ones(len(people), dtype=bool)
    for name in ("locality", "age_band", "sex", "ethnicity", "imd_quintile", "send_status", "primary_need"):
        value = getattr(filters, name, None)
        if value is not None:
            mask &= (people[name] == value).to_numpy()
    return people[mask]


def _with_people(frame: pd.DataFrame, feeds: Feeds, filters) -> pd.DataFrame:
    return frame.merge(_people(feeds, filters), on="nhs_number", how="inner")


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
    sen2 = feeds.sen2
    if sen2.empty:
        raise FeedsUnavailable("no SEN2 casework workbook")
    req = sen2.merge(_people(feeds, filters)[["nhs_number"]], on="nhs_number", how="inner")
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


QUESTIONS = {
    "waits_by_service": waits_by_service,
    "wait_distribution": wait_distribution,
    "longest_waits_by_locality_and_service": longest_waits_by_locality_and_service,
    "people_by_locality": people_by_locality,
    "melatonin_need_by_locality": melatonin_need_by_locality,
    "melatonin_prescribing_by_year": melatonin_prescribing_by_year,
    "ehcp_journey_by_year": ehcp_journey_by_year,
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
                t0 = time.perf_counter()
                question(feeds, filters, params)
                runs.setdefault(timing.name, []).append(time.perf_counter() - t0)
        except (FeedsUnavailable, KeyError, ValueError) as exc:
            problems[timing.name] = f"pandas script failed: {exc}"
            runs.pop(timing.name, None)
        progress(f"  {timing.name}: pandas p50 {np.median(runs.get(timing.name, [np.nan])) * 1000:.1f} ms")
    return PandasRun(load_seconds=load_seconds, runs=runs, problems=problems)
