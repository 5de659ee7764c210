"""Weighted objectives as a dispatcher and a caregiver see them: who gets the offer first, and why in words."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.core.config import DispatchWeights, Settings
from tests.client import Api, World, offset


async def offers_of(api: Api, request_id: int, *, wait_for: int = 1, timeout: float = 20) -> list[dict[str, Any]]:
    """The order's offers once the dispatcher has made ``wait_for`` of them (or the timeout passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found: list[dict[str, Any]] = await api.ok("GET", f"/api/v1/requests/{request_id}/offers")
        if len(found) >= wait_for or loop.time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def order(api: Api, elder: dict[str, Any], **extra: Any) -> int:
    created = await api.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal", **extra}, 201)
    return int(created["id"])


async def serve(
    world: World, api: Api, caregiver: dict[str, Any], elder: dict[str, Any], *, stay: float = 0, **extra: Any
) -> int:
    """An order for the elder that this caregiver (the only one free) takes and finishes; ``stay``: minutes at
    the door, told by the phone's own times (as when it replays a queue kept offline)."""
    rid = await order(api, elder, **extra)
    offers = await offers_of(api, rid)
    assert [o["caregiver_id"] for o in offers] == [caregiver["id"]]
    phone = caregiver["api"]
    await phone.ok("POST", f"/mobile/v1/offers/{offers[0]['id']}/accept")
    now = datetime.now(UTC)
    await phone.ok(
        "POST", f"/mobile/v1/requests/{rid}/en-route", {"at": (now - timedelta(minutes=stay + 5)).isoformat()}
    )
    await phone.ok(
        "POST", f"/mobile/v1/requests/{rid}/check-in", {**world.home, "at": (now - timedelta(minutes=stay)).isoformat()}
    )
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {})
    return rid


def terms(offer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["code"]: t for t in offer["breakdown"]}


async def test_continuity_of_care_outranks_a_slightly_nearer_stranger(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.8,))
    familiar = world.caregivers[0]
    elder = world.elders[0]
    operator = await world.user("operator")
    first = await serve(world, operator, familiar, elder)
    await serve(world, operator, familiar, elder)
    await operator.ok("POST", f"/api/v1/requests/{first}/rating", {"stars": 5, "comment": "很耐心"})
    stranger = await world.add_caregiver(0.5)

    rid = await order(operator, elder)
    offers = await offers_of(operator, rid)
    assert [o["caregiver_id"] for o in offers] == [familiar["id"]]
    why = terms(offers[0])
    assert why["continuity"]["value"] == 2 and why["continuity"]["cost"] < 0
    assert "服务过该老人 2 次" in offers[0]["explanation"]
    # The caregiver's phone shows the same reasons, in words.
    shown = await familiar["api"].ok("GET", "/mobile/v1/offers")
    assert "服务过该老人 2 次" in shown[0]["explanation"]
    assert {t["code"] for t in shown[0]["breakdown"]} >= {"travel", "skill", "continuity", "workload"}
    english = (await familiar["api"].get("/mobile/v1/offers", headers={"Accept-Language": "en"})).json()
    assert "served this elder 2 times" in english[0]["explanation"]
    # The stranger is still a candidate, ranked after.
    ranked = await operator.ok("GET", f"/api/v1/requests/{rid}/candidates")
    assert [c["caregiver_id"] for c in ranked] == [stranger["id"]]


