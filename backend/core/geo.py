"""Distances on the WGS-84 sphere approximation, the H3 cells the dispatcher searches by, and China's map datums
(GCJ-02, BD-09) at the edge.

Caregivers carry the H3 cell of where they are at two resolutions: 8 (hexagons of about 0.5 km edge)
for searches within a few kilometres, 6 (about 3.7 km edge) for wider ones. A search around an elder
asks the database for the caregivers in a disk of cells (an indexed ``IN``), never for every caregiver.
"""

from __future__ import annotations

from math import asin, atan2, ceil, cos, pi, radians, sin, sqrt
from typing import Literal

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


# GCJ-02 (国测局坐标, "Mars coordinates"): the obfuscated datum Chinese map services (Amap, Tencent) draw in. The
# platform stores WGS-84, what phones report, and converts only at the edge where a point leaves for such a map.
# The published transform: an offset from a polynomial-and-sine field over (lon − 105°, lat − 35°), scaled by the
# Krasovsky 1940 ellipsoid's radii of curvature; outside China the datum is WGS-84 itself.
_KRASOVSKY_A = 6_378_245.0
_KRASOVSKY_EE = 0.00669342162296594323  # first eccentricity squared


def in_china(lat: float, lon: float) -> bool:
    """True within the rough box where GCJ-02 differs from WGS-84 (the published transform's own bounds)."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def _offset_field(x: float, y: float) -> tuple[float, float]:
    """The transform's raw offsets (lat, lon) at x = lon − 105, y = lat − 35, in metre-like units."""
    waves = 20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)
    north = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
    north += (waves + 20.0 * sin(y * pi) + 40.0 * sin(y / 3.0 * pi)) * 2.0 / 3.0
    north += (160.0 * sin(y / 12.0 * pi) + 320.0 * sin(y * pi / 30.0)) * 2.0 / 3.0
    east = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
    east += (waves + 20.0 * sin(x * pi) + 40.0 * sin(x / 3.0 * pi)) * 2.0 / 3.0
    east += (150.0 * sin(x / 12.0 * pi) + 300.0 * sin(x / 30.0 * pi)) * 2.0 / 3.0
    return north, east


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """A WGS-84 point as GCJ-02 (lat, lon); unchanged outside China."""
    if not in_china(lat, lon):
        return lat, lon
    north, east = _offset_field(lon - 105.0, lat - 35.0)
    phi = radians(lat)
    w = 1.0 - _KRASOVSKY_EE * sin(phi) ** 2
    meridian = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (w * sqrt(w))  # radius of curvature north–south
    normal = _KRASOVSKY_A / sqrt(w)  # east–west
    return lat + north * 180.0 / (meridian * pi), lon + east * 180.0 / (normal * cos(phi) * pi)


def gcj02_to_wgs84(lat: float, lon: float, *, tolerance: float = 1e-9, rounds: int = 20) -> tuple[float, float]:
    """A GCJ-02 point back to WGS-84 (lat, lon): the forward transform inverted by fixed-point iteration (the offset
    changes slowly, so each round gains several digits; 1e-9° is about 0.1 mm)."""
    wlat, wlon = lat, lon
    for _ in range(rounds):
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        dlat, dlon = glat - lat, glon - lon
        wlat, wlon = wlat - dlat, wlon - dlon
        if abs(dlat) < tolerance and abs(dlon) < tolerance:
            break
    return wlat, wlon


# BD-09 (百度坐标): Baidu's maps and SDK add a second, published offset on top of GCJ-02 (a small rotation and
# stretch about (0.0065°, 0.006°)); its published inverse is closed-form, good to a few centimetres.
_BD_X_PI = pi * 3000.0 / 180.0


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """A GCJ-02 point as BD-09 (lat, lon)."""
    z = sqrt(lon * lon + lat * lat) + 0.00002 * sin(lat * _BD_X_PI)
    theta = atan2(lat, lon) + 0.000003 * cos(lon * _BD_X_PI)
    return z * sin(theta) + 0.006, z * cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """A BD-09 point as GCJ-02 (lat, lon)."""
    x, y = lon - 0.0065, lat - 0.006
    z = sqrt(x * x + y * y) - 0.00002 * sin(y * _BD_X_PI)
    theta = atan2(y, x) - 0.000003 * cos(x * _BD_X_PI)
    return z * sin(theta), z * cos(theta)


Crs = Literal["wgs84", "gcj02", "bd09"]


def to_wgs84(lat: float, lon: float, crs: Crs) -> tuple[float, float]:
    """A point given in ``crs`` (GPS: wgs84; Amap and Tencent SDKs: gcj02; Baidu's: bd09) as WGS-84, what the
    platform stores and measures in."""
    if crs == "gcj02":
        return gcj02_to_wgs84(lat, lon)
    if crs == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))
    return lat, lon
