"""Day-care places: booked by day or by weekday, never past a day's places, checked in on the day."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from backend.core.i18n import LOCAL_TZ
from backend.core.runtime import Runtime
from backend.daycare.models import DayCareBooking
from tests.client import Api, World, Ws
from tests.factories import many_elders


async def centre(admin: Api, world: World, **extra: Any) -> dict[str, Any]:
    provider = await admin.ok(
        "POST",
        "/api/v1/providers",
        {
            "name": "平江日间照料中心",
            "kind": "day_care",
            "community_ids": [world.community["id"]],
            "service_types": ["day_care"],
            "location": world.home,
        },
        201,
    )
    body = {"provider_id": provider["id"], "community_id": world.community["id"], "places": 2, **extra}
    return await admin.ok("POST", "/api/v1/day-care/centres", body, 201)


def next_weekday(weekday: int) -> date:
    today = datetime.now(LOCAL_TZ).date()
    return today + timedelta(days=(weekday - today.isoweekday()) % 7 or 7)


async def test_weekly_days_are_booked_all_or_none_and_attendance_is_on_the_day(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    home = await centre(admin, world, meal_places=1)
    staff = await world.user("community_staff", community_id=world.community["id"])
    dashboard = await Ws.connect(stack.base_url, staff.token)
    await dashboard.subscribe(f"community:{world.community['id']}")
    first, second, third = world.elders[0], await world.add_elder(), await world.add_elder()
    monday = next_weekday(1)
    weeks = {
        "centre_id": home["id"],
        "weekdays": [1, 3],
        "start": monday.isoformat(),
        "end": (monday + timedelta(days=13)).isoformat(),
    }

    made = await staff.ok("POST", "/api/v1/day-care/bookings", {**weeks, "elder_id": first["id"], "meal": True}, 201)
    assert [b["day"] for b in made] == [(monday + timedelta(days=n)).isoformat() for n in (0, 2, 7, 9)]
    await staff.ok("POST", "/api/v1/day-care/bookings", {**weeks, "elder_id": second["id"]}, 201)
    seen = await dashboard.wait_event("day_care.changed", centre_id=home["id"], day=monday.isoformat(), booked=2)
    assert seen["data"]["free"] == 0
    # Two places a day: the third elder's weeks are full on every day; nothing of them is booked.
    full = await staff.post("/api/v1/day-care/bookings", {**weeks, "elder_id": third["id"]})
    assert full.status_code == 409 and full.json()["error"]["code"] == "day_full"
    assert monday.isoformat() in full.json()["error"]["message"]
    # Only one lunch a day, already taken; and no shuttle at this centre.
    tuesday = {"centre_id": home["id"], "elder_id": third["id"], "days": [(monday + timedelta(days=1)).isoformat()]}
    lunch = await staff.post("/api/v1/day-care/bookings", {**tuesday, "days": [monday.isoformat()], "meal": True})
    assert lunch.status_code == 409
    shuttle = await staff.post("/api/v1/day-care/bookings", {**tuesday, "transport": True})
    assert shuttle.status_code == 422 and shuttle.json()["error"]["code"] == "no_transport"
    days = await staff.ok(
        "GET", f"/api/v1/day-care/centres/{home['id']}/days?start={monday}&end={monday + timedelta(days=2)}"
    )
    assert [(d["booked"], d["free"], d["meals"]) for d in days] == [(2, 0, 1), (0, 2, 0), (2, 0, 1)]

    # A cancellation frees the Monday place; the third elder takes it. Attendance only on the day.
    await staff.ok("POST", f"/api/v1/day-care/bookings/{made[0]['id']}/cancel")
    taken = await staff.ok("POST", "/api/v1/day-care/bookings", {**tuesday, "days": [monday.isoformat()]}, 201)
    early = await staff.post(f"/api/v1/day-care/bookings/{taken[0]['id']}/attend")
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_today"
    today = datetime.now(LOCAL_TZ).date().isoformat()
    now_booked = await staff.ok("POST", "/api/v1/day-care/bookings", {**tuesday, "days": [today]}, 201)
    came = await staff.ok("POST", f"/api/v1/day-care/bookings/{now_booked[0]['id']}/attend")
    assert came["status"] == "attended" and came["attended_at"]
    await dashboard.close()


async def test_forty_families_booking_a_thirty_place_day_at_once(stack, admin, make_world, runtime: Runtime) -> None:
    world = await make_world(caregivers_km=())
    home = await centre(admin, world, places=30)
    ids = await many_elders(runtime, world.community["id"], 40)
    operator = await world.user("operator")
    day = next_weekday(5).isoformat()
    answers = await asyncio.gather(
        *(
            operator.post("/api/v1/day-care/bookings", {"centre_id": home["id"], "elder_id": i, "days": [day]})
            for i in ids
        )
    )
    assert sorted(r.status_code for r in answers) == [201] * 30 + [409] * 10
    async with runtime.sessions() as session:
        live = await session.scalar(
            select(func.count()).where(
                col(DayCareBooking.centre_id) == home["id"], col(DayCareBooking.status) == "booked"
            )
        )
    assert live == 30
    (counted,) = await operator.ok("GET", f"/api/v1/day-care/centres/{home['id']}/days?start={day}&end={day}")
    assert (counted["booked"], counted["free"]) == (30, 0)


async def test_the_check_in_desk_sees_todays_list_and_the_area_sees_its_centres(stack, admin, make_world) -> None:
    world, elsewhere = await make_world(caregivers_km=()), await make_world(caregivers_km=())
    home = await centre(admin, world, places=3, meal_places=2)
    staff = await world.user("community_staff", community_id=world.community["id"])
    street_staff = await world.user("community_staff", street_id=world.street["id"])
    stranger = await elsewhere.user("community_staff", community_id=elsewhere.community["id"])
    today = datetime.now(LOCAL_TZ).date()
    first, second = world.elders[0], await world.add_elder()
    await staff.ok(
        "POST",
        "/api/v1/day-care/bookings",
        {"centre_id": home["id"], "elder_id": first["id"], "days": [today.isoformat()], "meal": True},
        201,
    )
    (dropped,) = await staff.ok(
        "POST",
        "/api/v1/day-care/bookings",
        {"centre_id": home["id"], "elder_id": second["id"], "days": [today.isoformat()]},
        201,
    )
    await staff.ok("POST", f"/api/v1/day-care/bookings/{dropped['id']}/cancel")

    # The desk's list for today: the one elder still booked, by name, then checked in.
    (entry,) = await staff.ok("GET", f"/api/v1/day-care/centres/{home['id']}/bookings")
    assert (entry["elder_id"], entry["elder_name"], entry["status"], entry["meal"]) == (
        first["id"],
        first["name"],
        "booked",
        True,
    )
    await staff.ok("POST", f"/api/v1/day-care/bookings/{entry['id']}/attend")
    (entry,) = await staff.ok("GET", f"/api/v1/day-care/centres/{home['id']}/bookings?day={today}")
    assert entry["status"] == "attended"
    tomorrow = today + timedelta(days=1)
    assert await staff.ok("GET", f"/api/v1/day-care/centres/{home['id']}/bookings?day={tomorrow}") == []

    # The street sees its centres with today's places; another community's staff sees neither list.
    (listed,) = await street_staff.ok("GET", f"/api/v1/day-care/centres?street_id={world.community['street_id']}")
    assert listed["id"] == home["id"] and listed["name"] == "平江日间照料中心"
    assert (listed["today"]["places"], listed["today"]["booked"], listed["today"]["free"]) == (3, 1, 2)
    for path in (
        f"/api/v1/day-care/centres/{home['id']}/bookings",
        f"/api/v1/day-care/centres?community_id={world.community['id']}",
        f"/api/v1/day-care/bookings?elder_id={first['id']}&start={today}&end={today}",
    ):
        refused = await stranger.get(path)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "out_of_scope", path
    assert (await stranger.get("/api/v1/day-care/centres")).status_code == 403  # the city is for operators

    # The elder's own history, cancelled days included.
    history = await staff.ok("GET", f"/api/v1/day-care/bookings?elder_id={second['id']}&start={today}&end={tomorrow}")
    assert [(b["day"], b["status"]) for b in history] == [(today.isoformat(), "cancelled")]
