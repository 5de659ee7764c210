"""Phones and offices speak China's map datums: a position from Amap or Baidu lands where it is, not 500 m off."""

from __future__ import annotations

from backend.core.geo import gcj02_to_bd09, wgs84_to_gcj02
from tests.client import offer_for, offset


async def test_a_check_in_from_an_amap_or_baidu_position_at_her_door_is_not_flagged(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.3,))
    elder, phone = world.elders[0], world.caregivers[0]["api"]
    home = (world.home["lat"], world.home["lon"])
    amap = wgs84_to_gcj02(*home)  # what the Amap SDK on her phone reports at the door
    baidu = gcj02_to_bd09(*amap)
    visits = []
    for crs, (lat, lon) in (("gcj02", amap), ("bd09", baidu), ("wgs84", amap)):
        order = {"elder_id": elder["id"], "service_type": "meal"}
        rid = (await admin.ok("POST", "/api/v1/requests", order, 201))["id"]
        await phone.ok("POST", f"/mobile/v1/offers/{(await offer_for(phone, rid))['id']}/accept")
        at_door = {"lat": lat, "lon": lon, "crs": crs, "accuracy_m": 8}
        visits.append((await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-in", at_door))["visit"])
        await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {"notes": "好"})
    amap_visit, baidu_visit, taken_as_gps = visits
    # Stored in WGS-84: within a metre of her home, nothing flagged, whatever map SDK the phone used.
    assert amap_visit["location_flagged"] is False and amap_visit["checkin_distance_m"] < 1
    assert baidu_visit["location_flagged"] is False and baidu_visit["checkin_distance_m"] < 1
    # The same Amap numbers taken as GPS are the old mistake: ~500 m off, flagged.
    assert taken_as_gps["location_flagged"] is True and 300 < taken_as_gps["checkin_distance_m"] < 800


async def test_positions_and_places_in_gcj02_or_bd09_are_stored_as_wgs84(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.3,))
    caregiver = world.caregivers[0]
    spot = offset(world.home["lat"], world.home["lon"], north_km=1.0)
    amap = wgs84_to_gcj02(spot["lat"], spot["lon"])
    me = await caregiver["api"].ok("POST", "/mobile/v1/location", {"lat": amap[0], "lon": amap[1], "crs": "gcj02"})
    assert abs(me["location"]["lat"] - spot["lat"]) < 1e-6 and abs(me["location"]["lon"] - spot["lon"]) < 1e-6
    baidu = gcj02_to_bd09(*amap)
    made = await admin.ok(
        "POST",
        "/api/v1/providers",
        {
            "name": "百度坐标测试",
            "kind": "home_care",
            "location": {"lat": baidu[0], "lon": baidu[1], "crs": "bd09"},
            "community_ids": [world.community["id"]],
            "service_types": ["meal"],
        },
        201,
    )
    assert abs(made["location"]["lat"] - spot["lat"]) < 1e-5 and abs(made["location"]["lon"] - spot["lon"]) < 1e-5
    assert "crs" not in made["location"]  # answers are WGS-84, as they always were
    unknown = {
        "name": "未知坐标系",
        "kind": "home_care",
        "location": {"lat": 31, "lon": 120, "crs": "itrf"},
        "community_ids": [world.community["id"]],
        "service_types": ["meal"],
    }
    assert (await admin.post("/api/v1/providers", unknown)).status_code == 422
