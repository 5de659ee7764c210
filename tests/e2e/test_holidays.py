"""Holidays and 调休 through the API: the bureau's calendar, plans that skip holidays and follow adjusted working
days, and rosters (the day planner's and the dispatcher's) that do the same per caregiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from backend.core.i18n import LOCAL_TZ
from tests.client import Api, World

EVERY_DAY = range(1, 8)
WEEKDAYS = [1, 2, 3, 4, 5]


async def test_the_calendar_says_where_each_day_comes_from(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    caregiver = world.caregivers[0]["api"]

    known = await staff.ok("GET", "/api/v1/holidays?year=2026")
    assert known["published"] is True and known["chinese_calendar"] is True and known["notice"] is None
    days = {d["day"]: d for d in known["days"]}
    assert {k: days["2026-10-01"][k] for k in ("kind", "name_zh", "name_en", "source", "weekday")} == {
        "kind": "holiday",
        "name_zh": "国庆节",
        "name_en": "National Day",
        "source": "chinese_calendar",
        "weekday": 4,
    }
    assert days["2026-10-10"]["kind"] == "adjusted_workday" and days["2026-10-10"]["works_as"] == 3
    assert "2026-10-09" not in days  # a plain Friday is not listed

    unknown = await operator.ok("GET", "/api/v1/holidays?year=2032")
    assert unknown["published"] is False and unknown["days"] == [] and "2032" in unknown["notice"]
    english = await operator.get("/api/v1/holidays?year=2032", headers={"Accept-Language": "en"})
    assert "No arrangement for 2032" in english.json()["notice"]

    # The bureau's word comes first, over the package's too; dropping it gives the package's back.
    entered = await admin.ok("PUT", "/api/v1/holidays/2026-10-09", {"kind": "holiday", "name_zh": "国庆节"})
    assert entered == {
        "day": "2026-10-09",
        "weekday": 5,
        "kind": "holiday",
        "source": "override",
        "name_zh": "国庆节",
        "name_en": None,
        "works_as": None,
        "note": None,
    }
    assert {d["day"]: d["source"] for d in (await staff.ok("GET", "/api/v1/holidays?year=2026"))["days"]}[
        "2026-10-09"
    ] == "override"
    dropped = await admin.ok("DELETE", "/api/v1/holidays/2026-10-09")
    assert (dropped["kind"], dropped["source"]) == ("workday", "chinese_calendar")
    missing = await admin.http.delete("/api/v1/holidays/2026-10-09")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_calendar_entry"

    # Bad dates and kinds: 422 with stable codes.
    for path, body, code in (
        ("/api/v1/holidays/2027-02-30", {"kind": "holiday"}, "validation_error"),
        ("/api/v1/holidays/1999-12-31", {"kind": "holiday"}, "validation_error"),
        ("/api/v1/holidays/2032-02-11", {"kind": "festival"}, "validation_error"),
        ("/api/v1/holidays/2032-02-11", {"kind": "adjusted_workday"}, "kind_does_not_fit_weekday"),
        ("/api/v1/holidays/2032-02-14", {"kind": "workday"}, "kind_does_not_fit_weekday"),
        ("/api/v1/holidays/2032-02-11", {"kind": "holiday", "works_as": 1}, "works_as_without_adjusted_workday"),
        ("/api/v1/holidays/2032-02-14", {"kind": "adjusted_workday", "works_as": 6}, "validation_error"),
    ):
        refused = await admin.put(path, body)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == code, (path, body)
    assert (await admin.get("/api/v1/holidays?year=1999")).status_code == 422
    assert (await admin.ok("GET", "/api/v1/holidays?year=2032"))["entered"] == 0

    # Staff read it; only the bureau (admins) writes it.
    for reader in (caregiver, boss):
        refused = await reader.get("/api/v1/holidays?year=2026")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_forbidden"
    for writer in (operator, staff, boss, caregiver):
        assert (await writer.put("/api/v1/holidays/2032-02-11", {"kind": "holiday"})).status_code == 403
        assert (await writer.http.delete("/api/v1/holidays/2032-02-11")).status_code == 403


async def _visits(operator: Api, day: str, elder_id: int) -> list[str]:
    """The day's visits generated for the elder: their local start times, earliest first."""
    made = await operator.ok("POST", "/api/v1/plans/generate", {"day": day})
    times = []
    for rid in made["created"]:
        order = await operator.ok("GET", f"/api/v1/requests/{rid}")
        if order["elder_id"] == elder_id:
            times.append(datetime.fromisoformat(order["window_start"]).astimezone(LOCAL_TZ).strftime("%H:%M"))
    return sorted(times)


