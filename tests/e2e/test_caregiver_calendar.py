"""A caregiver's calendar (her visits, shifts and absences over a span), and her skills and languages changed after
she was registered: who may read and change them, what a bad span answers, and what the dispatcher does next."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from backend.core.i18n import LOCAL_TZ
from tests.client import Api, World, Ws
from tests.e2e.test_calendar import tomorrow_at
from tests.e2e.test_scoring import offers_of, order, terms

EVERY_DAY = [{"weekday": day, "start": "08:00", "end": "20:00"} for day in range(1, 8)]


def calendar_of(caregiver: dict[str, Any], **span: str) -> str:
    query = "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in span.items())
    return f"/api/v1/caregivers/{caregiver['id']}/calendar" + (f"?{query}" if query else "")


def local_midnight(days: int = 0) -> datetime:
    today = datetime.now(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=days)


async def escalated(operator: Api, request_id: int) -> dict[str, Any]:
    """The order once the dispatcher gave up on it (nobody eligible)."""
    for _ in range(75):
        found: dict[str, Any] = await operator.ok("GET", f"/api/v1/requests/{request_id}")
        if found["status"] == "escalated":
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"order {request_id} was not escalated: {found['status']}")


async def test_a_caregiver_sees_her_visit_shifts_and_absence_in_her_calendar(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver, elder = world.caregivers[0], world.elders[0]
    phone = caregiver["api"]
    operator = await world.user("operator")
    manager = await world.user("provider_admin", provider_id=world.provider["id"])
    await manager.ok("PUT", f"/api/v1/caregivers/{caregiver['id']}/shifts", EVERY_DAY)

    # Meal help tomorrow at 09:00, accepted; then she calls in sick for the rest of today.
    visit = await order(operator, elder, window_start=tomorrow_at(9))
    offers = await offers_of(operator, visit)
    await phone.ok("POST", f"/mobile/v1/offers/{offers[0]['id']}/accept")
    await phone.ok("POST", "/mobile/v1/absence", {"reason": "发烧"})

    # No span: today's midnight (Suzhou) for a week.
    mine = await phone.ok("GET", calendar_of(caregiver))
    assert datetime.fromisoformat(mine["start"]) == local_midnight()
    assert datetime.fromisoformat(mine["end"]) == local_midnight(7)
    assert mine["caregiver_id"] == caregiver["id"] and mine["on_shift"] is False and mine["rostered"] is True
    (booked,) = mine["bookings"]
    assert booked["request_id"] == visit and booked["status"] == "accepted"
    assert booked["service_type"] == "meal" and booked["service_name"] == "助餐"
    assert datetime.fromisoformat(booked["window_start"]) == datetime.fromisoformat(tomorrow_at(9))
    assert datetime.fromisoformat(booked["starts_at"]) < datetime.fromisoformat(tomorrow_at(9))  # setting off
    assert booked["community_id"] == world.community["id"] and world.community["name"] in booked["area"]
    # The elder as a caregiver greets her: no full name, address or phone anywhere in the calendar.
    assert booked["elder_name"] in ("张奶奶", "张爷爷")
    shown = str(mine)
    assert elder["name"] not in shown and elder["address"] not in shown and elder["raw_phone"] not in shown
    shifts = [(s["weekday"], datetime.fromisoformat(s["starts_at"])) for s in mine["shifts"]]
    assert len(shifts) == 7
    for day, (weekday, starts) in enumerate(shifts):
        assert starts == local_midnight(day) + timedelta(hours=8) and weekday == local_midnight(day).isoweekday()
    (away,) = mine["absences"]
    assert away["reason"] == "发烧" and away["reported_by"] == "caregiver"
    assert datetime.fromisoformat(away["ends_at"]) == local_midnight(1)

    # Her provider's admin reads the reason too; the hotline sees the same calendar without it.
    assert (await manager.ok("GET", calendar_of(caregiver)))["absences"][0]["reason"] == "发烧"
    hotline = await operator.ok("GET", calendar_of(caregiver))
    assert hotline["absences"][0]["reason"] is None and hotline["bookings"] == mine["bookings"]

    # Tomorrow alone: the visit and tomorrow's shift; the absence ended at midnight.
    tomorrow = await phone.ok(
        "GET", calendar_of(caregiver, start=local_midnight(1).isoformat(), end=local_midnight(2).isoformat())
    )
    assert [b["request_id"] for b in tomorrow["bookings"]] == [visit]
    assert len(tomorrow["shifts"]) == 1 and tomorrow["absences"] == []
    # A span without a zone is Suzhou's; a cancelled visit leaves the calendar.
    naive = local_midnight(1).replace(tzinfo=None).isoformat()
    assert (await phone.ok("GET", calendar_of(caregiver, start=naive)))["start"] == tomorrow["start"]
    await operator.ok("POST", f"/api/v1/requests/{visit}/cancel", {"reason": "老人住院"})
    assert (await phone.ok("GET", calendar_of(caregiver)))["bookings"] == []

    # Reading the visits is in the elder's access trail.
    trail = await admin.ok("GET", f"/api/v1/audit-log?subject=elder:{elder['id']}&action=elder.list")
    assert any(r["actor_username"] == caregiver["username"] for r in trail)


async def test_starting_a_shift_ends_an_absence_early_and_a_second_report_moves_its_end(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    phone = caregiver["api"]
    until = local_midnight(3)
    await phone.ok("POST", "/mobile/v1/absence", {"until": local_midnight(2).isoformat()})
    await phone.ok("POST", "/mobile/v1/absence", {"reason": "家中有事", "until": until.isoformat()})
    (away,) = (await phone.ok("GET", calendar_of(caregiver)))["absences"]
    assert datetime.fromisoformat(away["ends_at"]) == until and away["reason"] == "家中有事"

    await phone.ok("POST", "/mobile/v1/shift", {"on_shift": True})
    calendar = await phone.ok("GET", calendar_of(caregiver))
    (back,) = calendar["absences"]
    assert back["starts_at"] == away["starts_at"]
    assert datetime.fromisoformat(back["ends_at"]) < local_midnight(1) and calendar["on_shift"] is True


async def test_who_may_read_a_caregivers_calendar(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    rival = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    path = calendar_of(caregiver)
    allowed = [
        caregiver["api"],
        admin,
        await world.user("operator"),
        await world.user("provider_admin", provider_id=world.provider["id"]),
        await world.user("community_staff", community_id=world.community["id"]),
    ]
    for reader in allowed:
        assert (await reader.get(path)).status_code == 200, reader.username
    refused = [
        await rival.user("provider_admin", provider_id=rival.provider["id"]),
        await rival.user("community_staff", community_id=rival.community["id"]),
        rival.caregivers[0]["api"],
        await world.user("elder", elder_id=world.elders[0]["id"]),
    ]
    for reader in refused:
        # The same answer as for her record, by the same rule.
        for asked in (path, f"/api/v1/caregivers/{caregiver['id']}"):
            r = await reader.get(asked)
            assert r.status_code == 403 and r.json()["error"]["code"] == "out_of_scope", (reader.username, r.text)
    missing = await admin.get("/api/v1/caregivers/2000000000/calendar")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "caregiver_not_found"


async def test_a_bad_span_is_refused_with_its_code(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    phone = caregiver["api"]
    start = local_midnight(1)
    for end, code in (
        (start, "invalid_range"),
        (start - timedelta(hours=1), "invalid_range"),
        (start + timedelta(days=31, seconds=1), "range_too_long"),
    ):
        r = await phone.get(calendar_of(caregiver, start=start.isoformat(), end=end.isoformat()))
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    chinese = await phone.get(calendar_of(caregiver, start=start.isoformat(), end=start.isoformat()))
    assert chinese.json()["error"]["message"] == "结束时间必须晚于开始时间"
    english = await phone.get(
        calendar_of(caregiver, start=start.isoformat(), end=start.isoformat()), headers={"Accept-Language": "en"}
    )
    assert english.json()["error"]["message"] == "end must be after start"
    too_long = await phone.get(calendar_of(caregiver, end=local_midnight(40).isoformat(), start=start.isoformat()))
    assert too_long.json()["error"]["message"] == "日历一次最多查询 31 天"
    for bad in ({"start": "soon"}, {"start": "1999-12-31T00:00:00+08:00"}, {"end": "3000-01-01"}):
        r = await phone.get(calendar_of(caregiver, **bad))
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text

    # Thirty-one days exactly is a span; only an end: the week before it.
    month = await phone.ok("GET", calendar_of(caregiver, start=start.isoformat(), end=local_midnight(32).isoformat()))
    assert len(month["shifts"]) == 0 and month["rostered"] is False
    week = await phone.ok("GET", calendar_of(caregiver, end=local_midnight(8).isoformat()))
    assert datetime.fromisoformat(week["start"]) == start


async def test_skills_changed_after_registration_change_what_she_is_offered(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    caregiver = await world.add_caregiver(0.5, skills=("meal",))
    elder = world.elders[0]
    operator = await world.user("operator")
    manager = await world.user("provider_admin", provider_id=world.provider["id"])
    path = f"/api/v1/caregivers/{caregiver['id']}"

    # Bathing: she lacks the skill, so nobody is left and the order goes to an operator.
    before = await order(operator, elder, service_type="bathing")
    await escalated(operator, before)
    nearby = await operator.ok("GET", f"/api/v1/requests/{before}/nearby-caregivers")
    why = {n["caregiver_id"]: [e["code"] for e in n["excluded_by"]] for n in nearby}
    assert "lacks_skill" in why[caregiver["id"]]

    # Her provider adds bathing: the next bathing order is offered to her.
    changed = await manager.ok("PATCH", path, {"skills": ["meal", "bathing", "bathing"]})
    assert changed["skills"] == ["bathing", "meal"] and changed["languages"] == ["mandarin"]
    assert (await admin.ok("GET", path))["skills"] == ["bathing", "meal"]
    after = await order(operator, elder, service_type="bathing")
    offers = await offers_of(operator, after)
    assert [o["caregiver_id"] for o in offers] == [caregiver["id"]]
    assert "具备助浴技能" in offers[0]["explanation"]
    await operator.ok("POST", f"/api/v1/requests/{after}/cancel", {})

    # Removed again: the next bathing order is not.
    assert (await admin.ok("PATCH", path, {"skills": ["meal"]}))["skills"] == ["meal"]
    again = await order(operator, elder, service_type="bathing")
    await escalated(operator, again)
    assert await operator.ok("GET", f"/api/v1/requests/{again}/offers") == []


async def test_languages_changed_after_registration_count_in_the_next_offer(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver, elder = world.caregivers[0], world.elders[0]
    operator = await world.user("operator")
    await operator.ok("PATCH", f"/api/v1/elders/{elder['id']}", {"language": "suzhounese"})

    first = await order(operator, elder)
    offers = await offers_of(operator, first)
    assert "language" not in terms(offers[0])
    await operator.ok("POST", f"/api/v1/requests/{first}/cancel", {})

    await admin.ok("PATCH", f"/api/v1/caregivers/{caregiver['id']}", {"languages": ["suzhounese", "mandarin"]})
    second = await order(operator, elder)
    offers = await offers_of(operator, second)
    assert [o["caregiver_id"] for o in offers] == [caregiver["id"]]
    assert terms(offers[0])["language"]["cost"] < 0 and "会说苏州话" in offers[0]["explanation"]


async def test_who_may_change_a_caregiver_and_what_is_refused(stack, admin, make_world) -> None:
    world: World = await make_world(caregivers_km=(0.5,))
    rival = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    path = f"/api/v1/caregivers/{caregiver['id']}"
    manager = await world.user("provider_admin", provider_id=world.provider["id"])
    body = {"skills": ["meal"]}
    for who, code in (
        (await world.user("operator"), "role_forbidden"),
        (await world.user("community_staff", community_id=world.community["id"]), "role_forbidden"),
        (caregiver["api"], "role_forbidden"),
        (await rival.user("provider_admin", provider_id=rival.provider["id"]), "out_of_scope"),
    ):
        r = await who.http.patch(path, json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == code, (who.username, r.text)
    assert (await admin.ok("GET", path))["skills"] == ["bathing", "emergency", "meal"]

    for bad, code in (
        ({"skills": ["massage"]}, "unknown_service_type"),
        ({"skills": None}, "invalid_value"),
        ({"languages": []}, "validation_error"),
        ({"languages": ["klingon"]}, "validation_error"),
        ({"phone": "12"}, "validation_error"),
        ({"phone": "not a phone"}, "invalid_phone"),
        ({"provider_id": rival.provider["id"]}, "unknown_field"),
    ):
        r = await manager.http.patch(path, json=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (bad, r.text)
    missing = await admin.http.patch("/api/v1/caregivers/2000000000", json=body)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "caregiver_not_found"

    # Her provider watches its channel; the change is audited with the fields it touched.
    inbox = await Ws.connect(stack.base_url, manager.token or "")
    await inbox.subscribe(f"provider:{world.provider['id']}")
    changed = await manager.ok(
        "PATCH", path, {"name": "李护理员", "phone": "13912340000", "skills": ["meal", "cleaning"]}
    )
    assert changed["name"] == "李护理员" and changed["phone"] == "+8613912340000"
    assert changed["skills"] == ["cleaning", "meal"]
    event = await inbox.wait_event("caregiver.updated", caregiver_id=caregiver["id"])
    assert event["data"]["fields"] == ["name", "phone", "skills"]
    await inbox.close()
    trail = await admin.ok("GET", f"/api/v1/audit-log?subject=caregiver:{caregiver['id']}&action=caregiver.update")
    assert trail[0]["fields"] == ["name", "phone", "skills"] and trail[0]["actor_role"] == "provider_admin"
    # Nothing to change: nothing audited.
    await manager.ok("PATCH", path, {"skills": ["cleaning", "meal"]})
    assert len(await admin.ok("GET", f"/api/v1/audit-log?subject=caregiver:{caregiver['id']}")) == 1
