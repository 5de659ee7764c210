"""Recurring service plans: tomorrow's visits generated, routed by the day planner, published to phones."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from backend.core.i18n import LOCAL_TZ
from tests.client import Ws


def tomorrow() -> str:
    return (datetime.now(LOCAL_TZ) + timedelta(days=1)).date().isoformat()


async def test_plans_become_tomorrows_routes_on_the_caregivers_phones(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 2.0))
    near, far = world.caregivers
    first, second, third = world.elders[0], await world.add_elder(east_km=1.0), await world.add_elder(east_km=1.5)
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    provider = world.provider["id"]

    # Meal help every day at 11:00 and 11:30, bathing at 15:00; cleaning, which nobody here is skilled for.
    plans = [
        (first, "meal", "11:00"),
        (second, "meal", "11:30"),
        (third, "bathing", "15:00"),
        (third, "cleaning", "09:00"),
    ]
    for elder, service, at in plans:
        body = {"provider_id": provider, "service_type": service, "weekdays": [1, 2, 3, 4, 5, 6, 7], "time": at}
        plan = await staff.ok("POST", f"/api/v1/elders/{elder['id']}/plans", body, 201)
        assert plan["time"] == at and plan["paid_by"] == "government" and plan["active"] is True
    listed = await staff.ok("GET", f"/api/v1/elders/{third['id']}/plans")
    assert [p["service_type"] for p in listed] == ["bathing", "cleaning"]

    # The evening job, by hand: tomorrow's visits exist once, however often it runs, and wait for the planner.
    made = await operator.ok("POST", "/api/v1/plans/generate", {"day": tomorrow()})
    assert len(made["created"]) == 4
    assert (await operator.ok("POST", "/api/v1/plans/generate", {"day": tomorrow()}))["created"] == []
    await asyncio.sleep(1.5)  # several scheduler sweeps: planned visits are not dispatched one by one
    for rid in made["created"]:
        visit = await operator.ok("GET", f"/api/v1/requests/{rid}")
        assert visit["status"] == "new" and visit["window_start"]

    phones = {}
    for caregiver in (near, far):
        phones[caregiver["id"]] = await Ws.connect(stack.base_url, caregiver["api"].token, "/mobile/v1/ws")
        await phones[caregiver["id"]].subscribe(f"caregiver:{caregiver['id']}")
    plan = await operator.ok("POST", "/api/v1/plans/plan-day", {"day": tomorrow(), "seconds": 1})
    assert plan["planned"] == 3
    cleaning = made["created"][3]
    assert plan["to_dispatcher"] == [cleaning]
    planned = {v["request_id"]: (route["caregiver_id"], v) for route in plan["routes"] for v in route["visits"]}
    assert sorted(planned) == sorted(made["created"][:3])
    for rid, (caregiver_id, visit) in planned.items():
        order = await operator.ok("GET", f"/api/v1/requests/{rid}")
        assert order["status"] == "accepted" and order["assigned_caregiver_id"] == caregiver_id
        assert order["history"][-1]["by"] == "system:planner"
        arrival = datetime.fromisoformat(visit["arrival"])
        assert datetime.fromisoformat(order["window_start"]) <= arrival <= datetime.fromisoformat(order["window_end"])
    # Each caregiver's phone gets their route, in visiting order.
    for route in plan["routes"]:
        event = await phones[route["caregiver_id"]].wait_event("plan.published", day=tomorrow())
        assert [v["request_id"] for v in event["data"]["visits"]] == [v["request_id"] for v in route["visits"]]
    # The cleaning visit went to the dispatcher (and, with nobody skilled, to an operator).
    for _ in range(50):
        if (await operator.ok("GET", f"/api/v1/requests/{cleaning}"))["status"] == "escalated":
            break
        await asyncio.sleep(0.2)
    assert (await operator.ok("GET", f"/api/v1/requests/{cleaning}"))["status"] == "escalated"
    # Planning again changes nothing: every visit is taken.
    again = await operator.ok("POST", "/api/v1/plans/plan-day", {"day": tomorrow(), "seconds": 1})
    assert again["planned"] == 0 and again["routes"] == []
    for ws in phones.values():
        await ws.close()


async def test_plans_are_checked(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    elder = world.elders[0]
    staff = await world.user("community_staff", community_id=world.community["id"])
    path = f"/api/v1/elders/{elder['id']}/plans"
    good = {"provider_id": world.provider["id"], "service_type": "meal", "weekdays": [2], "time": "11:00"}
    for bad in (
        {**good, "weekdays": [8]},
        {**good, "weekdays": []},
        {**good, "time": "25:00"},
        {**good, "window_minutes": 5},
        {**good, "service_type": "flying"},
    ):
        assert (await staff.post(path, bad)).status_code == 422, bad
    elsewhere = await world.admin.ok(
        "POST",
        "/api/v1/providers",
        {
            "name": "别处的服务中心",
            "kind": "home_care",
            "community_ids": [(await make_world(caregivers_km=())).community["id"]],
            "service_types": ["meal"],
            "location": world.home,
        },
        201,
    )
    refused = await staff.post(path, {**good, "provider_id": elsewhere["id"]})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "provider_cannot_serve"
    backwards = await staff.post(path, {**good, "starts_on": "2027-02-01", "ends_on": "2027-01-01"})
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "invalid_dates"
    assert await staff.ok("GET", path) == []
    plan = await staff.ok("POST", path, good, 201)
    ended = await staff.ok("POST", f"/api/v1/plans/{plan['id']}/end")
    assert ended["active"] is False
    caregiver = world.caregivers[0]["api"]
    assert (await caregiver.post("/api/v1/plans/generate", {"day": tomorrow()})).status_code == 403
    assert (await staff.post("/api/v1/plans/plan-day", {"day": tomorrow()})).status_code == 403


async def test_a_caregiver_calling_in_sick_hands_their_planned_visits_to_a_colleague(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 2.0))
    first, second = world.elders[0], await world.add_elder(east_km=1.0)
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    for elder, service, at in ((first, "meal", "11:00"), (second, "bathing", "15:00")):
        body = {"provider_id": world.provider["id"], "service_type": service, "weekdays": list(range(1, 8)), "time": at}
        await staff.ok("POST", f"/api/v1/elders/{elder['id']}/plans", body, 201)
    await operator.ok("POST", "/api/v1/plans/generate", {"day": tomorrow()})
    plan = await operator.ok("POST", "/api/v1/plans/plan-day", {"day": tomorrow(), "seconds": 1})
    assert plan["planned"] == 2
    sick_id = plan["routes"][0]["caregiver_id"]
    sick = next(c for c in world.caregivers if c["id"] == sick_id)
    colleague = next(c for c in world.caregivers if c["id"] != sick_id)
    theirs = [v["request_id"] for v in plan["routes"][0]["visits"]]

    # Community staff may not report for a provider's caregiver; the caregiver may, from the phone.
    assert (await staff.post(f"/api/v1/caregivers/{sick_id}/absence", {})).status_code in (403, 404)
    until = (datetime.now(LOCAL_TZ) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert (await sick["api"].post("/mobile/v1/absence", {"until": "2020-01-01T00:00:00+08:00"})).status_code == 422
    reported = await sick["api"].ok("POST", "/mobile/v1/absence", {"reason": "发烧", "until": until.isoformat()})
    assert reported["on_shift"] is False and sorted(reported["redispatched"]) == sorted(theirs)
    assert datetime.fromisoformat(reported["absent_until"]) == until
    waiting = set(theirs)
    for _ in range(150):  # the colleague holds one offer at a time: the visits come to their phone in turn
        for offer in await colleague["api"].ok("GET", "/mobile/v1/offers"):
            if offer["request_id"] in waiting:
                taken = await colleague["api"].post(f"/mobile/v1/offers/{offer['id']}/accept")
                if taken.status_code == 200:
                    waiting.discard(offer["request_id"])
        if not waiting:
            break
        await asyncio.sleep(0.2)
    assert not waiting
    for rid in theirs:
        offered_to = {o["caregiver_id"] for o in await operator.ok("GET", f"/api/v1/requests/{rid}/offers")}
        assert offered_to == {colleague["id"]}  # never back to the caregiver who is ill
        order = await operator.ok("GET", f"/api/v1/requests/{rid}")
        assert order["assigned_caregiver_id"] == colleague["id"]
        assert any("报告护理员请假：发烧" in (h["reason"] or "") for h in order["history"])
    me = await sick["api"].ok("GET", "/mobile/v1/me")
    assert me["on_shift"] is False


async def test_a_two_caregiver_visit_is_planned_on_two_routes_at_the_same_time(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 1.0, 1.5), skills=("meal", "bed_bathing"))
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    bathed, fed = world.elders[0], await world.add_elder(east_km=1.0)
    for elder, service, at in ((bathed, "bed_bathing", "10:00"), (fed, "meal", "10:30")):
        body = {"provider_id": world.provider["id"], "service_type": service, "weekdays": list(range(1, 8)), "time": at}
        await staff.ok("POST", f"/api/v1/elders/{elder['id']}/plans", body, 201)
    bath, meal = (await operator.ok("POST", "/api/v1/plans/generate", {"day": tomorrow()}))["created"]
    plan = await operator.ok("POST", "/api/v1/plans/plan-day", {"day": tomorrow(), "seconds": 1})
    assert plan["planned"] == 3 and plan["to_dispatcher"] == []  # the bath counts once per caregiver
    crew = {route["caregiver_id"]: v for route in plan["routes"] for v in route["visits"] if v["request_id"] == bath}
    assert len(crew) == 2
    assert len({v["arrival"] for v in crew.values()}) == 1  # they start together
    order = await operator.ok("GET", f"/api/v1/requests/{bath}")
    assert order["status"] == "accepted" and order["caregivers_needed"] == 2
    assert {order["assigned_caregiver_id"], order["partner_caregiver_id"]} == set(crew)
    assert sorted(order["crew"]) == sorted(crew)
    fed_by = (await operator.ok("GET", f"/api/v1/requests/{meal}"))["assigned_caregiver_id"]
    assert fed_by is not None


async def test_the_day_plan_keeps_every_visit_inside_its_caregivers_shift(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 3.0))
    morning, afternoon = world.caregivers
    every_day = range(1, 8)
    for caregiver, start, end in ((morning, "08:00", "12:00"), (afternoon, "14:00", "18:00")):
        shifts = [{"weekday": day, "start": start, "end": end} for day in every_day]
        await admin.ok("PUT", f"/api/v1/caregivers/{caregiver['id']}/shifts", shifts)
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    # Meal help at 09:00 and 15:00, and bathing (90 minutes) at 11:30, which would end after the morning shift.
    for service, at in (("meal", "09:00"), ("meal", "15:00"), ("bathing", "11:30")):
        body = {"provider_id": world.provider["id"], "service_type": service, "weekdays": list(every_day), "time": at}
        await staff.ok("POST", f"/api/v1/elders/{world.elders[0]['id']}/plans", body, 201)
    breakfast, tea, bath = (await operator.ok("POST", "/api/v1/plans/generate", {"day": tomorrow()}))["created"]
    plan = await operator.ok("POST", "/api/v1/plans/plan-day", {"day": tomorrow(), "seconds": 1})
    routes = {route["caregiver_id"]: [v["request_id"] for v in route["visits"]] for route in plan["routes"]}
    # The nearer caregiver works mornings only: the afternoon visit goes to the one on the afternoon shift.
    assert routes == {morning["id"]: [breakfast], afternoon["id"]: [tea]}
    assert plan["to_dispatcher"] == [bath]  # it fits nobody's shift: an operator will find someone
    for route in plan["routes"]:
        for visit in route["visits"]:
            local = datetime.fromisoformat(visit["departure"]).astimezone(LOCAL_TZ)
            assert local.hour < (12 if route["caregiver_id"] == morning["id"] else 18)
