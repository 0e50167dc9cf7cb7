"""The map of need: TopoJSON decoding, d3 winding, joining values and the choropleth spec."""
import json
from pathlib import Path

import pandas as pd
import pytest

from portal import maps

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "real-data"
LAD_TOPOJSON = REAL_DATA / "eng_lad2013_topo.json"

# Two unit squares side by side sharing the edge x=1, quantised with scale 0.5 and translate (10, 50):
# arc 0 is the shared edge (1,0)->(1,1); arc 1 runs round the left square; arc 2 round the right one.
# Positions are delta-encoded: [2,0],[0,2] means (2,0) then (2,2) in quantised units.
SMALL_TOPOLOGY = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.5], "translate": [10, 50]},
    "arcs": [
        [[2, 0], [0, 2]],                    # (1,0)->(1,1) after transform: (11,50)->(11,51)
        [[2, 2], [-2, 0], [0, -2], [2, 0]],  # (11,51)->(10,51)->(10,50)->(11,50)
        [[2, 0], [2, 0], [0, 2], [-2, 0]],   # (11,50)->(12,50)->(12,51)->(11,51)
    ],
    "objects": {
        "areas": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Polygon", "arcs": [[0, 1]], "properties": {"name": "West"}},
                {"type": "Polygon", "arcs": [[~0, 2]], "properties": {"name": "East"}, "id": "E"},
                {"type": "Point", "coordinates": [4, 2], "properties": {"name": "Town"}},
            ],
        }
    },
}


def test_topojson_decodes_delta_encoded_and_reversed_arcs():
    collection = maps.topojson_to_geojson(SMALL_TOPOLOGY)
    west, east, town = collection["features"]
    assert west["geometry"]["coordinates"] == [[[11, 50], [11, 51], [10, 51], [10, 50], [11, 50]]]
    # ~0 walks the shared edge backwards, then arc 2 carries on without repeating the joint
    assert east["geometry"]["coordinates"] == [[[11, 51], [11, 50], [12, 50], [12, 51], [11, 51]]]
    assert east["id"] == "E"
    # points are quantised but not delta-encoded
    assert town["geometry"] == {"type": "Point", "coordinates": [12, 51]}


def test_boundaries_are_wound_clockwise_for_d3():
    collection = maps.to_feature_collection(SMALL_TOPOLOGY, name_property="name")
    for feature in collection["features"][:2]:
        exterior = feature["geometry"]["coordinates"][0]
        assert maps.signed_area(exterior) < 0, "exterior rings must run clockwise"
        assert feature["properties"]["area"] == feature["properties"]["name"]


def test_polygon_hole_is_wound_anticlockwise():
    square = [[0, 0], [0, 4], [4, 4], [4, 0], [0, 0]]          # clockwise
    hole = [[1, 1], [1, 2], [2, 2], [2, 1], [1, 1]]             # clockwise too: must be flipped
    wound = maps.rewind_for_d3({"type": "Polygon", "coordinates": [square[::-1], hole]})
    assert maps.signed_area(wound["coordinates"][0]) < 0
    assert maps.signed_area(wound["coordinates"][1]) > 0


@pytest.mark.skipif(not LAD_TOPOJSON.exists(), reason="real boundary file not present")
def test_real_local_authority_topojson_converts():
    collection = maps.load_boundaries(LAD_TOPOJSON, name_property="LAD13NM")
    features = collection["features"]
    assert len(features) == 326  # English local authority districts, 2013
    by_name = {f["properties"]["area"]: f for f in features}
    hartlepool = by_name["Hartlepool"]["geometry"]
    assert hartlepool["type"] == "MultiPolygon"
    points = [p for polygon in hartlepool["coordinates"] for ring in polygon for p in ring]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    # Hartlepool lies around 1.2-1.4 degrees west, 54.6-54.8 degrees north
    assert -1.45 < min(lons) and max(lons) < -1.1
    assert 54.6 < min(lats) and max(lats) < 54.8
    for feature in features:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for polygon in polygons:
            assert polygon[0][0] == polygon[0][-1], "rings must be closed"
            assert maps.signed_area(polygon[0]) <= 0  # a few slivers are degenerate (zero area)


def test_unreadable_or_wrong_files_give_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(maps.BoundaryFileError, match="not valid JSON"):
        maps.load_boundaries(bad)
    with pytest.raises(maps.BoundaryFileError, match="cannot be read"):
        maps.load_boundaries(tmp_path / "missing.json")
    with pytest.raises(maps.BoundaryFileError, match="no 'locality' property"):
        maps.to_feature_collection(SMALL_TOPOLOGY, name_property="locality")


