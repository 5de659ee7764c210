"""Tests for the Suzhou administrative-division seed data."""

from __future__ import annotations

import math

import pytest

from backend.areas.suzhou import (
    SUZHOU_BOUNDS,
    CommunitySeed,
    DistrictSeed,
    StreetSeed,
    city_tree,
    demo_tree,
)

pytestmark = pytest.mark.unit

EXPECTED_DISTRICTS: dict[str, tuple[str, str, float, float]] = {
    "姑苏区": ("320508", "district", 31.31, 120.62),
    "苏州高新区(虎丘区)": ("320505", "district", 31.30, 120.54),
    "吴中区": ("320506", "district", 31.26, 120.63),
    "相城区": ("320507", "district", 31.37, 120.64),
    "吴江区": ("320509", "district", 31.14, 120.65),
    "苏州工业园区": ("320571", "district", 31.32, 120.72),
    "张家港市": ("320582", "county_city", 31.88, 120.56),
    "常熟市": ("320581", "county_city", 31.65, 120.75),
    "太仓市": ("320585", "county_city", 31.46, 121.13),
    "昆山市": ("320583", "county_city", 31.39, 120.98),
}

STREET_RADIUS_KM = {"district": 6.0, "county_city": 12.0}
COMMUNITY_RADIUS_KM = 1.5


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def in_bounds(lat: float, lon: float) -> bool:
    min_lat, min_lon, max_lat, max_lon = SUZHOU_BOUNDS
    return min_lat < lat < max_lat and min_lon < lon < max_lon


def all_streets(tree: tuple[DistrictSeed, ...]) -> list[StreetSeed]:
    return [s for d in tree for s in d.streets]


def all_communities(tree: tuple[DistrictSeed, ...]) -> list[CommunitySeed]:
    return [c for s in all_streets(tree) for c in s.communities]


@pytest.fixture(scope="module")
def city() -> tuple[DistrictSeed, ...]:
    return city_tree()


@pytest.fixture(scope="module")
def demo() -> tuple[DistrictSeed, ...]:
    return demo_tree()


TREES = ["demo", "city"]


def test_bounds_shape() -> None:
    min_lat, min_lon, max_lat, max_lon = SUZHOU_BOUNDS
    assert 30.7 <= min_lat < 30.8 and 32.0 <= max_lat <= 32.1
    assert 119.85 <= min_lon < 119.95 and 121.35 <= max_lon <= 121.45


@pytest.mark.parametrize("which", TREES)
def test_districts_exact(which: str, request: pytest.FixtureRequest) -> None:
    tree: tuple[DistrictSeed, ...] = request.getfixturevalue(which)
    assert len(tree) == 10
    by_name = {d.name: d for d in tree}
    assert set(by_name) == set(EXPECTED_DISTRICTS)
    for name, (code, kind, lat, lon) in EXPECTED_DISTRICTS.items():
        d = by_name[name]
        assert d.code == code
        assert d.kind == kind
        assert d.lat == pytest.approx(lat, abs=0.01)
        assert d.lon == pytest.approx(lon, abs=0.01)
        assert d.streets, f"{name} has no streets/towns"


def test_city_totals(city: tuple[DistrictSeed, ...]) -> None:
    streets = all_streets(city)
    assert sum(1 for s in streets if s.kind == "street") == 37
    assert sum(1 for s in streets if s.kind == "town") == 53
    communities = all_communities(city)
    assert sum(1 for c in communities if c.kind == "community") == 1162
    assert sum(1 for c in communities if c.kind == "village") == 1026


def test_city_plausible_split(city: tuple[DistrictSeed, ...]) -> None:
    by_name = {d.name: d for d in city}
    gusu = by_name["姑苏区"]
    assert all(s.kind == "street" for s in gusu.streets)
    assert all(c.kind == "community" for s in gusu.streets for c in s.communities)
    for d in city:
        n_streets = sum(1 for s in d.streets if s.kind == "street")
        n_towns = sum(1 for s in d.streets if s.kind == "town")
        if d.kind == "county_city":
            assert n_towns > n_streets
        for s in d.streets:
            assert s.communities, f"{s.name} has no communities"
            # Every street/town has at least one urban community (its seat).
            assert any(c.kind == "community" for c in s.communities)


