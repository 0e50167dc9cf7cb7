"""Waiting lists: summaries, waiting-well schemes, and the named queries per role over real Parquet marts."""
from __future__ import annotations

import pandas as pd
import pytest

from portal import queries
from portal.journeys import waiting_lists as journey
from portal.roles import User
from portal.suppression import LOWEST_SHOWN, round_count

ANALYST = User("a", "Analyst", "analyst")
COMMISSIONER = User("c", "Commissioner", "commissioner")
CLINICIAN = User("n", "Clinician", "clinician", service="ASD", locality="Northfield")


# ------------------------------------------------------------------------------------ summaries


def _by_locality_service():
    return pd.DataFrame({
        "locality": ["Eastfield", "Northbrook", "Westmere", "Eastfield"],
        "service": ["ASD", "ASD", "ASD", "SLT"],
        "n_waiting": [120, 80, pd.NA, 40],
        "median_wait_weeks": [61.0, 30.0, pd.NA, 99.0],
        "n_waiting_year_ago": [100, 70, 5, 30],
        "median_wait_weeks_year_ago": [52.0, 31.0, pd.NA, 20.0],
    })


def test_longest_wait_locality_names_the_longest_median_for_the_service():
    longest = journey.longest_wait_locality(_by_locality_service(), "ASD")
    assert longest.locality == "Eastfield"
    assert longest.median_weeks == 61 and longest.change_weeks == 9
    assert journey.longest_wait_sentence("ASD", longest) == (
        "Waits for autism assessment are longest in Eastfield: median 61 weeks, up 9 weeks on a year ago.")


def test_with_one_locality_chosen_the_summary_does_not_call_it_the_longest():
    one = _by_locality_service()[lambda f: f.locality == "Eastfield"]
    longest = journey.longest_wait_locality(one, "ASD")
    assert journey.localities_shown(one, "ASD") == 1
    assert journey.longest_wait_sentence("ASD", longest, journey.localities_shown(one, "ASD")) == (
        "In Eastfield, the median wait for autism assessment is 61 weeks, up 9 weeks on a year ago.")


def test_longest_wait_skips_suppressed_medians_and_says_when_none_are_shown():
    frame = _by_locality_service()
    frame.loc[frame.locality == "Eastfield", "median_wait_weeks"] = pd.NA
    assert journey.longest_wait_locality(frame, "ASD").locality == "Northbrook"
    frame["median_wait_weeks"] = pd.NA
    assert journey.longest_wait_locality(frame, "ASD") is None
    assert "too few children" in journey.longest_wait_sentence("ASD", None)


def test_waiting_summary_reads_the_service_row_and_the_longest_locality():
    by_service = pd.DataFrame({
        "service": ["ASD", "SLT"], "n_waiting": [1235, 400], "median_wait_weeks": [41.0, 70.0],
        "n_over_18_weeks": [780, 300], "n_over_52_weeks": [260, 100],
        "pct_over_18_weeks": [63.2, 75.0], "pct_over_52_weeks": [21.05, 25.0],
    })
    text = journey.waiting_summary("ASD", by_service, _by_locality_service())
    assert text.startswith("Right now 1,235 children and young people are waiting for autism assessment.")
    assert "Half of them have waited more than 41 weeks." in text
    assert "63% have waited over 18 weeks and 21% over a year." in text
    assert "longest in Eastfield: median 61 weeks, up 9 weeks on a year ago" in text
    assert "longest median wait is for speech and language therapy (70 weeks)" in text


def test_waiting_summary_never_prints_a_hidden_count():
    by_service = pd.DataFrame({
        "service": ["ASD"], "n_waiting": [pd.NA], "median_wait_weeks": [pd.NA], "n_over_18_weeks": [pd.NA],
        "n_over_52_weeks": [pd.NA], "pct_over_18_weeks": [pd.NA], "pct_over_52_weeks": [pd.NA],
    }).astype({"n_waiting": "Int64"})
    text = journey.waiting_summary("ASD", by_service, _by_locality_service().iloc[0:0])
    assert "Too few" in text and not any(ch.isdigit() for ch in text)


