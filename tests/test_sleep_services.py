"""Sleep services: the melatonin trend, the comorbidity overlap and the map of need from query frames."""
from __future__ import annotations

import json

import pandas as pd

from portal import maps
from portal.journeys import sleep_services as journey


def _by_year(patients=(100, 140, 190, 260, 350)):
    years = pd.to_datetime(["2022-10-01", "2023-10-01", "2024-10-01", "2025-10-01", "2026-10-01"]).date
    return pd.DataFrame({"year_ending": years, "group_value": "All children and young people",
                         "patients": list(patients), "items": [2 * p for p in patients],
                         "population": [10000] * 5, "patients_per_1000": [p / 10 for p in patients]})


def _need():
    return pd.DataFrame({"locality": ["Eastfield", "Northbrook", "Westmere", "Kingsford", "Riverton"],
                         "patients": [50, 200, 60, 180, 5], "items": [90, 400, 100, 350, 9],
                         "population": [10000, 10000, 12000, 9000, 400],
                         "patients_per_1000": [5.0, 20.0, 5.0, 20.0, pd.NA]})


def test_rising_every_year_is_detected_and_said():
    assert journey.rises_every_year(_by_year())
    assert journey.year_on_year_changes(_by_year()) == [40, 50, 70, 90]
    text = journey.trend_sentence(_by_year())
    assert text == ("In the 12 months to Oct 2026, 350 children and young people were prescribed melatonin "
                    "(700 items; 35.0 per 1,000). Prescribing has risen every year, from 100 children in the "
                    "12 months to Oct 2022.")


def test_a_dip_is_not_called_a_rise():
    dipped = _by_year((100, 140, 120, 260, 350))
    assert not journey.rises_every_year(dipped)
    assert "though not every year rose" in journey.trend_sentence(dipped)


def test_highest_need_localities_skip_hidden_rates_and_break_ties_by_name():
    assert journey.highest_need_localities(_need()) == ["Kingsford", "Northbrook"]
    text = journey.need_sentence(_need())
    assert text.startswith("The need for a sleep service is highest in Kingsford (20.0 per 1,000) and "
                           "Northbrook (20.0 per 1,000), against ")
    # the overall rate uses only the localities shown (Riverton is hidden): 490 / 41,000 people
    assert "against 12.0 per 1,000 across the localities shown" in text


def test_need_map_outlines_the_highest_need_localities():
    topology = {
        "type": "Topology",
        "arcs": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]], [[1, 0], [1, 1], [2, 1], [2, 0], [1, 0]]],
        "objects": {"l": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0]], "properties": {"locality": "Northbrook"}},
            {"type": "Polygon", "arcs": [[1]], "properties": {"locality": "Kingsford"}}]}},
    }
    boundaries = maps.to_feature_collection(topology, name_property="locality")
    spec = json.dumps(journey.need_map(_need(), boundaries).to_dict())
    assert '"oneOf": ["Kingsford", "Northbrook"]' in spec
    assert '"patients_per_1000": 20.0' in spec


def test_overlap_grid_sentence_and_chart():
    conditions = journey.CONDITIONS
    rows = []
    shares = {"Asthma": 20.0, "Obesity": 10.0, "Autism": 45.0, "ADHD": 30.0}
    for a in conditions:
        for b in conditions:
            pct = shares[a] if a == b else (15.0 if {a, b} == {"Autism", "ADHD"} else 3.0)
            rows.append({"condition": a, "with_condition": b, "patients": pct * 10, "all_patients": 1000,
                         "pct_of_patients": pct})
    overlap = pd.DataFrame(rows)
    text = journey.comorbidity_sentence(overlap)
    assert text == ("Of the children on melatonin, the most common other recorded conditions are autism (45%), "
                    "ADHD (30%), asthma (20%) and obesity (10%). The largest overlap is ADHD with Autism: 15% have both.")
    assert len(journey.overlap_chart(overlap).to_dict()["layer"]) == 2


def test_group_trend_sentence_names_highest_and_fastest_rising_group():
    frame = pd.concat([
        _by_year((10, 20, 30, 40, 50)).assign(group_value="Eastfield"),
        _by_year((30, 31, 32, 33, 34)).assign(group_value="Westmere"),
    ])
    assert journey.group_trend_sentence(frame, "locality") == (
        "By locality, the rate is highest now for Eastfield (5.0 per 1,000) and rose most for Eastfield "
        "(up 4.0 per 1,000 since the 12 months to Oct 2022).")


def test_boundaries_found_beside_the_marts(tmp_path):
    assert journey.load_locality_boundaries(tmp_path) is None
    (tmp_path / "boundaries.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"locality": "A"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}}]}))
    loaded = journey.load_locality_boundaries(tmp_path)
    ring = loaded["features"][0]["geometry"]["coordinates"][0]
    assert loaded["features"][0]["properties"]["area"] == "A" and maps.signed_area(ring) < 0


def test_empty_charts_are_not_drawn():
    from portal.journeys.common import drawable

    hidden = _need().assign(patients_per_1000=pd.NA)
    assert drawable(journey.trend_chart(_by_year().assign(patients=pd.NA), "all")) is None
    assert drawable(journey.trend_chart(_by_year(), "all")) is not None
    boundaries = maps.to_feature_collection({"type": "FeatureCollection", "features": []})
    assert drawable(journey.need_map(hidden, boundaries)) is not None  # a map of grey areas still informs


def test_need_sentence_with_one_locality_chosen():
    one = _need()[lambda f: f.locality == "Westmere"]
    assert journey.need_sentence(one) == (
        "In Westmere, 5.0 in every 1,000 children and young people were prescribed melatonin in the period. "
        "Clear the locality filter to compare localities on the map.")


def test_the_page_map_carries_every_boundary_though_the_chart_object_holds_none(on_small_demo):
    """The geometry is added to the finished spec (Altair copied it many times while building the layers:
    about 0.5 s a rerun at national scale), so the map the page sends must still have every locality."""
    from portal import store
    from tests.journey_checks import users
    from tests.conftest import run_page_as

    boundaries = journey.load_locality_boundaries(store.current_version().path)
    chart = journey.need_map(_need(), boundaries)
    held = [layer.data.values["features"] for layer in chart.chart().layer if hasattr(layer.data, "values")
            and isinstance(layer.data.values, dict)]
    assert held and all(features == [] for features in held), "the chart object holds placeholders only"
    at = run_page_as("sleep_services", users()["commissioner"])
    assert not at.exception, at.exception
    maps_sent = [json.loads(c.proto.spec) for c in at.get("arrow_vega_lite_chart") if "geoshape" in c.proto.spec]
    assert len(maps_sent) == 1
    named = {layer["data"]["name"]: layer["data"]["values"]["features"]
             for layer in maps_sent[0]["layer"] if layer.get("data", {}).get("name", "").startswith("boundaries_")}
    areas = sorted(f["properties"]["area"] for f in boundaries["features"])
    assert set(named) >= {"boundaries_fill", "boundaries_borders"}
    for features in named.values():
        assert sorted(f["properties"]["area"] for f in features) == areas
        assert all(f["geometry"]["coordinates"] for f in features)
