"""Two-caregiver services (卧床助浴): offered to two people, accepted only when both said yes, served together."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.client import Api, Ws
from tests.e2e.test_scoring import offers_of

CREW_SKILLS = ("meal", "bed_bathing")


async def bed_bath(api: Api, elder: dict[str, Any]) -> int:
    body = {"elder_id": elder["id"], "service_type": "bed_bathing"}
    return int((await api.ok("POST", "/api/v1/requests", body, 201))["id"])


async def pending(api: Api, request_id: int, *, wait_for: int) -> list[dict[str, Any]]:
    """The order's open offers, once there are ``wait_for`` of them."""
    for _ in range(100):
        found = [o for o in await api.ok("GET", f"/api/v1/requests/{request_id}/offers") if o["status"] == "pending"]
        if len(found) >= wait_for:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"order {request_id} never had {wait_for} open offers")


async def status_of(api: Api, request_id: int, wanted: str) -> dict[str, Any]:
    for _ in range(100):
        order = await api.ok("GET", f"/api/v1/requests/{request_id}")
        if order["status"] == wanted:
            return order
        await asyncio.sleep(0.2)
    raise AssertionError(f"order {request_id} stayed {order['status']}, never {wanted}")


async def test_a_two_caregiver_visit_is_accepted_once_both_accept_and_served_together(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 0.8, 2.0), skills=CREW_SKILLS)
    near, next_near, far = world.caregivers
    operator = await world.user("operator")
    listed = {t["code"]: t for t in await operator.ok("GET", "/api/v1/service-types")}
    assert listed["bed_bathing"]["caregivers_needed"] == 2 and listed["meal"]["caregivers_needed"] == 1

    rid = await bed_bath(operator, world.elders[0])
    watcher = await Ws.connect(stack.base_url, operator.token)
    await watcher.subscribe(f"request:{rid}", since=0)
    # Both seats are offered at once, to the two nearest, and each offer says a colleague comes too.
    offers = await offers_of(operator, rid, wait_for=2)
    assert sorted(o["caregiver_id"] for o in offers) == sorted([near["id"], next_near["id"]])
    mine = {c["id"]: (await c["api"].ok("GET", "/mobile/v1/offers"))[0] for c in (near, next_near)}
    assert all("双人服务" in o["explanation"] for o in mine.values())

    # The first yes holds their time but does not make the order theirs yet.
    joined = await near["api"].ok("POST", f"/mobile/v1/offers/{mine[near['id']]['id']}/accept")
    assert joined["status"] == "offered" and joined["crew"] == [near["id"]] and joined["caregivers_needed"] == 2
    assert joined["assigned_caregiver_id"] is None
    event = await watcher.wait_event("request.crew", request_id=rid)
    assert event["data"]["crew"] == [near["id"]] and event["data"]["needed"] == 2
    assert await near["api"].ok("GET", "/mobile/v1/requests") == []  # nothing to set off for yet
    early = await near["api"].post(f"/mobile/v1/requests/{rid}/en-route")
    assert early.status_code == 404

    # The second yes completes the crew: the order is accepted by both.
    both = await next_near["api"].ok("POST", f"/mobile/v1/offers/{mine[next_near['id']]['id']}/accept")
    assert both["status"] == "accepted"
    assert (both["assigned_caregiver_id"], both["partner_caregiver_id"]) == (near["id"], next_near["id"])
    assert both["crew"] == [near["id"], next_near["id"]]
    await watcher.wait_status(rid, "accepted")
    assert all(o["status"] == "accepted" for o in await operator.ok("GET", f"/api/v1/requests/{rid}/offers"))
    assert await far["api"].ok("GET", "/mobile/v1/offers") == []

    # Both see it on their phones; either may act for the crew.
    for member in (near, next_near):
        assert [r["id"] for r in await member["api"].ok("GET", "/mobile/v1/requests")] == [rid]
    await next_near["api"].ok("POST", f"/mobile/v1/requests/{rid}/en-route")
    await near["api"].ok("POST", f"/mobile/v1/requests/{rid}/check-in", world.home)

    # While they serve, a meal order for a neighbour goes to the third caregiver: both are busy.
    neighbour = await world.add_elder(east_km=0.6)
    meal = await operator.ok("POST", "/api/v1/requests", {"elder_id": neighbour["id"], "service_type": "meal"}, 201)
    assert [o["caregiver_id"] for o in await offers_of(operator, meal["id"])] == [far["id"]]
    done = await next_near["api"].ok("POST", f"/mobile/v1/requests/{rid}/check-out", {})
    assert done["status"] == "completed"
    await watcher.close()