async def test_a_caregiver_the_elder_rated_poorly_is_asked_after_a_farther_one(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    disliked = world.caregivers[0]
    elder = world.elders[0]
    operator = await world.user("operator")
    done = await serve(world, operator, disliked, elder)
    rated = await operator.ok("POST", f"/api/v1/requests/{done}/rating", {"stars": 1, "comment": "态度差"})
    assert rated["visit"]["rating"] == 1
    farther = await world.add_caregiver(1.0)

    rid = await order(operator, elder)
    offers = await offers_of(operator, rid)
    assert [o["caregiver_id"] for o in offers] == [farther["id"]]
    ranked = await operator.ok("GET", f"/api/v1/requests/{rid}/candidates")
    assert [c["caregiver_id"] for c in ranked] == [disliked["id"]]
    assert "被该老人差评 1 次" in ranked[0]["explanation"]


async def test_the_elders_preferred_caregiver_and_language_rank_first(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    nearest = world.caregivers[0]
    suzhou = await world.add_caregiver(1.2, languages=("mandarin", "suzhounese"))
    chosen = await world.add_caregiver(2.0)
    elder = world.elders[0]
    operator = await world.user("operator")

    # An elder at home in 苏州话: the Suzhounese speaker 1.2 km away is asked before the Mandarin one at 0.5 km.
    wish = await operator.ok("PATCH", f"/api/v1/elders/{elder['id']}", {"language": "suzhounese"})
    assert wish["language"] == "suzhounese" and wish["preferred_caregiver_id"] is None
    rid = await order(operator, elder)
    offers = await offers_of(operator, rid)
    assert [o["caregiver_id"] for o in offers] == [suzhou["id"]]
    assert "会说苏州话" in offers[0]["explanation"]
    await operator.ok("POST", f"/api/v1/requests/{rid}/cancel", {"reason": "老人改约"})

    # The elder names a caregiver: they are asked first even from 2 km.
    await operator.ok("PATCH", f"/api/v1/elders/{elder['id']}", {"preferred_caregiver_id": chosen["id"]})
    rid = await order(operator, elder)
    offers = await offers_of(operator, rid)
    assert [o["caregiver_id"] for o in offers] == [chosen["id"]]
    assert terms(offers[0])["preferred"]["text"] == "老人指定的护理员"
    ranked = await operator.ok("GET", f"/api/v1/requests/{rid}/candidates")
    assert [c["caregiver_id"] for c in ranked] == [suzhou["id"], nearest["id"]]
    assert ranked[0]["score"] < ranked[1]["score"]


async def test_elder_wishes_are_checked(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    elder, caregiver = world.elders[0], world.caregivers[0]
    staff = await world.user("community_staff", community_id=world.community["id"])
    path = f"/api/v1/elders/{elder['id']}"
    await staff.ok("POST", f"{path}/blocked-caregivers", {"caregiver_id": caregiver["id"]}, 201)
    blocked = await staff.http.patch(path, json={"preferred_caregiver_id": caregiver["id"]})
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "preferred_caregiver_blocked"
    unknown = await staff.http.patch(path, json={"preferred_caregiver_id": 10**9})
    assert unknown.status_code == 422
    dialect = await staff.http.patch(path, json={"language": "klingon"})
    assert dialect.status_code == 422
    after = await staff.ok("GET", path)
    assert after["preferred_caregiver_id"] is None and after["language"] is None
    # Another community's staff may not change this elder's wishes.
    other = await World.build(stack.base_url, admin, caregivers_km=())
    outsider = await other.user("community_staff", community_id=other.community["id"])
    denied = await outsider.http.patch(path, json={"language": "mandarin"})
    assert denied.status_code in (403, 404)
    await other.close()


async def test_ratings_only_after_the_visit_and_only_once(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver, elder = world.caregivers[0], world.elders[0]
    operator = await world.user("operator")
    rid = await order(operator, elder)
    early = await operator.post(f"/api/v1/requests/{rid}/rating", {"stars": 4})
    assert early.status_code == 409 and early.json()["error"]["code"] == "visit_not_finished"
    offers = await offers_of(operator, rid)
    phone = caregiver["api"]
    await phone.ok("POST", f"/mobile/v1/offers/{offers[0]['id']}/accept")
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/en-route")
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-in", world.home)
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {})
    too_many = await operator.post(f"/api/v1/requests/{rid}/rating", {"stars": 6})
    assert too_many.status_code == 422
    by_caregiver = await phone.post(f"/api/v1/requests/{rid}/rating", {"stars": 5})
    assert by_caregiver.status_code in (403, 404)
    rated = await operator.ok("POST", f"/api/v1/requests/{rid}/rating", {"stars": 4, "comment": "准时"})
    assert rated["visit"]["rating"] == 4 and rated["visit"]["rating_comment"] == "准时"
    again = await operator.post(f"/api/v1/requests/{rid}/rating", {"stars": 1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"


async def test_government_paid_orders_lean_toward_providers_below_their_fair_share(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    busy_provider_worker = world.caregivers[0]
    elder = world.elders[0]
    operator = await world.user("operator")
    # The world's provider takes a government-paid order, then that caregiver goes off shift.
    await serve(world, operator, busy_provider_worker, elder, paid_by="government")
    await busy_provider_worker["api"].ok("POST", "/mobile/v1/shift", {"on_shift": False})
    near = await world.add_caregiver(0.5)
    other = await admin.ok(
        "POST",
        "/api/v1/providers",
        {
            "name": "另一家居家养老服务中心",
            "kind": "home_care",
            "community_ids": [world.community["id"]],
            "service_types": ["meal"],
            "location": world.home,
        },
        201,
    )
    await world.insure(other["id"])
    farther = await world.add_caregiver(1.5, provider_id=other["id"])

    fairness = await operator.ok("GET", "/api/v1/dispatch/fairness")
    shares = {p["provider_id"]: p for p in fairness["providers"]}
    assert shares[world.provider["id"]]["orders"] >= 1 and shares[world.provider["id"]]["gap_points"] < 0
    assert shares[other["id"]]["orders"] == 0 and shares[other["id"]]["gap_points"] > 0
    assert 0 < fairness["gini"] <= 1
    # The gaps depend on every provider in the city: put the farther caregiver as much farther as half of
    # what fairness is worth between the two providers, in minutes of travel.
    weights, defaults = DispatchWeights(), Settings.model_fields
    worth = sum(
        sign * weights.fairness_per_point * max(-weights.fairness_max_points, min(weights.fairness_max_points, gap))
        for sign, gap in ((1, shares[other["id"]]["gap_points"]), (-1, shares[world.provider["id"]]["gap_points"]))
    )
    km_per_minute = defaults["travel_speed_kmh"].default / 60 / defaults["road_factor"].default
    place = offset(world.home["lat"], world.home["lon"], east_km=0.5 + worth / 2 * km_per_minute)
    await farther["api"].ok("POST", "/mobile/v1/location", place)

    # A self-paid order goes to the nearest caregiver; fairness does not enter.
    paid_self = await order(operator, elder, paid_by="self")
    offers = await offers_of(operator, paid_self)
    assert [o["caregiver_id"] for o in offers] == [near["id"]] and "fairness" not in terms(offers[0])
    await operator.ok("POST", f"/api/v1/requests/{paid_self}/cancel", {})

    # Public money goes to the provider below its fair share, and the offer says so.
    public = await order(operator, elder, paid_by="government")
    offers = await offers_of(operator, public)
    assert [o["caregiver_id"] for o in offers] == [farther["id"]]
    assert "低于公平份额" in offers[0]["explanation"]
    assert offers[0]["score"] is not None
    assert (await operator.ok("GET", f"/api/v1/requests/{public}"))["paid_by"] == "government"


async def test_only_staff_file_government_paid_orders_and_only_operators_read_fairness(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=(0.5,))
    staff = await world.user("community_staff", community_id=world.community["id"])
    assert (await staff.get("/api/v1/dispatch/fairness")).status_code == 403
    elder = world.elders[0]
    # Elders cannot spend public money on their own.
    elder_app = await world.user("elder", elder_id=elder["id"])
    denied = await elder_app.post(
        "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal", "paid_by": "government"}
    )
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "government_pay_forbidden"
    bad = await staff.post("/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal", "paid_by": "city"})
    assert bad.status_code == 422
    mine = await staff.ok("GET", f"/api/v1/requests?community_id={world.community['id']}")
    assert mine == []
