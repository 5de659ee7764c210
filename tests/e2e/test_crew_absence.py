"""A two-caregiver visit losing one of its crew (issue 17, item 5): the one who stays keeps the visit.

Her partner calls in sick, or is called away to an emergency: only the empty seat is dispatched again, and
meanwhile she still reads the order, finds it on her phone (its list and her day), hears on her sockets how the
seat is filled, and sets off once the crew is whole. When she leaves it too, her hold ends with her seat.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from backend.core.i18n import LOCAL_TZ
from tests.client import Api, Ws, offer_for
from tests.e2e.test_crew import CREW_SKILLS, bed_bath, pending, status_of
from tests.e2e.test_plans import tomorrow
from tests.e2e.test_scoring import offers_of, order


async def holds(caregiver: dict[str, Any]) -> dict[str, list[int]]:
    """The orders a caregiver finds: the order list as she may read it, her phone's list, and her day."""
    api: Api = caregiver["api"]
    today = await api.ok("GET", "/mobile/v1/today")
    return {
        "list": [r["id"] for r in await api.ok("GET", "/api/v1/requests")],
        "phone": [r["id"] for r in await api.ok("GET", "/mobile/v1/requests")],
        "today": [s["order"]["id"] for s in today["stops"]],
    }


async def heard(ws: Ws, channel: str, event: str, timeout: float = 15, **match: Any) -> dict[str, Any]:
    """The first event of this name on this channel whose data contains ``match``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = 0
    while True:
        for frame in ws.events[seen:]:
            ours = frame["channel"] == channel and frame["event"] == event
            if ours and all(frame["data"].get(k) == v for k, v in match.items()):
                return frame
        seen = len(ws.events)
        try:
            await ws.recv(timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise AssertionError(f"no {event} {match} on {channel} within {timeout} s; got {ws.frames[-8:]}") from None


def dropped(ws: Ws) -> list[str]:
    """The channels the server has taken from this socket."""
    return [f["channel"] for f in ws.frames if f.get("type") == "unsubscribed"]


async def test_after_her_partners_sick_call_the_lead_keeps_the_visit_and_sets_off_once_the_crew_is_whole(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=(0.5, 0.8, 1.5), skills=CREW_SKILLS)
    lead, sick, helper = world.caregivers
    operator = await world.user("operator")
    rid = await bed_bath(operator, world.elders[0])
    offers = {o["caregiver_id"]: o for o in await pending(operator, rid, wait_for=2)}
    for member in (lead, sick):
        await member["api"].ok("POST", f"/mobile/v1/offers/{offers[member['id']]['id']}/accept")
    await status_of(operator, rid, "accepted")
    phone = await Ws.connect(stack.base_url, lead["api"].token, "/mobile/v1/ws")
    for channel in (f"caregiver:{lead['id']}", f"request:{rid}"):
        assert (await phone.subscribe(channel))["type"] == "subscribed"

    assert (await sick["api"].ok("POST", "/mobile/v1/absence", {"reason": "发烧"}))["redispatched"] == [rid]
    (refill,) = await pending(operator, rid, wait_for=1)
    assert refill["caregiver_id"] == helper["id"]
    # She still holds the visit: she reads it, finds it everywhere, and her phone hears the seat go out again.
    seen = await lead["api"].ok("GET", f"/api/v1/requests/{rid}")
    assert seen["status"] == "offered" and seen["crew"] == [lead["id"]] and seen["caregivers_needed"] == 2
    assert (seen["assigned_caregiver_id"], seen["partner_caregiver_id"]) == (lead["id"], None)
    on_phone = await lead["api"].ok("GET", f"/mobile/v1/requests/{rid}")
    assert on_phone["crew"] == [lead["id"]] and on_phone["destination"]["address"]
    assert await holds(lead) == {"list": [rid], "phone": [rid], "today": [rid]}
    reopened = await heard(phone, f"caregiver:{lead['id']}", "request.status", request_id=rid, status="dispatching")
    assert reopened["data"]["assigned_caregiver_id"] == lead["id"]
    # Alone she cannot set off (the seat is still empty); the caregiver who is ill holds nothing any more.
    early = await lead["api"].post(f"/mobile/v1/requests/{rid}/en-route")
    assert early.status_code == 409 and early.json()["error"]["code"] == "crew_incomplete"
    assert "人齐后" in early.json()["error"]["message"]
    assert (await sick["api"].get(f"/api/v1/requests/{rid}")).status_code == 403
    assert (await sick["api"].get(f"/mobile/v1/requests/{rid}")).status_code == 404
    assert await holds(sick) == {"list": [], "phone": [], "today": []}

    # The colleague takes the seat: the crew is whole again, she still leads, and they serve it together.
    await helper["api"].ok("POST", f"/mobile/v1/offers/{refill['id']}/accept")
    whole = await status_of(operator, rid, "accepted")
    assert (whole["assigned_caregiver_id"], whole["partner_caregiver_id"]) == (lead["id"], helper["id"])
    await heard(phone, f"request:{rid}", "request.status", request_id=rid, status="accepted")
    await lead["api"].ok("POST", f"/mobile/v1/requests/{rid}/en-route")
    await helper["api"].ok("POST", f"/mobile/v1/requests/{rid}/check-in", world.home)
    assert (await lead["api"].ok("POST", f"/mobile/v1/requests/{rid}/check-out", {}))["status"] == "completed"
    assert dropped(phone) == []
    await phone.close()


async def test_when_the_lead_calls_in_sick_her_partner_leads_the_visit(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 0.8, 1.5), skills=CREW_SKILLS)
    sick, stays, helper = world.caregivers
    operator = await world.user("operator")
    rid = await bed_bath(operator, world.elders[0])
    offers = {o["caregiver_id"]: o for o in await pending(operator, rid, wait_for=2)}
    for member in (sick, stays):
        await member["api"].ok("POST", f"/mobile/v1/offers/{offers[member['id']]['id']}/accept")
    first = await status_of(operator, rid, "accepted")
    assert (first["assigned_caregiver_id"], first["partner_caregiver_id"]) == (sick["id"], stays["id"])

    await admin.ok("POST", f"/api/v1/caregivers/{sick['id']}/absence", {"reason": "腰伤"})
    (refill,) = await pending(operator, rid, wait_for=1)
    assert refill["caregiver_id"] == helper["id"]
    seen = await stays["api"].ok("GET", f"/api/v1/requests/{rid}")
    assert seen["crew"] == [stays["id"]]
    assert (seen["assigned_caregiver_id"], seen["partner_caregiver_id"]) == (stays["id"], None)
    assert await holds(stays) == {"list": [rid], "phone": [rid], "today": [rid]}
    coming = await operator.ok("GET", f"/api/v1/requests/{rid}/coming")
    assert [(c["id"], c["lead"]) for c in coming["caregivers"]] == [(stays["id"], True)]

    await helper["api"].ok("POST", f"/mobile/v1/offers/{refill['id']}/accept")
    whole = await status_of(operator, rid, "accepted")
    assert (whole["assigned_caregiver_id"], whole["partner_caregiver_id"]) == (stays["id"], helper["id"])
    assert (await stays["api"].ok("POST", f"/mobile/v1/requests/{rid}/en-route"))["status"] == "en_route"


async def test_a_crew_member_called_to_an_emergency_leaves_her_partner_the_booked_visit(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=(0.5, 0.8), skills=(*CREW_SKILLS, "emergency"))
    operator = await world.user("operator")
    fallen = await world.add_elder(east_km=0.6)
    soon = datetime.now(LOCAL_TZ) + timedelta(minutes=20)
    body = {"elder_id": world.elders[0]["id"], "service_type": "bed_bathing", "window_start": soon.isoformat()}
    rid = int((await operator.ok("POST", "/api/v1/requests", body, 201))["id"])
    offers = {o["caregiver_id"]: o for o in await pending(operator, rid, wait_for=2)}
    for member in world.caregivers:
        await member["api"].ok("POST", f"/mobile/v1/offers/{offers[member['id']]['id']}/accept")
    await status_of(operator, rid, "accepted")

    # An emergency next door: one of the crew runs to it, and the bath keeps the other.
    alarm = await order(operator, fallen, service_type="emergency", priority="emergency")
    called = {o["caregiver_id"]: o for o in await offers_of(operator, alarm, wait_for=2)}
    runs, stays = world.caregivers
    await runs["api"].ok("POST", f"/mobile/v1/offers/{called[runs['id']]['id']}/accept")
    seen = await stays["api"].ok("GET", f"/api/v1/requests/{rid}")
    assert seen["status"] in ("dispatching", "escalated") and seen["crew"] == [stays["id"]]
    assert seen["assigned_caregiver_id"] == stays["id"]
    assert any(f"赶赴紧急工单 #{alarm}" in (h["reason"] or "") for h in seen["history"])
    assert (await holds(stays))["phone"] == [rid]
    assert (await runs["api"].ok("GET", "/mobile/v1/requests"))[0]["id"] == alarm


async def test_a_planned_crew_member_keeps_her_visit_and_its_socket_until_she_leaves_it_too(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=(0.5, 1.0), skills=CREW_SKILLS)
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    every_day = [*range(1, 8)]
    plan = {"provider_id": world.provider["id"], "service_type": "bed_bathing", "weekdays": every_day, "time": "10:00"}
    await staff.ok("POST", f"/api/v1/elders/{world.elders[0]['id']}/plans", plan, 201)
    (bath,) = (await operator.ok("POST", "/api/v1/plans/generate", {"day": tomorrow()}))["created"]
    assert (await operator.ok("POST", "/api/v1/plans/plan-day", {"day": tomorrow(), "seconds": 1}))["planned"] == 2
    planned = await operator.ok("GET", f"/api/v1/requests/{bath}")
    sick = next(c for c in world.caregivers if c["id"] == planned["assigned_caregiver_id"])
    stays = next(c for c in world.caregivers if c["id"] == planned["partner_caregiver_id"])
    phone = await Ws.connect(stack.base_url, stays["api"].token, "/mobile/v1/ws")
    assert (await phone.subscribe(f"request:{bath}"))["type"] == "subscribed"

    # The day planner gave them no offers: the visit is hers by its booking, and stays hers.
    until = (datetime.now(LOCAL_TZ) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    await sick["api"].ok("POST", "/mobile/v1/absence", {"reason": "发烧", "until": until.isoformat()})
    alone = await status_of(operator, bath, "escalated")  # nobody else to take the seat
    assert alone["crew"] == [stays["id"]] and alone["assigned_caregiver_id"] == stays["id"]
    assert (await stays["api"].get(f"/api/v1/requests/{bath}")).status_code == 200
    assert bath in (await holds(stays))["phone"]

    # Her socket re-checks what she may see (she turns an offer down): the visit's channel stays hers.
    meal = await order(operator, await world.add_elder(east_km=0.3))
    offer = await offer_for(stays["api"], meal)
    await stays["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/decline", {"reason": "明天有双人助浴"})
    await asyncio.sleep(2)  # a socket re-checks within two seconds (tests/security/test_sessions.py)
    await operator.ok("POST", f"/api/v1/requests/{bath}/redispatch", {"reason": "再找一名护理员"})
    again = {"request_id": bath, "status": "dispatching", "from_status": "escalated"}
    await heard(phone, f"request:{bath}", "request.status", **again)
    assert dropped(phone) == []

    # She calls in sick too: nobody holds the visit now, and her reading of it ends with her seat.
    await stays["api"].ok("POST", "/mobile/v1/absence", {"until": until.isoformat()})
    while not dropped(phone):
        await phone.recv(timeout=5)
    assert dropped(phone) == [f"request:{bath}"]
    left = await operator.ok("GET", f"/api/v1/requests/{bath}")
    assert left["crew"] == [] and (left["assigned_caregiver_id"], left["partner_caregiver_id"]) == (None, None)
    assert (await stays["api"].get(f"/api/v1/requests/{bath}")).status_code == 403
    assert await holds(stays) == {"list": [], "phone": [], "today": []}
    await phone.close()