async def test_with_one_caregiver_left_the_operator_completes_the_crew_by_hand(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,), skills=CREW_SKILLS)
    (alone,) = world.caregivers
    operator = await world.user("operator")
    rid = await bed_bath(operator, world.elders[0])
    (offer,) = await pending(operator, rid, wait_for=1)
    assert offer["caregiver_id"] == alone["id"]
    await alone["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")

    # Nobody else can be the second: the order goes to an operator, never to one caregiver alone.
    escalated = await status_of(operator, rid, "escalated")
    assert escalated["crew"] == [alone["id"]] and escalated["assigned_caregiver_id"] is None
    nearby = await operator.ok("GET", f"/api/v1/requests/{rid}/nearby-caregivers")
    why = {n["caregiver_id"]: [e["code"] for e in n["excluded_by"]] for n in nearby}
    assert why[alone["id"]] == []  # her own order is not "an overlapping visit": she is on its crew
    assert {n["caregiver_id"]: n["on_this_order"] for n in nearby}[alone["id"]] == "crew"
    twice = await operator.post(f"/api/v1/requests/{rid}/assign", {"caregiver_id": alone["id"]})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_on_crew"

    # The operator reaches a colleague from another team and assigns them: now it is accepted.
    helper = await world.add_caregiver(3.0, skills=CREW_SKILLS)
    done = await operator.ok("POST", f"/api/v1/requests/{rid}/assign", {"caregiver_id": helper["id"]})
    assert done["status"] == "accepted"
    assert (done["assigned_caregiver_id"], done["partner_caregiver_id"]) == (alone["id"], helper["id"])
    assert done["escalation_reason"] is None


async def test_a_decline_or_an_absence_reopens_only_the_missing_seat(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 0.8, 1.5, 2.5), skills=CREW_SKILLS)
    first, second, third, fourth = world.caregivers
    operator = await world.user("operator")
    rid = await bed_bath(operator, world.elders[0])
    offers = {o["caregiver_id"]: o for o in await pending(operator, rid, wait_for=2)}
    assert sorted(offers) == sorted([first["id"], second["id"]])
    await first["api"].ok("POST", f"/mobile/v1/offers/{offers[first['id']]['id']}/accept")
    await second["api"].ok("POST", f"/mobile/v1/offers/{offers[second['id']]['id']}/decline", {"reason": "腰伤"})

    # The seat the second turned down goes to the next nearest; the first keeps theirs.
    (reoffer,) = await pending(operator, rid, wait_for=1)
    assert reoffer["caregiver_id"] == third["id"]
    await third["api"].ok("POST", f"/mobile/v1/offers/{reoffer['id']}/accept")
    order = await status_of(operator, rid, "accepted")
    assert (order["assigned_caregiver_id"], order["partner_caregiver_id"]) == (first["id"], third["id"])

    # The partner calls in sick: only their seat is dispatched again, the first stays on the visit.
    absent = await third["api"].ok("POST", "/mobile/v1/absence", {"reason": "发烧"})
    assert absent["redispatched"] == [rid]
    (refill,) = await pending(operator, rid, wait_for=1)
    assert refill["caregiver_id"] == fourth["id"]
    reopened = await operator.ok("GET", f"/api/v1/requests/{rid}")
    assert reopened["status"] == "offered" and reopened["crew"] == [first["id"]]
    await fourth["api"].ok("POST", f"/mobile/v1/offers/{refill['id']}/accept")
    order = await status_of(operator, rid, "accepted")
    assert (order["assigned_caregiver_id"], order["partner_caregiver_id"]) == (first["id"], fourth["id"])


async def test_after_an_absence_the_freed_seat_of_a_one_caregiver_order_can_be_taken(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 1.0))
    first, second = world.caregivers
    operator = await world.user("operator")
    rid = int(
        (
            await operator.ok(
                "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
            )
        )["id"]
    )
    (offer,) = await pending(operator, rid, wait_for=1)
    assert offer["caregiver_id"] == first["id"]
    await first["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    assert (await first["api"].ok("POST", "/mobile/v1/absence", {}))["redispatched"] == [rid]
    (again,) = await pending(operator, rid, wait_for=1)
    assert again["caregiver_id"] == second["id"]
    taken = await second["api"].ok("POST", f"/mobile/v1/offers/{again['id']}/accept")
    assert taken["status"] == "accepted" and taken["assigned_caregiver_id"] == second["id"]
    statuses = {o["caregiver_id"]: o["status"] for o in await operator.ok("GET", f"/api/v1/requests/{rid}/offers")}
    assert statuses == {first["id"]: "released", second["id"]: "accepted"}
