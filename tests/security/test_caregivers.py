"""One rule for a caregiver's phone number and live position (finding 18), the same on every route."""

from __future__ import annotations

from typing import Any

from tests.client import Api


def _row(view: dict[str, Any], caregiver_id: int) -> dict[str, Any]:
    return next(c for c in view["caregivers"] if c["id"] == caregiver_id)


async def test_who_sees_a_caregivers_number_and_position_and_when(stack, admin, make_world) -> None:
    world, elsewhere = await make_world(), await make_world()
    caregiver = world.caregivers[0]
    cid, whole = caregiver["id"], caregiver["phone"]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    district_staff = await world.user("community_staff", district_id=world.district["id"])
    stranger = await elsewhere.user("community_staff", district_id=elsewhere.district["id"])
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    rival = await elsewhere.user("provider_admin", provider_id=elsewhere.provider["id"])
    area = f"/api/v1/dashboard/caregivers?community_id={world.community['id']}&everyone=true"

    async def seen(api: Api) -> dict[str, Any]:
        return dict(await api.ok("GET", f"/api/v1/caregivers/{cid}"))

    # On duty: the hotline sees number and position; area staff the position and a masked number.
    on = {who: await seen(api) for who, api in (("op", operator), ("staff", staff), ("district", district_staff))}
    assert on["op"]["phone"] == whole and on["op"]["location"] is not None
    for who in ("staff", "district"):
        assert on[who]["phone"] != whole and "****" in on[who]["phone"] and on[who]["location"] is not None
    assert _row(await operator.ok("GET", area), cid)["phone"] == whole
    assert "****" in _row(await staff.ok("GET", area), cid)["phone"]
    for api in (admin, boss, caregiver["api"]):
        mine = await seen(api)
        assert mine["phone"] == whole and mine["location"] is not None
    assert (await stranger.get(f"/api/v1/caregivers/{cid}")).status_code == 403  # another district's staff
    assert (await rival.get(f"/api/v1/caregivers/{cid}")).status_code == 403

    # Off duty: neither the number (to the hotline) nor where they are (to anyone but themselves and employer).
    await caregiver["api"].ok("POST", "/mobile/v1/shift", {"on_shift": False})
    for api in (operator, staff, district_staff):
        off = await seen(api)
        assert off["location"] is None and "****" in off["phone"]
        row = _row(await api.ok("GET", area), cid)
        assert (row["lat"], row["lon"]) == (None, None) and "****" in row["phone"]
    for api in (admin, boss):
        assert (await seen(api))["location"] is not None
    await caregiver["api"].ok("POST", "/mobile/v1/shift", {"on_shift": True})