def test_trend_and_distribution_sentences():
    trend = pd.DataFrame({"month": pd.to_datetime(["2025-11-01", "2025-12-01", "2026-10-01"]),
                          "n_waiting": [100, pd.NA, 150], "n_over_18_weeks": [1, 2, 3], "n_over_52_weeks": [0, 0, 0]})
    assert journey.trend_sentence(trend, "ASD") == (
        "The number waiting for autism assessment has risen: 100 at the end of November 2025, "
        "150 at the end of October 2026.")
    distribution = pd.DataFrame({"wait_band": journey.WAIT_BANDS, "n_waiting": [10, 20, 30, 40, 50, 60, 5, pd.NA]})
    text = journey.distribution_sentence(distribution, "ASD")
    assert "The largest group has waited 52-78 weeks so far (60 children)" in text
    assert "65 of the 215 children shown have waited more than a year" in text
    hidden = distribution.assign(n_waiting=[pd.NA] * 7 + [0])
    assert journey.distribution_sentence(hidden, "ASD").startswith("Too few children are waiting in each band")
    assert journey.distribution_sentence(distribution.assign(n_waiting=0), "ASD") == (
        "Nobody is waiting for autism assessment with these filters.")


def test_charts_leave_hidden_cells_out():
    frame = _by_locality_service()
    spec = journey.heatmap_chart(frame, "ASD").to_dict()
    assert spec["layer"][0]["mark"]["type"] == "rect"
    breakdown = frame.rename(columns={"locality": "group_value"}).assign(pct_over_18_weeks=50.0)
    chart = journey.breakdown_chart(breakdown[breakdown.service == "ASD"], "locality")
    assert len(chart.data) == 2  # Westmere's median is hidden, so it is not drawn


def test_a_heat_map_of_many_localities_shows_those_with_the_longest_waits_for_the_service_and_says_so():
    # at national scale 106 localities across made the heat map's labels overlap into an unreadable band
    localities = [f"Locality {n:03d}" for n in range(30)]
    frame = pd.DataFrame([{"locality": name, "service": service, "n_waiting": 100,
                           "median_wait_weeks": (pd.NA if n == 29 else float(n % 20)) if service == "ASD" else 50.0}
                          for n, name in enumerate(localities) for service in ("ASD", "ADHD")])
    shown = journey.heatmap_localities(frame, "ASD")
    # longest first (19 weeks, 18, ... 10); Locality 029's median is hidden, so it would come after every shown one
    assert shown == [f"Locality {n:03d}" for n in (19, 18, 17, 16, 15, 14, 13, 12, 11, 10)]
    assert len(shown) == journey.HEATMAP_MOST_LOCALITIES
    tied = frame.assign(median_wait_weeks=frame["median_wait_weeks"].where(frame["locality"] != "Locality 019", 10.0))
    assert journey.heatmap_localities(tied, "ASD")[-2:] == ["Locality 010", "Locality 019"]  # equal waits: by name
    hidden = frame.assign(median_wait_weeks=pd.NA).astype({"median_wait_weeks": "Float64"})
    assert journey.heatmap_localities(hidden, "ASD") == localities[:10]  # nothing shown: alphabetical
    spec = journey.heatmap_chart(frame, "ASD").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["sort"] == shown
    assert spec["title"]["text"].startswith("The 10 localities with the longest waits for autism assessment, of 30")
    assert "of 30" in spec["description"]
    few = frame[frame["locality"].isin(localities[:5])]
    assert journey.heatmap_localities(few, "ASD") == localities[:5]  # all of them, in alphabetical order
    assert "title" not in journey.heatmap_chart(few, "ASD").to_dict()


# --------------------------------------------------------------------------- waiting-well schemes


def test_reference_schemes_file_loads_and_covers_every_service():
    schemes = journey.load_waiting_well_schemes()
    assert list(schemes.columns) == journey.SCHEME_COLUMNS
    assert (schemes["scheme"] != "").all() and (schemes["how_to_access"] != "").all()
    for service in journey.SERVICES:
        assert not journey.schemes_for(schemes, service, None).empty, f"no scheme for {service}"


def test_schemes_for_picks_service_and_locality_specific_first(tmp_path):
    path = tmp_path / "schemes.csv"
    path.write_text(
        "\ufeffscheme,service,locality,description,how_to_access,contact\n"
        "Everyone,all,all,d,h,c\n"
        "Autism everywhere,ASD,all,d,h,c\n"
        "Autism in Eastfield,ASD,Eastfield,d,h,c\n"
        "Speech in Eastfield,SLT,Eastfield,d,h,c\n"
        ",ASD,all,half-edited line,,\n", encoding="utf-8")
    schemes = journey.load_waiting_well_schemes(path)
    assert journey.schemes_for(schemes, "ASD", "Eastfield")["scheme"].tolist() == [
        "Autism in Eastfield", "Autism everywhere", "Everyone"]
    assert journey.schemes_for(schemes, "ASD", None)["scheme"].tolist() == ["Autism everywhere", "Everyone"]
    assert journey.schemes_for(schemes, "ASD", "Westmere")["scheme"].tolist() == ["Autism everywhere", "Everyone"]


