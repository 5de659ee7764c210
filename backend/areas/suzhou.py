"""Administrative-division seed data for Suzhou municipality (苏州市), 2018-2019.

Deterministic generators over the data tables of :mod:`backend.areas.suzhou_data`; no database access, stdlib only.

Two entry points:

* :func:`demo_tree` -- all 10 county-level units with a small, believable
  slice of real street/town (街道/镇) and community/village (社区/村) names.
* :func:`city_tree` -- a full-size synthetic city matching the official
  totals (37 streets, 53 towns, 1,162 communities, 1,026 villages).  Real
  names are used first, synthetic ones fill the remainder.

Coordinates are WGS-84 and *schematic*: every street/town is placed within
~6 km of its district centre (~12 km for county-level cities) and every
community/village within ~1.5 km of its street/town, so real locations that
lie further out are pulled towards the centre along their true bearing.

Code scheme (mirrors the national statistical division codes):

* district: 6 digits, e.g. ``320508``;
* street: district + ``001``-``099``, town: district + ``101``-``199``;
* community: street + ``001``-``199``, village: street + ``201``-``399``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Literal

from backend.areas.suzhou_data import (
    COMMUNITY_SUFFIXES,
    DISTRICTS,
    STEMS,
    VILLAGE_SUFFIXES,
    DistrictKind,
    DistrictSpec,
    UnitSpec,
)

StreetKind = Literal["street", "town"]
CommunityKind = Literal["community", "village"]


@dataclass(frozen=True)
class CommunitySeed:
    """A community (社区居委会) or village (村委会)."""

    code: str
    name: str
    kind: CommunityKind
    lat: float
    lon: float


@dataclass(frozen=True)
class StreetSeed:
    """A sub-district (街道) or town (镇)."""

    code: str
    name: str
    kind: StreetKind
    lat: float
    lon: float
    communities: tuple[CommunitySeed, ...] = field(default=())


@dataclass(frozen=True)
class DistrictSeed:
    """A county-level unit: district (区) or county-level city (县级市)."""

    code: str
    name: str
    kind: DistrictKind
    lat: float
    lon: float
    streets: tuple[StreetSeed, ...] = field(default=())


# (min_lat, min_lon, max_lat, max_lon), a generous box around the municipality.
SUZHOU_BOUNDS: tuple[float, float, float, float] = (30.75, 119.90, 32.05, 121.40)

# ---------------------------------------------------------------------------
# Static reference data
# ---------------------------------------------------------------------------

_KM_PER_DEG_LAT = 111.32
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))

# Maximum distance (km) of a street/town from its district centre.
_STREET_RADIUS_KM: dict[DistrictKind, float] = {"district": 6.0, "county_city": 12.0}
# Real positions further out are clamped to this fraction of the radius.
_STREET_CLAMP = 0.92
# Maximum distance (km) of a community/village from its street/town.
_COMMUNITY_SPIRAL_KM = 1.3
_COMMUNITY_CLAMP_KM = 1.4
_COMMUNITY_JITTER_KM = 0.08

# Official city totals (2018-2019).
_TOTAL_STREETS = 37
_TOTAL_TOWNS = 53
_TOTAL_COMMUNITIES = 1162
_TOTAL_VILLAGES = 1026

# Code-space limits within one parent.
_MAX_PER_CODE_BLOCK = 99  # streets 001-099, towns 101-199
_MAX_CHILDREN_PER_KIND = 199  # communities 001-199, villages 201-399


# ---------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------


def _km_per_deg_lon(lat: float) -> float:
    return _KM_PER_DEG_LAT * math.cos(math.radians(lat))


def _offset_km(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """Local (east, north) offset in km of (lat, lon) from (lat0, lon0)."""
    return (lon - lon0) * _km_per_deg_lon(lat0), (lat - lat0) * _KM_PER_DEG_LAT


def _move_km(lat0: float, lon0: float, east_km: float, north_km: float) -> tuple[float, float]:
    lat = lat0 + north_km / _KM_PER_DEG_LAT
    lon = lon0 + east_km / _km_per_deg_lon(lat0)
    return round(lat, 6), round(lon, 6)


def _clamp_to_radius(lat0: float, lon0: float, lat: float, lon: float, max_km: float) -> tuple[float, float]:
    """Pull (lat, lon) towards (lat0, lon0) so it lies within max_km."""
    east, north = _offset_km(lat0, lon0, lat, lon)
    dist = math.hypot(east, north)
    if dist > max_km:
        scale = max_km / dist
        east, north = east * scale, north * scale
    return _move_km(lat0, lon0, east, north)


def _spiral_point(lat0: float, lon0: float, index: int, phase: float) -> tuple[float, float]:
    """Deterministic, bounded golden-angle spiral around a street centre."""
    radius = _COMMUNITY_SPIRAL_KM * math.sqrt((index + 0.5) / (index + 6.5))
    angle = phase + index * _GOLDEN_ANGLE
    return _move_km(lat0, lon0, radius * math.cos(angle), radius * math.sin(angle))


def _phase_for(code: str) -> float:
    return math.radians(int(code) % 360)


# ---------------------------------------------------------------------------
# Code helpers
# ---------------------------------------------------------------------------


def _street_code(district_code: str, kind: StreetKind, index: int) -> str:
    base = 0 if kind == "street" else 100
    return f"{district_code}{base + index + 1:03d}"


def _community_code(street_code: str, kind: CommunityKind, index: int) -> str:
    base = 0 if kind == "community" else 200
    return f"{street_code}{base + index + 1:03d}"


def _community_kind(name: str) -> CommunityKind:
    if name.endswith("社区"):
        return "community"
    if name.endswith("村"):
        return "village"
    raise ValueError(f"cannot infer community kind from name {name!r}")


def _split_demo(names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    communities = [n for n in names if _community_kind(n) == "community"]
    villages = [n for n in names if _community_kind(n) == "village"]
    return communities, villages


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def _street_position(district: DistrictSpec, unit: UnitSpec) -> tuple[float, float]:
    max_km = _STREET_RADIUS_KM[district.kind] * _STREET_CLAMP
    return _clamp_to_radius(district.lat, district.lon, unit.lat, unit.lon, max_km)


def _build_children(
    street_code: str,
    lat: float,
    lon: float,
    community_names: list[str],
    village_names: list[str],
    n_real_communities: int,
    n_real_villages: int,
    rng: random.Random | None,
) -> tuple[CommunitySeed, ...]:
    """Place children on a spiral; real (demo) children are never jittered.

    Real children come first in each list, so demo and full-city trees agree on
    their codes and positions.
    """
    phase = _phase_for(street_code)
    ordered: list[tuple[str, CommunityKind, int, bool]] = []
    # Interleave real children in demo order (communities then villages),
    # followed by synthetic children, so spiral slots are stable.
    for i, name in enumerate(community_names[:n_real_communities]):
        ordered.append((name, "community", i, True))
    for i, name in enumerate(village_names[:n_real_villages]):
        ordered.append((name, "village", i, True))
    for i in range(n_real_communities, len(community_names)):
        ordered.append((community_names[i], "community", i, False))
    for i in range(n_real_villages, len(village_names)):
        ordered.append((village_names[i], "village", i, False))

    result: list[CommunitySeed] = []
    for slot, (name, kind, index, real) in enumerate(ordered):
        c_lat, c_lon = _spiral_point(lat, lon, slot, phase)
        if not real and rng is not None:
            c_lat, c_lon = _move_km(
                c_lat,
                c_lon,
                rng.uniform(-_COMMUNITY_JITTER_KM, _COMMUNITY_JITTER_KM),
                rng.uniform(-_COMMUNITY_JITTER_KM, _COMMUNITY_JITTER_KM),
            )
            c_lat, c_lon = _clamp_to_radius(lat, lon, c_lat, c_lon, _COMMUNITY_CLAMP_KM)
        result.append(
            CommunitySeed(
                code=_community_code(street_code, kind, index),
                name=name,
                kind=kind,
                lat=c_lat,
                lon=c_lon,
            )
        )
    result.sort(key=lambda c: c.code)
    return tuple(result)


def demo_tree() -> tuple[DistrictSeed, ...]:
    """All 10 county-level units with a small slice of real streets/communities."""
    districts: list[DistrictSeed] = []
    for spec in DISTRICTS:
        streets: list[StreetSeed] = []
        for kind, units in (("street", spec.streets), ("town", spec.towns)):
            street_kind: StreetKind = "street" if kind == "street" else "town"
            for index, unit in enumerate(units):
                if not unit.demo:
                    continue
                code = _street_code(spec.code, street_kind, index)
                lat, lon = _street_position(spec, unit)
                communities, villages = _split_demo(unit.demo)
                children = _build_children(
                    code,
                    lat,
                    lon,
                    communities,
                    villages,
                    len(communities),
                    len(villages),
                    None,
                )
                streets.append(
                    StreetSeed(
                        code=code,
                        name=unit.name,
                        kind=street_kind,
                        lat=lat,
                        lon=lon,
                        communities=children,
                    )
                )
        districts.append(
            DistrictSeed(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                lat=spec.lat,
                lon=spec.lon,
                streets=tuple(streets),
            )
        )
    return tuple(districts)


@dataclass
class _Slot:
    """Mutable working record for one street/town while building the city."""

    code: str
    name: str
    kind: StreetKind
    lat: float
    lon: float
    demo_communities: list[str]
    demo_villages: list[str]
    community_weight: float
    village_weight: float


def _allocate(total: int, weights: list[float], minima: list[int]) -> list[int]:
    """Largest-remainder apportionment of `total` with per-item minima."""
    rest = total - sum(minima)
    if rest < 0:
        raise ValueError("minima exceed total")
    weight_sum = sum(weights)
    if weight_sum <= 0:
        if rest:
            raise ValueError("no positive weights to distribute remainder")
        return list(minima)
    quotas = [rest * w / weight_sum for w in weights]
    counts = [math.floor(q) for q in quotas]
    leftover = rest - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], i))
    for i in order[:leftover]:
        counts[i] += 1
    return [m + c for m, c in zip(minima, counts, strict=True)]


def _synthetic_names(rng: random.Random, suffixes: tuple[str, ...], taken: set[str], count: int) -> list[str]:
    pool = [stem + suffix for suffix in suffixes for stem in STEMS]
    rng.shuffle(pool)
    names: list[str] = []
    for name in pool:
        if len(names) == count:
            break
        if name not in taken:
            taken.add(name)
            names.append(name)
    if len(names) < count:
        raise ValueError("synthetic name pool exhausted")
    return names


def _district_slots(spec: DistrictSpec, rng: random.Random) -> list[_Slot]:
    slots: list[_Slot] = []
    radius = _STREET_RADIUS_KM[spec.kind]
    used_names = {u.name for u in (*spec.streets, *spec.towns)}
    plan: tuple[tuple[StreetKind, tuple[UnitSpec, ...], int, str], ...] = (
        ("street", spec.streets, spec.n_streets, "街道"),
        ("town", spec.towns, spec.n_towns, "镇"),
    )
    for kind, units, wanted, suffix in plan:
        if wanted > _MAX_PER_CODE_BLOCK:
            raise ValueError(f"too many {kind}s in {spec.name}")
        real = list(units[:wanted])
        extra = _synthetic_names(rng, (suffix,), used_names, wanted - len(real))
        for index in range(wanted):
            code = _street_code(spec.code, kind, index)
            if index < len(real):
                unit = real[index]
                name = unit.name
                lat, lon = _street_position(spec, unit)
                demo_c, demo_v = _split_demo(unit.demo)
            else:
                name = extra[index - len(real)]
                r = radius * rng.uniform(0.3, 0.85)
                angle = rng.uniform(0.0, 2.0 * math.pi)
                lat, lon = _move_km(spec.lat, spec.lon, r * math.cos(angle), r * math.sin(angle))
                demo_c, demo_v = [], []
            if kind == "street":
                c_weight = 1.4 if spec.urban_core else 1.0
                v_weight = 0.0 if spec.urban_core else 0.5
            else:
                c_weight, v_weight = 0.35, 1.0
            slots.append(
                _Slot(
                    code=code,
                    name=name,
                    kind=kind,
                    lat=lat,
                    lon=lon,
                    demo_communities=demo_c,
                    demo_villages=demo_v,
                    community_weight=c_weight * rng.uniform(0.7, 1.3),
                    village_weight=v_weight * rng.uniform(0.7, 1.3),
                )
            )
    return slots


def city_tree(seed: int = 0) -> tuple[DistrictSeed, ...]:
    """Full-size synthetic Suzhou matching the official 2018-2019 totals.

    Deterministic for a given ``seed``: 37 streets, 53 towns, 1,162
    communities and 1,026 villages.  Real names (those of :func:`demo_tree`
    and other known streets/towns) come first, synthetic names fill the rest.
    """
    rng = random.Random(seed)
    per_district = [_district_slots(spec, rng) for spec in DISTRICTS]
    slots = [slot for group in per_district for slot in group]

    n_streets = sum(1 for s in slots if s.kind == "street")
    n_towns = sum(1 for s in slots if s.kind == "town")
    if (n_streets, n_towns) != (_TOTAL_STREETS, _TOTAL_TOWNS):
        raise AssertionError(f"street/town totals off: {n_streets}/{n_towns}")

    # Every street/town keeps at least one community (its seat).
    community_counts = _allocate(
        _TOTAL_COMMUNITIES,
        [s.community_weight for s in slots],
        [max(1, len(s.demo_communities)) for s in slots],
    )
    village_counts = _allocate(
        _TOTAL_VILLAGES,
        [s.village_weight for s in slots],
        [len(s.demo_villages) for s in slots],
    )

    districts: list[DistrictSeed] = []
    offset = 0
    for spec, group in zip(DISTRICTS, per_district, strict=True):
        streets: list[StreetSeed] = []
        for slot in group:
            n_c = community_counts[offset]
            n_v = village_counts[offset]
            offset += 1
            streets.append(_city_street(slot, n_c, n_v, rng))
        districts.append(
            DistrictSeed(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                lat=spec.lat,
                lon=spec.lon,
                streets=tuple(streets),
            )
        )
    return tuple(districts)


def _city_street(slot: _Slot, n_c: int, n_v: int, rng: random.Random) -> StreetSeed:
    """A street/town of the full city with `n_c` communities and `n_v` villages, its demo names first."""
    if n_c > _MAX_CHILDREN_PER_KIND or n_v > _MAX_CHILDREN_PER_KIND:
        raise ValueError(f"too many children under {slot.name}")
    taken = {*slot.demo_communities, *slot.demo_villages}
    community_names = slot.demo_communities + _synthetic_names(
        rng, COMMUNITY_SUFFIXES, taken, n_c - len(slot.demo_communities)
    )
    village_names = slot.demo_villages + _synthetic_names(rng, VILLAGE_SUFFIXES, taken, n_v - len(slot.demo_villages))
    children = _build_children(
        slot.code,
        slot.lat,
        slot.lon,
        community_names,
        village_names,
        len(slot.demo_communities),
        len(slot.demo_villages),
        rng,
    )
    return StreetSeed(
        code=slot.code,
        name=slot.name,
        kind=slot.kind,
        lat=slot.lat,
        lon=slot.lon,
        communities=children,
    )