async def _plan(staff: Api, world: World, elder: dict[str, Any], at: str, weekdays: list[int], **kw: Any) -> None:
    """A meal plan over the test's days only (the suite's other tests generate tomorrow's visits from every plan)."""
    body = {
        "provider_id": world.provider["id"],
        "service_type": "meal",
        "weekdays": weekdays,
        "time": at,
        "starts_on": "2027-03-01",
        "ends_on": "2027-03-31",
        **kw,
    }
    plan = await staff.ok("POST", f"/api/v1/elders/{elder['id']}/plans", body, 201)
    assert plan["skip_holidays"] is kw.get("skip_holidays", True)
    assert plan["follow_adjusted_workdays"] is kw.get("follow_adjusted_workdays", True)


async def test_plans_skip_public_holidays_and_follow_adjusted_working_days(stack, admin, make_world) -> None:
    # Nobody to visit: the past days' visits go to an operator, nowhere else.
    world = await make_world(caregivers_km=())
    elder = world.elders[0]
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    since = {"starts_on": "2026-09-01", "ends_on": "2026-10-31"}
    await _plan(staff, world, elder, "08:00", WEEKDAYS, **since)  # the usual: working days
    await _plan(staff, world, elder, "09:00", WEEKDAYS, skip_holidays=False, follow_adjusted_workdays=False, **since)
    await _plan(staff, world, elder, "10:00", [3], **since)  # Wednesdays
    await _plan(staff, world, elder, "11:00", [6], **since)  # Saturdays

    assert await _visits(operator, "2026-10-01", elder["id"]) == ["09:00"]  # 国庆节, a Thursday
    assert await _visits(operator, "2026-10-03", elder["id"]) == []  # a Saturday of the break
    # 调休 Saturday, worked as Wednesday (for Wednesday 10-07, off in lieu): working days, Wednesdays, Saturdays.
    assert await _visits(operator, "2026-10-10", elder["id"]) == ["08:00", "10:00", "11:00"]
    assert await _visits(operator, "2026-09-20", elder["id"]) == ["08:00"]  # 调休 Sunday, worked as Tuesday
    assert await _visits(operator, "2026-10-09", elder["id"]) == ["08:00", "09:00"]  # a plain Friday


@pytest.fixture
async def year_2027(admin) -> AsyncIterator[dict[str, str]]:
    """The bureau enters a made-up piece of 2027's arrangement (chinese-calendar 1.11 stops at 2026), then drops it."""
    days = {
        "2027-03-08": {"kind": "holiday", "name_zh": "测试节", "name_en": "Test Day"},  # a Monday off
        "2027-03-13": {"kind": "adjusted_workday", "name_zh": "测试节", "works_as": 1},  # a Saturday worked as Monday
    }
    for day, body in days.items():
        await admin.ok("PUT", f"/api/v1/holidays/{day}", body)
    yield {"holiday": "2027-03-08", "worked": "2027-03-13"}
    for day in days:
        await admin.ok("DELETE", f"/api/v1/holidays/{day}")


async def test_an_entered_year_is_respected_by_the_plans(stack, admin, make_world, year_2027) -> None:
    world = await make_world(caregivers_km=())
    elder = world.elders[0]
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    listed = await staff.ok("GET", "/api/v1/holidays?year=2027")
    assert listed["published"] is True and listed["chinese_calendar"] is False
    assert {d["day"]: (d["kind"], d["source"]) for d in listed["days"]} == {
        year_2027["holiday"]: ("holiday", "override"),
        year_2027["worked"]: ("adjusted_workday", "override"),
    }
    await _plan(staff, world, elder, "08:00", WEEKDAYS)
    await _plan(staff, world, elder, "10:00", [1])  # Mondays
    assert await _visits(operator, year_2027["holiday"], elder["id"]) == []
    assert await _visits(operator, year_2027["worked"], elder["id"]) == ["08:00", "10:00"]
    assert await _visits(operator, "2027-03-09", elder["id"]) == ["08:00"]  # a plain Tuesday


async def _roster(boss: Api, caregiver: dict[str, Any], weekdays: range | list[int], **settings: bool) -> None:
    body = {"shifts": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in weekdays], **settings}
    saved = await boss.ok("PUT", f"/api/v1/caregivers/{caregiver['id']}/roster", body)
    assert {k: saved[k] for k in settings} == settings and len(saved["shifts"]) == len(weekdays)


