"""Choropleth maps of an area's localities, drawn offline from its own boundary file.

An adopting area brings its boundaries as GeoJSON or TopoJSON. TopoJSON is converted here (no extra
library): shared arcs are delta-decoded through the file's ``transform``, stitched into rings, and each
geometry becomes a GeoJSON feature. Rings are then wound the way d3-geo (inside Vega-Lite) expects —
exterior rings clockwise, holes anticlockwise — because d3 treats an anticlockwise exterior ring as "the
whole globe except this shape", which fills the chart with a single colour.

The chart embeds the features inline, so it needs no tile server or internet connection.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import altair as alt
import pandas as pd

from portal import theme

# Rounding coordinates to 5 decimal places (about 1 m) keeps the inline chart small without visible loss.
COORDINATE_DECIMALS = 5


class BoundaryFileError(ValueError):
    """The boundary file is missing, unreadable or not GeoJSON/TopoJSON."""


# ---------------------------------------------------------------------------------------------- loading


def load_boundaries(path: str | Path, name_property: str | None = None, topology_object: str | None = None) -> dict:
    """A GeoJSON FeatureCollection from a GeoJSON or TopoJSON file.

    ``name_property`` names the feature property holding the area name; when given, every feature also
    gets it copied to ``properties["area"]`` so charts can join on one name whatever the file calls it.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise BoundaryFileError(f"The boundary file {path.name} cannot be read: {exc.strerror}") from exc
    except ValueError as exc:
        raise BoundaryFileError(f"The boundary file {path.name} is not valid JSON.") from exc
    return to_feature_collection(document, name_property=name_property, topology_object=topology_object)


def to_feature_collection(document: dict, name_property: str | None = None, topology_object: str | None = None) -> dict:
    """Normalise a parsed GeoJSON or TopoJSON document to a d3-wound GeoJSON FeatureCollection."""
    if not isinstance(document, dict) or "type" not in document:
        raise BoundaryFileError("The boundary file is not GeoJSON or TopoJSON (it has no 'type').")
    kind = document["type"]
    if kind == "Topology":
        collection = topojson_to_geojson(document, topology_object)
    elif kind == "FeatureCollection":
        collection = {"type": "FeatureCollection", "features": list(document.get("features") or [])}
    elif kind == "Feature":
        collection = {"type": "FeatureCollection", "features": [document]}
    else:
        raise BoundaryFileError(f"Boundary files must be a FeatureCollection or Topology, not {kind!r}.")
    features = []
    for feature in collection["features"]:
        geometry = feature.get("geometry")
        properties = dict(feature.get("properties") or {})
        if name_property is not None:
            if name_property not in properties:
                raise BoundaryFileError(f"A boundary has no {name_property!r} property to name its area.")
            properties["area"] = properties[name_property]
        features.append({"type": "Feature", "properties": properties,
                         "geometry": rewind_for_d3(geometry) if geometry else None})
    return {"type": "FeatureCollection", "features": features}


# ------------------------------------------------------------------------------------- TopoJSON decoding


