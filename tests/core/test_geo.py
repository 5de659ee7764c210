"""WGS-84 ↔ GCJ-02 ↔ BD-09 against published coordinate pairs."""

from __future__ import annotations

import pytest

from backend.core.geo import bd09_to_gcj02, distance_m, gcj02_to_bd09, gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02

pytestmark = pytest.mark.unit

# (WGS-84 lat, lon) → (GCJ-02 lat, lon): the test vectors of googollee/eviltransform (python/test.py: Shanghai,
# Shenzhen, Beijing) and of wandergis/coordtransform (test/app.js: wgs84togcj02(116.404, 39.915)).
PUBLISHED = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),
]


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED)
def test_wgs84_to_gcj02_gives_the_published_pairs(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    lat, lon = wgs84_to_gcj02(*wgs)
    assert lat == pytest.approx(gcj[0], abs=1e-7) and lon == pytest.approx(gcj[1], abs=1e-7)


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED)
def test_the_iterated_inverse_lands_within_a_millimetre(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    back = gcj02_to_wgs84(*gcj)
    assert distance_m(*back, *wgs) < 0.001
    suzhou = (31.31, 120.62)
    assert distance_m(*gcj02_to_wgs84(*wgs84_to_gcj02(*suzhou)), *suzhou) < 0.001


def test_the_offset_is_hundreds_of_metres_in_china_and_none_outside() -> None:
    assert 300 < distance_m(31.31, 120.62, *wgs84_to_gcj02(31.31, 120.62)) < 800  # Suzhou
    assert wgs84_to_gcj02(48.8566, 2.3522) == (48.8566, 2.3522)  # Paris
    assert gcj02_to_wgs84(48.8566, 2.3522) == (48.8566, 2.3522)


# (lat, lon) pairs of wandergis/coordtransform's test/app.js: bd09togcj02 and gcj02tobd09 of (116.404, 39.915).
def test_bd09_and_gcj02_give_the_published_pairs() -> None:
    assert bd09_to_gcj02(39.915, 116.404) == pytest.approx((39.90865673957631, 116.39762729119315), abs=1e-9)
    assert gcj02_to_bd09(39.915, 116.404) == pytest.approx((39.92133699351021, 116.41036949371029), abs=1e-9)


def test_a_point_in_any_datum_comes_back_to_the_same_wgs84_place() -> None:
    door = (31.31, 120.62)  # Suzhou
    amap = wgs84_to_gcj02(*door)
    baidu = gcj02_to_bd09(*amap)
    assert distance_m(*amap, *door) > 300 and distance_m(*baidu, *door) > 800  # as each app would draw it
    for crs, point in (("wgs84", door), ("gcj02", amap), ("bd09", baidu)):
        assert distance_m(*to_wgs84(*point, crs), *door) < 0.2, crs  # type: ignore[arg-type]  (BD-09: centimetres)