def test_schemes_file_problems_are_explained(tmp_path):
    path = tmp_path / "schemes.csv"
    path.write_text("scheme,service\nA,ASD\n")
    with pytest.raises(journey.SchemesFileError, match="missing columns: locality, description"):
        journey.load_waiting_well_schemes(path)
    path.write_text("scheme,service,locality,description,how_to_access,contact\nA,DENTAL,all,d,h,c\n")
    with pytest.raises(journey.SchemesFileError, match="Unknown service codes.*DENTAL"):
        journey.load_waiting_well_schemes(path)
    with pytest.raises(journey.SchemesFileError, match="cannot be read"):
        journey.load_waiting_well_schemes(tmp_path / "missing.csv")


# ----------------------------------------------------------------- named queries over Parquet marts


def _expected_by_service(referrals: pd.DataFrame) -> pd.DataFrame:
    waiting = referrals[referrals.waiting_now]
    grouped = waiting.groupby("service")["wait_weeks"]
    return pd.DataFrame({
        "n_waiting": grouped.size(),
        "median_wait_weeks": grouped.median(),
        "n_over_18_weeks": grouped.apply(lambda w: int((w > 18).sum())),
        "n_over_52_weeks": grouped.apply(lambda w: int((w > 52).sum())),
    })


def _referrals(tiny_marts_dir) -> pd.DataFrame:
    from portal import store
    return pd.read_parquet(store.current_version().path / "fct_referrals.parquet")


def test_analyst_sees_exact_waits_and_commissioner_sees_them_suppressed(tiny_marts):
    expected = _expected_by_service(_referrals(tiny_marts))
    raw = queries.run("waits_by_service", ANALYST).df.set_index("service")
    for column in expected.columns:
        assert raw[column].tolist() == pytest.approx(expected[column].tolist()), column
    shown = queries.run("waits_by_service", COMMISSIONER).df.set_index("service")
    hidden_any = False
    for service, row in expected.iterrows():
        for column in ("n_waiting", "n_over_18_weeks", "n_over_52_weeks"):
            value = row[column]
            if 0 < value < LOWEST_SHOWN:
                assert pd.isna(shown.loc[service, column])
                hidden_any = True
            elif not pd.isna(shown.loc[service, column]):
                assert shown.loc[service, column] == round_count(value)
    assert hidden_any, "the tiny marts should hold at least one small count to hide"
    # the median of a hidden group is hidden too; the analyst's is a real number
    assert raw["median_wait_weeks"].notna().all()


def test_clinician_list_holds_only_their_service_and_locality_longest_first(tiny_marts):
    referrals = _referrals(tiny_marts)
    result = queries.run("service_waiting_list", CLINICIAN)
    mine = referrals[referrals.waiting_now & (referrals.service == "ASD") & (referrals.locality == "Northfield")]
    assert len(result.df) == len(mine) > 0
    assert set(result.df["pseudo_id"]) == set(mine["person_key"])
    assert result.df["wait_weeks"].tolist() == sorted(result.df["wait_weeks"], reverse=True)
    assert not {"nhs_number", "given_name", "family_name", "date_of_birth"} & set(result.df.columns)
    others = referrals[referrals.waiting_now & ~((referrals.service == "ASD") & (referrals.locality == "Northfield"))]
    assert not set(result.df["pseudo_id"]) & (set(others["person_key"]) - set(mine["person_key"]))


def test_only_clinicians_get_record_level_lists_and_cannot_choose_another(tiny_marts):
    with pytest.raises(queries.ForbiddenQuery):
        queries.run("service_waiting_list", COMMISSIONER)
    with pytest.raises(queries.ScopeViolation):
        queries.run("service_waiting_list", CLINICIAN, service="SLT")


def test_breakdown_parameter_is_allow_listed(tiny_marts):
    result = queries.run("waits_by_breakdown", ANALYST, service="ASD", by="send_status")
    assert set(result.df["group_value"]) <= {"EHCP", "SEN support", "No SEND"}
    with pytest.raises(queries.BadParameter):
        queries.run("waits_by_breakdown", ANALYST, service="ASD", by="person_key")
    with pytest.raises(queries.BadParameter):
        queries.run("waits_by_breakdown", ANALYST, service="ASD; DROP TABLE x", by="locality")