def topojson_to_geojson(topology: dict, object_name: str | None = None) -> dict:
    """Convert one object of a TopoJSON Topology to a GeoJSON FeatureCollection.

    Follows the TopoJSON 1.0 specification: with a ``transform``, arc positions are quantised and
    delta-encoded (each position after the first is an offset from the previous one), and point
    coordinates are quantised but not delta-encoded. Arc index ``~i`` (negative) means arc ``i`` reversed.
    When arcs are joined into a line or ring, each arc's first position repeats the previous arc's last,
    so it is dropped.
    """
    objects = topology.get("objects") or {}
    if not objects:
        raise BoundaryFileError("The TopoJSON file has no objects.")
    if object_name is None:
        object_name = next(iter(objects))
    if object_name not in objects:
        raise BoundaryFileError(f"The TopoJSON file has no object called {object_name!r}.")
    transform = topology.get("transform")
    arcs = [_decode_arc(arc, transform) for arc in topology.get("arcs") or []]

    def point(position):
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            return [position[0] * sx + tx, position[1] * sy + ty, *position[2:]]
        return list(position)

    def line(indexes):
        coordinates: list = []
        for index in indexes:
            arc = arcs[~index][::-1] if index < 0 else arcs[index]
            coordinates.extend(arc[1:] if coordinates else arc)
        return coordinates

    def ring(indexes):
        coordinates = line(indexes)
        if coordinates and coordinates[0] != coordinates[-1]:
            coordinates.append(list(coordinates[0]))
        return coordinates

    def geometry(obj):
        kind = obj.get("type")
        if kind is None:
            return None
        if kind == "GeometryCollection":
            return {"type": kind, "geometries": [geometry(g) for g in obj.get("geometries", [])]}
        if kind == "Point":
            return {"type": kind, "coordinates": point(obj["coordinates"])}
        if kind == "MultiPoint":
            return {"type": kind, "coordinates": [point(p) for p in obj["coordinates"]]}
        if kind == "LineString":
            return {"type": kind, "coordinates": line(obj["arcs"])}
        if kind == "MultiLineString":
            return {"type": kind, "coordinates": [line(a) for a in obj["arcs"]]}
        if kind == "Polygon":
            return {"type": kind, "coordinates": [ring(r) for r in obj["arcs"]]}
        if kind == "MultiPolygon":
            return {"type": kind, "coordinates": [[ring(r) for r in polygon] for polygon in obj["arcs"]]}
        raise BoundaryFileError(f"Unknown TopoJSON geometry type {kind!r}.")

    def feature(obj):
        result = {"type": "Feature", "properties": dict(obj.get("properties") or {}), "geometry": geometry(obj)}
        if "id" in obj:
            result["id"] = obj["id"]
        return result

    root = objects[object_name]
    members = root.get("geometries", []) if root.get("type") == "GeometryCollection" else [root]
    return {"type": "FeatureCollection", "features": [feature(obj) for obj in members]}