def test_geojson_with_bom_loads(tmp_path):
    path = tmp_path / "b.geojson"
    collection = maps.topojson_to_geojson(SMALL_TOPOLOGY)
    path.write_text(json.dumps(collection), encoding="utf-8-sig")
    loaded = maps.load_boundaries(path, name_property="name")
    assert [f["properties"]["area"] for f in loaded["features"]] == ["West", "East", "Town"]


def test_choropleth_joins_values_and_highlights_areas():
    collection = maps.to_feature_collection(SMALL_TOPOLOGY, name_property="name")
    values = pd.DataFrame({"area": ["West", "East"], "rate": [4.5, float("nan")]})
    joined = maps.join_values(collection, values, "area", ["rate"])
    props = {f["properties"]["area"]: f["properties"] for f in joined["features"]}
    assert props["West"]["rate"] == 4.5 and props["East"]["rate"] is None
    spec = maps.choropleth(joined, "rate", "Rate per 1,000", highlight=["West"], description="map").to_dict()
    text = json.dumps(spec)
    assert '"oneOf": ["West"]' in text          # the outline layer picks out the highlighted area
    assert "mercator" in text
    assert spec["description"] == "map"
    assert maps.label_points(joined, ["West"]) == (("West", 10.5, 50.5),)


def _rates(collection, west, east):
    values = pd.DataFrame({"area": ["West", "East"], "rate": [west, east]})
    return maps.join_values(collection, values, "area", ["rate"])


def _boundary_values(spec):
    return {layer["data"]["name"]: {f["properties"]["area"]: f["properties"]["rate"]
                                    for f in layer["data"]["values"]["features"]}
            for layer in spec["layer"] if layer.get("data", {}).get("name", "").startswith("boundaries_")}


def test_a_map_with_a_layout_drawn_before_reuses_its_spec_and_carries_its_own_values(monkeypatch):
    """The spec of a layout is kept; each map puts its own boundaries and values into a copy of it."""
    from portal import ui

    collection = maps.to_feature_collection(SMALL_TOPOLOGY, name_property="name")
    built = []
    layout_chart = maps.layout_chart
    monkeypatch.setattr(maps, "layout_chart", lambda layout: built.append(layout) or layout_chart(layout))
    ui._kept_map_layout_spec.cache_clear()
    first = maps.choropleth(_rates(collection, 4.5, 2.0), "rate", "Rate", highlight=["West"], description="m")
    second = maps.choropleth(_rates(collection, 1.0, 9.0), "rate", "Rate", highlight=["West"], description="m")
    first_spec, second_spec = ui.vega_lite_spec(first), ui.vega_lite_spec(second)
    assert len(built) == 1, "the second map, of the same layout, is not built again"
    assert _boundary_values(first_spec)["boundaries_fill"] == {"West": 4.5, "East": 2.0, "Town": None}
    assert set(_boundary_values(second_spec)) == {"boundaries_fill", "boundaries_borders", "boundaries_outline"}
    assert all(v == {"West": 1.0, "East": 9.0, "Town": None} for v in _boundary_values(second_spec).values())
    assert _boundary_values(first_spec)["boundaries_fill"]["West"] == 4.5, "drawing the second left the first alone"
    kept = ui._kept_map_layout_spec(first.layout)
    assert all(layer["data"]["values"]["features"] == [] for layer in kept["layer"]
               if layer.get("data", {}).get("name", "").startswith("boundaries_")), "the kept spec holds no values"
    other = maps.choropleth(_rates(collection, 1.0, 9.0), "rate", "Rate", highlight=["East"], description="m")
    outlined = [layer["transform"][0]["filter"]["oneOf"] for layer in ui.vega_lite_spec(other)["layer"]
                if "transform" in layer]
    assert outlined == [["East"]] and len(built) == 2, "another layout is built for itself"


def test_topojson_boundaries_land_as_geojson_through_ingest(tmp_path, monkeypatch):
    from portal.ingest import ingest

    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(tmp_path / "data"))
    topology = json.loads(json.dumps(SMALL_TOPOLOGY))
    geometries = topology["objects"]["areas"]["geometries"][:2]
    for geometry, name in zip(geometries, ["Westfield", "Eastfield"]):
        geometry["properties"] = {"locality": name}
    topology["objects"]["areas"]["geometries"] = geometries
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "geography_boundaries_2026.topojson").write_text(json.dumps(topology))
    outcomes = ingest([incoming])
    assert [o.status for o in outcomes] == ["landed"], [o.message for o in outcomes]
    landed = maps.load_boundaries(tmp_path / "data" / "landed" / "geography" / "boundaries.geojson",
                                  name_property="locality")
    assert [f["properties"]["area"] for f in landed["features"]] == ["Westfield", "Eastfield"]
    assert landed["features"][1]["geometry"]["coordinates"][0][0] == [11, 51]
