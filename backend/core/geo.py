"""Distances on the WGS-84 sphere approximation, and the H3 cells the dispatcher searches by.

Caregivers carry the H3 cell of where they are at two resolutions: 8 (hexagons of about 0.5 km edge)
for searches within a few kilometres, 6 (about 3.7 km edge) for wider ones. A search around an elder
asks the database for the caregivers in a disk of cells (an indexed ``IN``), never for every caregiver.
"""

from __future__ import annotations

from math import asin, ceil, cos, radians, sin, sqrt

import h3

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = radians(lat1), radians(lat2)
    dlat, dlon = p2 - p1, radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(p1) * cos(p2) * sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(a)))


FINE_RESOLUTION = 8
COARSE_RESOLUTION = 6
FINE_MAX_RADIUS_M = 4_000.0


def h3_cells(lat: float, lon: float) -> tuple[str, str]:
    """The point's cell at the fine and the coarse resolution."""
    return h3.latlng_to_cell(lat, lon, FINE_RESOLUTION), h3.latlng_to_cell(lat, lon, COARSE_RESOLUTION)


def covering_cells(lat: float, lon: float, radius_m: float) -> tuple[int, list[str]]:
    """A resolution and a disk of its cells that together cover the circle (and a little more).

    The k-ring of a hexagon covers at least 1.5·k edge lengths around its centre; one more ring
    absorbs the grid's distortion. Callers still check the exact distance.
    """
    resolution = FINE_RESOLUTION if radius_m <= FINE_MAX_RADIUS_M else COARSE_RESOLUTION
    edge_m = h3.average_hexagon_edge_length(resolution, unit="m")
    k = ceil(radius_m / (1.5 * edge_m)) + 1
    return resolution, list(h3.grid_disk(h3.latlng_to_cell(lat, lon, resolution), k))