@pytest.mark.parametrize("which", TREES)
def test_kinds_match_names(which: str, request: pytest.FixtureRequest) -> None:
    tree: tuple[DistrictSeed, ...] = request.getfixturevalue(which)
    for d in tree:
        assert d.name.endswith("市") == (d.kind == "county_city")
    for s in all_streets(tree):
        assert s.name.endswith("街道" if s.kind == "street" else "镇")
    for c in all_communities(tree):
        assert c.name.endswith("社区" if c.kind == "community" else "村")


@pytest.mark.parametrize("which", TREES)
def test_codes_unique_and_prefixed(which: str, request: pytest.FixtureRequest) -> None:
    tree: tuple[DistrictSeed, ...] = request.getfixturevalue(which)
    codes: list[str] = []
    for d in tree:
        assert len(d.code) == 6 and d.code.isdigit()
        codes.append(d.code)
        for s in d.streets:
            assert len(s.code) == 9 and s.code.isdigit()
            assert s.code.startswith(d.code)
            codes.append(s.code)
            for c in s.communities:
                assert len(c.code) == 12 and c.code.isdigit()
                assert c.code.startswith(s.code)
                codes.append(c.code)
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("which", TREES)
def test_names_unique_within_parent(which: str, request: pytest.FixtureRequest) -> None:
    tree: tuple[DistrictSeed, ...] = request.getfixturevalue(which)
    for d in tree:
        street_names = [s.name for s in d.streets]
        assert len(street_names) == len(set(street_names)), d.name
        for s in d.streets:
            names = [c.name for c in s.communities]
            assert len(names) == len(set(names)), s.name


@pytest.mark.parametrize("which", TREES)
def test_points_inside_bounds_and_near_parent(which: str, request: pytest.FixtureRequest) -> None:
    tree: tuple[DistrictSeed, ...] = request.getfixturevalue(which)
    for d in tree:
        assert in_bounds(d.lat, d.lon), d.name
        street_limit = STREET_RADIUS_KM[d.kind]
        for s in d.streets:
            assert in_bounds(s.lat, s.lon), s.name
            assert haversine_km(d.lat, d.lon, s.lat, s.lon) <= street_limit, s.name
            for c in s.communities:
                assert in_bounds(c.lat, c.lon), c.name
                assert haversine_km(s.lat, s.lon, c.lat, c.lon) <= COMMUNITY_RADIUS_KM
                assert haversine_km(d.lat, d.lon, c.lat, c.lon) <= street_limit + COMMUNITY_RADIUS_KM


def test_demo_tree_slice(demo: tuple[DistrictSeed, ...]) -> None:
    communities = all_communities(demo)
    assert 40 <= len(communities) <= 70
    for d in demo:
        assert 1 <= len(d.streets) <= 3, d.name
        assert any(s.communities for s in d.streets), d.name
        for s in d.streets:
            assert 2 <= len(s.communities) <= 4, s.name
    gusu = next(d for d in demo if d.name == "姑苏区")
    pingjiang = next(s for s in gusu.streets if s.name == "平江街道")
    assert "平江新村社区" in {c.name for c in pingjiang.communities}


def test_demo_is_subset_of_city(demo: tuple[DistrictSeed, ...], city: tuple[DistrictSeed, ...]) -> None:
    city_streets = {s.code: s for s in all_streets(city)}
    city_communities = {c.code: c for c in all_communities(city)}
    for s in all_streets(demo):
        assert city_streets[s.code].name == s.name
        for c in s.communities:
            assert city_communities[c.code] == c


def test_determinism() -> None:
    assert demo_tree() == demo_tree()
    assert city_tree(0) == city_tree(0)
    assert city_tree(7) == city_tree(7)
    assert city_tree() == city_tree(0)


def test_seed_changes_output_but_not_totals() -> None:
    a, b = city_tree(1), city_tree(2)
    assert a != b
    for tree in (a, b):
        communities = all_communities(tree)
        assert sum(1 for c in communities if c.kind == "community") == 1162
        assert sum(1 for c in communities if c.kind == "village") == 1026
        assert len(all_streets(tree)) == 90