async def test_a_caregiver_who_does_not_work_holidays_is_neither_planned_nor_dispatched_on_one(
    stack, admin, make_world, year_2027
) -> None:
    world = await make_world(caregivers_km=(0.5, 1.0))
    resting, working = world.caregivers
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    defaults = await boss.ok("GET", f"/api/v1/caregivers/{resting['id']}/roster")
    assert defaults == {
        "caregiver_id": resting["id"],
        "shifts": [],
        "works_holidays": False,
        "works_adjusted_workdays": True,
    }
    await _roster(boss, resting, EVERY_DAY)
    await _roster(boss, working, EVERY_DAY, works_holidays=True)
    refused = await staff.http.put(f"/api/v1/caregivers/{resting['id']}/roster", json={"shifts": []})
    assert refused.status_code in (403, 404)

    # Her calendar shows no shift on the holiday; her colleague's does.
    span = f"start={year_2027['holiday']}T00:00:00%2B08:00&end=2027-03-09T00:00:00%2B08:00"
    for caregiver, shifts in ((resting, []), (working, ["holiday"])):
        calendar = await operator.ok("GET", f"/api/v1/caregivers/{caregiver['id']}/calendar?{span}")
        assert [s["day_kind"] for s in calendar["shifts"]] == shifts

    # A meal plan that does not skip holidays: the day planner gives the holiday's visit to the one who works it.
    await _plan(staff, world, world.elders[0], "11:00", list(EVERY_DAY), skip_holidays=False)
    assert await _visits(operator, year_2027["holiday"], world.elders[0]["id"]) == ["11:00"]
    plan = await operator.ok(
        "POST",
        "/api/v1/plans/plan-day",
        {"day": year_2027["holiday"], "provider_id": world.provider["id"], "seconds": 1},
    )
    assert plan["planned"] == 1 and [r["caregiver_id"] for r in plan["routes"]] == [working["id"]]

    # An order booked for that afternoon: the dispatcher keeps her out by her roster.
    order = await operator.ok(
        "POST",
        "/api/v1/requests",
        {
            "elder_id": world.elders[0]["id"],
            "service_type": "meal",
            "paid_by": "self",
            "window_start": f"{year_2027['holiday']}T15:00:00+08:00",
            "window_end": f"{year_2027['holiday']}T16:00:00+08:00",
        },
        201,
    )
    nearby = await operator.ok("GET", f"/api/v1/requests/{order['id']}/nearby-caregivers?radius_km=2")
    reasons = {n["caregiver_id"]: [e["code"] for e in n["excluded_by"]] for n in nearby}
    assert reasons[resting["id"]] == ["off_shift"]
    assert "off_shift" not in reasons[working["id"]]
    offers = {o["caregiver_id"] for o in await operator.ok("GET", f"/api/v1/requests/{order['id']}/offers")}
    assert resting["id"] not in offers
    await operator.ok("POST", f"/api/v1/requests/{order['id']}/cancel", {"reason": "测试结束"})


async def test_on_an_adjusted_working_day_a_roster_is_worked_as_the_weekday_it_makes_up(
    stack, admin, make_world, year_2027
) -> None:
    world = await make_world(caregivers_km=(0.5, 1.0))
    keeps_her_week, follows = world.caregivers
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    # Both work Mondays only; the Saturday worked as a Monday is a working day for the one who follows 调休.
    await _roster(boss, keeps_her_week, [1], works_adjusted_workdays=False)
    await _roster(boss, follows, [1])
    await _plan(staff, world, world.elders[0], "11:00", WEEKDAYS)
    assert await _visits(operator, year_2027["worked"], world.elders[0]["id"]) == ["11:00"]
    plan = await operator.ok(
        "POST",
        "/api/v1/plans/plan-day",
        {"day": year_2027["worked"], "provider_id": world.provider["id"], "seconds": 1},
    )
    assert plan["planned"] == 1 and [r["caregiver_id"] for r in plan["routes"]] == [follows["id"]]
    calendar = await operator.ok(
        "GET",
        f"/api/v1/caregivers/{follows['id']}/calendar?start={year_2027['worked']}T00:00:00%2B08:00",
    )
    first = calendar["shifts"][0]
    assert first["day_kind"] == "adjusted_workday" and first["weekday"] == 6