def _decode_arc(arc: list, transform: dict | None) -> list[list[float]]:
    if not transform:
        return [list(position) for position in arc]
    (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
    x = y = 0
    decoded = []
    for position in arc:
        x += position[0]
        y += position[1]
        decoded.append([x * sx + tx, y * sy + ty])
    return decoded


# ------------------------------------------------------------------------------------------ winding order


def signed_area(ring: list) -> float:
    """Shoelace area in planar lon/lat: positive when the ring runs anticlockwise."""
    total = 0.0
    for (x1, y1, *_), (x2, y2, *_) in zip(ring, ring[1:]):
        total += x1 * y2 - x2 * y1
    return total / 2


def _wind(ring: list, clockwise: bool) -> list:
    rounded = [[round(c, COORDINATE_DECIMALS) for c in position[:2]] for position in ring]
    is_clockwise = signed_area(rounded) < 0
    return rounded if is_clockwise == clockwise else rounded[::-1]


def rewind_for_d3(geometry: dict | None) -> dict | None:
    """The geometry with exterior rings clockwise and holes anticlockwise (d3-geo's convention)."""
    if geometry is None:
        return None
    kind = geometry["type"]
    if kind == "Polygon":
        rings = geometry["coordinates"]
        return {"type": kind, "coordinates": [_wind(r, clockwise=(i == 0)) for i, r in enumerate(rings)]}
    if kind == "MultiPolygon":
        return {"type": kind, "coordinates": [
            [_wind(r, clockwise=(i == 0)) for i, r in enumerate(polygon)] for polygon in geometry["coordinates"]
        ]}
    if kind == "GeometryCollection":
        return {"type": kind, "geometries": [rewind_for_d3(g) for g in geometry["geometries"]]}
    return geometry


# --------------------------------------------------------------------------------------------- the chart


def join_values(collection: dict, values: pd.DataFrame, area_column: str, value_columns: Iterable[str],
                area_property: str = "area") -> dict:
    """Copy each area's values into its feature's properties (areas without a value get None)."""
    columns = list(value_columns)
    by_area = {row[area_column]: row for row in values.to_dict("records")}
    features = []
    for feature in collection["features"]:
        properties = dict(feature["properties"])
        row = by_area.get(properties.get(area_property), {})
        for column in columns:
            value = row.get(column)
            properties[column] = None if value is None or pd.isna(value) else _plain(value)
        features.append({**feature, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def _plain(value: Any) -> Any:
    """JSON-safe scalars (numpy numbers become Python numbers)."""
    return value.item() if hasattr(value, "item") else value


BOUNDARY_LAYERS = ("fill", "borders", "outline")


def _geo_data(layer: str) -> alt.InlineData:
    """A placeholder for the features, as inline data for one layer.

    Each layer gets its own *named* InlineData object on purpose. Altair moves unnamed inline values into
    top-level ``datasets`` (which Streamlit replaces with its own Arrow datasets, so the shapes vanish) and
    hoists data shared by every layer to the top level (which Streamlit flattens into a table). A named,
    per-layer object is left where it is and reaches the browser as plain GeoJSON.

    The chart holds an empty collection, and :meth:`Choropleth.with_boundaries` puts the real one into the
    finished spec, so Altair's many copies while it builds the layers never copy the geometry (about 0.5 s of
    every Sleep services rerun at national scale, 106 localities, when the layers held it).
    """
    return alt.InlineData(values={"type": "FeatureCollection", "features": []}, name=f"boundaries_{layer}",
                          format=alt.DataFormat(property="features", type="json"))


@dataclass(frozen=True)
class MapLayout:
    """Everything that shapes a choropleth except the boundaries and their values. It is hashable and holds
    no one's data (area names and label positions come from the boundary file), so a map's spec can be kept
    by its layout for every user."""

    value_column: str
    value_title: str
    highlight: tuple[str, ...]
    tooltip: tuple[tuple[str, str, str], ...]
    area_title: str
    description: str
    height: int
    labels: tuple[tuple[str, float, float], ...]  # (area, lon, lat) of each outlined area


@dataclass(frozen=True, eq=False)
class Choropleth:
    """A choropleth to draw: its layout, and the boundaries carrying this run's values.

    Building the map's Altair layers and turning them into a spec took about 25 ms of every Sleep services
    rerun (cProfile, county), whatever the filters. The layout takes few distinct values (which areas are
    outlined), so ``portal.ui`` keeps the spec of each layout and only the boundaries are put in per run."""

    layout: MapLayout
    collection: dict

    def chart(self) -> alt.LayerChart:
        """The Altair chart of the layout; its boundary layers hold empty placeholders."""
        return layout_chart(self.layout)

    def with_boundaries(self, spec: dict) -> dict:
        """A copy of ``spec`` (a spec of this layout) with the boundaries in every boundaries_* data object.
        ``spec`` itself is not changed, so a kept spec can serve every run."""
        return _with_values(spec, {f"boundaries_{layer}": self.collection for layer in BOUNDARY_LAYERS})

    def to_dict(self, **kwargs) -> dict:
        """The whole Vega-Lite spec, boundaries included (as ``alt.Chart.to_dict``)."""
        return self.with_boundaries(self.chart().to_dict(**kwargs))


def _with_values(node, values_by_name: dict):
    if isinstance(node, dict):
        if node.get("name") in values_by_name and "values" in node:
            return {**node, "values": values_by_name[node["name"]]}
        return {key: _with_values(value, values_by_name) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_values(value, values_by_name) for value in node]
    return node


def choropleth(collection: dict, value_column: str, value_title: str, highlight: Iterable[str] = (),
               tooltip: Iterable[tuple[str, str, str]] = (), area_title: str = "Area",
               description: str = "", height: int = 420) -> Choropleth:
    """A choropleth of ``value_column`` with the ``highlight`` areas outlined thickly and named.

    ``tooltip`` is a list of (property, title, Vega-Lite type) beyond area and value. Areas with no value
    (suppressed or missing) are drawn in light grey, so a gap never looks like a low rate.
    """
    highlight = tuple(highlight)
    layout = MapLayout(value_column, value_title, highlight, tuple(tuple(tip) for tip in tooltip), area_title,
                       description, height, label_points(collection, highlight) if highlight else ())
    return Choropleth(layout, collection)


def layout_chart(layout: MapLayout) -> alt.LayerChart:
    """The Altair layers of a choropleth layout (see :func:`choropleth`), boundaries as placeholders."""
    value_column, value_title = layout.value_column, layout.value_title
    tips = [alt.Tooltip("properties.area:N", title=layout.area_title),
            alt.Tooltip(f"properties.{value_column}:Q", title=value_title, format=",.1f")]
    tips += [alt.Tooltip(f"properties.{prop}:{kind}", title=title) for prop, title, kind in layout.tooltip]
    has_value = f"isValid(datum.properties.{value_column})"
    filled = alt.Chart(_geo_data("fill")).mark_geoshape(strokeWidth=0).encode(
        color=theme.colour_if(
            has_value,
            alt.Color(f"properties.{value_column}:Q", title=value_title, scale=alt.Scale(scheme="blues", zero=True),
                      legend=alt.Legend(orient="right", format=",.0f")),
            "#E8EDEE",
        ),
        tooltip=tips,
    ).project(type="mercator")
    # Borders as their own layer: besides drawing the edges, a second data object keeps Altair from hoisting
    # the fill layer's data to the top level when nothing is highlighted.
    borders = alt.Chart(_geo_data("borders")).mark_geoshape(
        filled=False, stroke="#FFFFFF", strokeWidth=1.5, aria=False,  # decoration: the fill layer is labelled
    ).project(type="mercator")
    layers = [filled, borders]
    if layout.highlight:
        outline = alt.Chart(_geo_data("outline")).mark_geoshape(
            filled=False, stroke="#212B32", strokeWidth=3,
        ).transform_filter(alt.FieldOneOfPredicate(field="properties.area", oneOf=list(layout.highlight))).encode(
            tooltip=tips,
        ).project(type="mercator")
        layers.append(outline)
        if layout.labels:
            labels = pd.DataFrame(list(layout.labels), columns=["area", "lon", "lat"])
            # a white halo under dark text keeps the names readable on any shade
            for halo in (True, False):
                layers.append(alt.Chart(labels).mark_text(
                    fontSize=13, fontWeight="bold", color="#212B32", dy=-2, aria=not halo,
                    **({"stroke": "#FFFFFF", "strokeWidth": 3} if halo else {}),
                ).encode(longitude=alt.Longitude("lon:Q"), latitude=alt.Latitude("lat:Q"), text=alt.Text("area:N"))
                    .project(type="mercator"))
    chart = alt.layer(*layers).properties(height=layout.height)
    if layout.description:
        chart = chart.properties(description=layout.description)
    return chart


def label_points(collection: dict, names: Iterable[str] | None = None) -> tuple[tuple[str, float, float], ...]:
    """(area, lon, lat) of each area's label point (the mean of its largest ring's vertices), for text labels
    on the map."""
    wanted = set(names) if names is not None else None
    rows = []
    for feature in collection["features"]:
        area = feature["properties"].get("area")
        if wanted is not None and area not in wanted:
            continue
        ring = _largest_ring(feature.get("geometry"))
        if ring:
            points = ring[:-1] or ring
            rows.append((area, sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)))
    return tuple(rows)


def _largest_ring(geometry: dict | None) -> list | None:
    if not geometry:
        return None
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        return None
    rings = [polygon[0] for polygon in polygons if polygon]
    return max(rings, key=lambda r: abs(signed_area(r)), default=None)
