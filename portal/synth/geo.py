"""Generated locality boundaries: a jittered grid whose shared edges wiggle identically on both sides.

Each locality is one grid cell. Interior grid corners are moved at random, and every edge becomes a
wiggly line drawn once and used by both cells that share it (reversed for one of them), so neighbouring
polygons meet exactly, with no gaps or overlaps, the way a real boundary file does. Exterior rings run
counter-clockwise as RFC 7946 asks.
"""
from __future__ import annotations

import math

import numpy as np

# A fictional county somewhere in the English midlands (longitude, latitude).
WEST, EAST, SOUTH, NORTH = -1.95, -0.55, 52.15, 52.95


def grid_shape(n_cells: int) -> tuple[int, int]:
    """Columns and rows of a grid with at least n_cells cells, about twice as wide as tall."""
    rows = max(1, round(math.sqrt(n_cells / 2)))
    cols = math.ceil(n_cells / rows)
    return cols, rows


def locality_cells(n_localities: int, rng: np.random.Generator) -> list[dict]:
    """One dict per locality: ``ring`` (closed list of [lon, lat]), ``centroid``, ``bbox`` (core area)."""
    cols, rows = grid_shape(n_localities)
    dx, dy = (EAST - WEST) / cols, (NORTH - SOUTH) / rows
    corners = np.zeros((cols + 1, rows + 1, 2))
    for i in range(cols + 1):
        for j in range(rows + 1):
            jitter = rng.uniform(-0.22, 0.22, 2) if 0 < i < cols and 0 < j < rows else np.zeros(2)
            corners[i, j] = (WEST + (i + jitter[0]) * dx, SOUTH + (j + jitter[1]) * dy)

    edges: dict[tuple, list[list[float]]] = {}

    def edge(a: tuple[int, int], b: tuple[int, int]) -> list[list[float]]:
        key = (a, b) if a < b else (b, a)
        if key not in edges:
            p, q = corners[key[0]], corners[key[1]]
            steps = 8
            t = np.linspace(0, 1, steps + 1)
            direction = q - p
            normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) or 1)
            amplitude = rng.uniform(-0.06, 0.06, steps + 1) * min(dx, dy) * np.sin(np.pi * t)
            points = p + np.outer(t, direction) + np.outer(amplitude, normal)
            edges[key] = [[round(float(x), 5), round(float(y), 5)] for x, y in points]
        line = edges[key]
        return line if (a, b) == key else line[::-1]

    cells = []
    for index in range(n_localities):
        i, j = index % cols, index // cols
        ring: list[list[float]] = []
        for a, b in [((i, j), (i + 1, j)), ((i + 1, j), (i + 1, j + 1)),
                     ((i + 1, j + 1), (i, j + 1)), ((i, j + 1), (i, j))]:
            ring.extend(edge(a, b)[:-1])
        ring.append(ring[0])
        quad = corners[[i, i + 1, i + 1, i], [j, j, j + 1, j + 1]]
        centroid = quad.mean(axis=0)
        core = np.array([centroid - 0.3 * np.array([dx, dy]), centroid + 0.3 * np.array([dx, dy])])
        cells.append({"ring": ring, "centroid": (round(float(centroid[0]), 5), round(float(centroid[1]), 5)),
                      "core": core})
    return cells


def feature_collection(names: list[str], codes: list[str], cells: list[dict]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"locality": name, "locality_code": code},
                "geometry": {"type": "Polygon", "coordinates": [cell["ring"]]},
            }
            for name, code, cell in zip(names, codes, cells)
        ],
    }
