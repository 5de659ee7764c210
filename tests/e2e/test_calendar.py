"""Caregivers' calendars: visits booked for later block their own time only, and never overlap."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select

from backend.calendars.models import CaregiverBooking
from backend.core.errors import DEADLOCK, sqlstate
from backend.core.i18n import LOCAL_TZ
from backend.core.runtime import Runtime
from tests.e2e.test_scoring import offers_of, order


def tomorrow_at(hour: int, minute: int = 0) -> str:
    day = datetime.now(LOCAL_TZ) + timedelta(days=1)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0).isoformat()


def _workload(offer: dict[str, Any]) -> tuple[int, str]:
    (term,) = [t for t in offer["breakdown"] if t["code"] == "workload"]
    return int(term["value"]), term["text"]


async def test_a_visit_booked_for_tomorrow_blocks_only_its_own_time(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    phone = caregiver["api"]
    first, second, third = world.elders[0], await world.add_elder(), await world.add_elder()
    operator = await world.user("operator")

    # Meal help tomorrow at 09:00 (45 minutes): the caregiver takes it.
    breakfast = await order(operator, first, window_start=tomorrow_at(9))
    offers = await offers_of(operator, breakfast)
    await phone.ok("POST", f"/mobile/v1/offers/{offers[0]['id']}/accept")

    # An order for now still goes to them: tomorrow's visit does not make them busy today.
    now_order = await order(operator, second)
    offers = await offers_of(operator, now_order)
    assert [o["caregiver_id"] for o in offers] == [caregiver["id"]]
    # Nor does it count in her workload today (「今日已接 0 单」, not 1).
    assert _workload(offers[0]) == (0, "今日已接 0 单")
    await operator.ok("POST", f"/api/v1/requests/{now_order}/cancel", {})

    # Tomorrow 09:30 overlaps: nobody else is near, so it goes to an operator, who sees why.
    clash = await order(operator, third, window_start=tomorrow_at(9, 30))
    escalated = await operator.ok("GET", f"/api/v1/requests/{clash}")
    for _ in range(50):
        if escalated["status"] == "escalated":
            break
        await asyncio.sleep(0.2)
        escalated = await operator.ok("GET", f"/api/v1/requests/{clash}")
    assert escalated["status"] == "escalated"
    nearby = await operator.ok("GET", f"/api/v1/requests/{clash}/nearby-caregivers")
    why = {n["caregiver_id"]: [e["code"] for e in n["excluded_by"]] for n in nearby}
    assert why[caregiver["id"]] == ["booked"]
    refused = await operator.post(f"/api/v1/requests/{clash}/assign", {"caregiver_id": caregiver["id"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "caregiver_booked"

    # 10:30 overlaps neither 09:00 nor 09:30 (45 minutes each): it goes to them.
    later = await order(operator, third, window_start=tomorrow_at(10, 30))
    later_offers = await offers_of(operator, later)
    assert [o["caregiver_id"] for o in later_offers] == [caregiver["id"]]
    day = datetime.fromisoformat(tomorrow_at(10, 30))
    assert _workload(later_offers[0]) == (1, f"{day.month}月{day.day}日已接 1 单")  # tomorrow's, on tomorrow
    await phone.ok("POST", f"/mobile/v1/offers/{later_offers[0]['id']}/accept")

    # Cancelling the 09:00 visit gives its time back: now the 09:30 order can be assigned by hand.
    await operator.ok("POST", f"/api/v1/requests/{breakfast}/cancel", {"reason": "老人住院"})
    assigned = await operator.ok("POST", f"/api/v1/requests/{clash}/assign", {"caregiver_id": caregiver["id"]})
    assert assigned["status"] == "accepted" and assigned["assigned_caregiver_id"] == caregiver["id"]


async def test_two_operators_booking_one_caregiver_for_overlapping_visits_at_once(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    caregiver = await world.add_caregiver(0.5, skills=("cleaning",))  # cleaning takes 120 minutes
    await caregiver["api"].ok("POST", "/mobile/v1/shift", {"on_shift": False})
    operators = [await world.user("operator") for _ in range(2)]
    elders = [world.elders[0], await world.add_elder()]
    # Two cleaning visits tomorrow, 14:00 and 15:00; with the caregiver off shift both go to the operators.
    orders = [
        await order(operators[i], elders[i], service_type="cleaning", window_start=tomorrow_at(14 + i))
        for i in range(2)
    ]
    for rid in orders:
        for _ in range(50):
            if (await operators[0].ok("GET", f"/api/v1/requests/{rid}"))["status"] == "escalated":
                break
            await asyncio.sleep(0.2)
    await caregiver["api"].ok("POST", "/mobile/v1/shift", {"on_shift": True})

    # Each operator phones the caregiver and assigns one of the visits, at the same moment.
    answers = await asyncio.gather(
        *(
            operators[i].post(f"/api/v1/requests/{orders[i]}/assign", {"caregiver_id": caregiver["id"]})
            for i in range(2)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    lost = next(a for a in answers if a.status_code == 409)
    assert lost.json()["error"]["code"] == "caregiver_booked"
    statuses = [(await operators[0].ok("GET", f"/api/v1/requests/{rid}"))["status"] for rid in orders]
    assert sorted(statuses) == ["accepted", "escalated"]


async def test_the_database_refuses_overlapping_bookings_even_without_the_application_check(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver_id = world.caregivers[0]["id"]
    operator = await world.user("operator")
    requests = [await order(operator, world.elders[0], window_start=tomorrow_at(20 + i)) for i in range(2)]
    for rid in requests:
        await operator.post(f"/api/v1/requests/{rid}/cancel", {})
    start = datetime.fromisoformat(tomorrow_at(20))

    async def insert(request_id: int, offset_minutes: int, hold: float) -> bool:
        try:
            async with runtime.unit_of_work() as session:
                session.add(
                    CaregiverBooking(
                        caregiver_id=caregiver_id,
                        request_id=request_id,
                        starts_at=start + timedelta(minutes=offset_minutes),
                        ends_at=start + timedelta(minutes=offset_minutes + 60),
                    )
                )
                await session.flush()
                await asyncio.sleep(hold)  # both transactions are open at once
            return True
        except DBAPIError as exc:  # an exclusion violation, or a deadlock when both inserted before either checked
            assert isinstance(exc, IntegrityError) or sqlstate(exc) == DEADLOCK, exc
            return False

    results = await asyncio.gather(insert(requests[0], 0, 0.5), insert(requests[1], 30, 0.0))
    assert sorted(results) == [False, True]
    async with runtime.sessions() as session:
        held = await session.scalar(
            select(func.count()).where(
                col(CaregiverBooking.caregiver_id) == caregiver_id, col(CaregiverBooking.active).is_(True)
            )
        )
    assert held == 1


async def test_visits_booked_for_later_respect_the_weekly_roster(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    path = f"/api/v1/caregivers/{caregiver['id']}/shifts"
    manager = await world.user("provider_admin", provider_id=world.provider["id"])
    mornings = [{"weekday": day, "start": "08:00", "end": "12:00"} for day in range(1, 8)]
    for bad, code in (
        ([{"weekday": 8, "start": "08:00", "end": "12:00"}], None),
        ([{"weekday": 1, "start": "12:00", "end": "08:00"}], None),
        (
            [{"weekday": 1, "start": "08:00", "end": "12:00"}, {"weekday": 1, "start": "11:00", "end": "13:00"}],
            "overlapping_shifts",
        ),
    ):
        refused = await manager.http.put(path, json=bad)
        assert refused.status_code == 422, bad
        if code:
            assert refused.json()["error"]["code"] == code
    staff = await world.user("community_staff", community_id=world.community["id"])
    assert (await staff.http.put(path, json=mornings)).status_code in (403, 404)
    saved = await manager.http.put(path, json=mornings)
    assert saved.status_code == 200 and saved.json()[0] == {"weekday": 1, "start": "08:00", "end": "12:00"}
    assert len(await caregiver["api"].ok("GET", path)) == 7

    operator = await world.user("operator")
    afternoon = await order(operator, world.elders[0], window_start=tomorrow_at(15))
    nearby = []
    for _ in range(50):
        if (await operator.ok("GET", f"/api/v1/requests/{afternoon}"))["status"] == "escalated":
            nearby = await operator.ok("GET", f"/api/v1/requests/{afternoon}/nearby-caregivers")
            break
        await asyncio.sleep(0.2)
    why = {n["caregiver_id"]: n["excluded_by"] for n in nearby}
    assert why[caregiver["id"]] == [{"code": "off_shift", "reason": "预约时段不在排班内"}]
    morning = await order(operator, world.elders[0], window_start=tomorrow_at(9))
    assert [o["caregiver_id"] for o in await offers_of(operator, morning)] == [caregiver["id"]]


async def test_an_emergency_takes_a_caregiver_from_a_booked_visit_which_goes_to_a_colleague(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=(0.5, 3.0))
    near, far = world.caregivers
    operator = await world.user("operator")
    fallen, waiting = world.elders[0], await world.add_elder(east_km=0.6)
    soon = (datetime.now(LOCAL_TZ) + timedelta(minutes=20)).isoformat()

    # Meal help in 20 minutes: the near caregiver books it. A normal order for now cannot take them.
    lunch = await order(operator, waiting, window_start=soon)
    (offer,) = await offers_of(operator, lunch)
    assert offer["caregiver_id"] == near["id"]
    await near["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")

    # An emergency next door goes to both; the near one's offer says what they would give up.
    alarm = await order(operator, fallen, service_type="emergency", priority="emergency")
    offers = {o["caregiver_id"]: o for o in await offers_of(operator, alarm, wait_for=2)}
    assert sorted(offers) == sorted([near["id"], far["id"]])
    gives_way = [t for t in offers[near["id"]]["breakdown"] if t["code"] == "gives_way"]
    assert gives_way and gives_way[0]["value"] == 1
    assert "需让出 1 个已预约上门" in offers[near["id"]]["explanation"]
    assert not [t for t in offers[far["id"]]["breakdown"] if t["code"] == "gives_way"]

    # The near caregiver runs to the emergency: the meal visit goes back to the dispatcher, then to the colleague.
    taken = await near["api"].ok("POST", f"/mobile/v1/offers/{offers[near['id']]['id']}/accept")
    assert taken["status"] == "accepted" and taken["assigned_caregiver_id"] == near["id"]
    for _ in range(100):
        moved = await operator.ok("GET", f"/api/v1/requests/{lunch}/offers")
        if any(o["caregiver_id"] == far["id"] for o in moved):
            break
        await asyncio.sleep(0.2)
    assert {o["caregiver_id"]: o["status"] for o in moved} == {near["id"]: "released", far["id"]: "pending"}
    history = (await operator.ok("GET", f"/api/v1/requests/{lunch}"))["history"]
    assert any(f"赶赴紧急工单 #{alarm}" in (h["reason"] or "") for h in history)
