"""The whole life of a work order through HTTP and WebSockets, with a real worker and scheduler."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from tests.client import Ws, offset

LIFE = [
    "new",
    "dispatching",
    "offered",
    "dispatching",
    "offered",
    "dispatching",
    "offered",
    "accepted",
    "en_route",
    "in_service",
    "completed",
]


async def test_order_from_hotline_to_check_out_with_decline_and_deadline_cascade(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.4, 1.0, 2.0))
    near, middle, far = world.caregivers
    elder = world.elders[0]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])

    # The community dashboard and each caregiver's phone listen before anything happens.
    dashboard = await Ws.connect(stack.base_url, staff.token)
    assert (await dashboard.subscribe(f"community:{world.community['id']}"))["type"] == "subscribed"
    phones = {}
    for caregiver in world.caregivers:
        phones[caregiver["id"]] = await Ws.connect(stack.base_url, caregiver["api"].token, "/mobile/v1/ws")
        assert (await phones[caregiver["id"]].subscribe(f"caregiver:{caregiver['id']}"))["type"] == "subscribed"

    # The operator looks the caller up by phone number and creates the order.
    found = await operator.ok("GET", f"/api/v1/elders?phone={elder['raw_phone']}")
    assert [e["id"] for e in found] == [elder["id"]]
    started = time.monotonic()
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
    assert order["status"] == "new"
    rid = order["id"]

    # The nearest caregiver's phone gets the offer, explained.
    offer_event = await phones[near["id"]].wait_event("offer.created", request_id=rid)
    assert offer_event["data"]["id"] == offer_event["data"]["offer_id"]
    first_offer_s = time.monotonic() - started
    offers = await near["api"].ok("GET", "/mobile/v1/offers")
    assert [o["id"] for o in offers] == [offer_event["data"]["offer_id"]]
    assert offers[0]["request_id"] == rid and "公里" in offers[0]["explanation"] and offers[0]["expires_at"]
    # They decline; the next nearest gets it.
    await near["api"].ok("POST", f"/mobile/v1/offers/{offers[0]['id']}/decline", {"reason": "在另一户服务"})
    await phones[middle["id"]].wait_event("offer.created", request_id=rid)
    # The second lets the deadline pass; the scheduler's sweep moves the order to the third.
    await phones[middle["id"]].wait_event("offer.expired", request_id=rid, timeout=20)
    third = await phones[far["id"]].wait_event("offer.created", request_id=rid, timeout=20)
    assert await middle["api"].ok("GET", "/mobile/v1/offers") == []
    accepted = await far["api"].ok("POST", f"/mobile/v1/offers/{third['data']['offer_id']}/accept")
    assert accepted["status"] == "accepted" and accepted["assigned_caregiver_id"] == far["id"]
    assert accepted["destination"]["address"] == "平江路 1 号"
    await far["api"].ok("POST", f"/mobile/v1/requests/{rid}/en-route")
    at_door = await far["api"].ok(
        "POST", f"/mobile/v1/requests/{rid}/check-in", offset(world.home["lat"], world.home["lon"], east_km=0.05)
    )
    assert at_door["status"] == "in_service" and at_door["visit"]["location_flagged"] is False
    done = await far["api"].ok("POST", f"/mobile/v1/requests/{rid}/check-out", {"notes": "午餐已送达，老人精神好"})
    assert done["status"] == "completed" and done["visit"]["checkout_at"]

    # The community channel saw every status, in order, with increasing sequence numbers.
    await dashboard.wait_status(rid, "completed")
    seen = [e for e in dashboard.events if e["data"].get("request_id") == rid]
    assert [e["data"]["status"] for e in seen] == LIFE
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    # The history says who did what and why.
    detail = await operator.ok("GET", f"/api/v1/requests/{rid}")
    assert [h["status"] for h in detail["history"]] == LIFE
    assert detail["history"][3]["reason"].startswith("护理员拒单")
    assert detail["history"][5]["reason"] == "派单超时未响应"
    assert detail["history"][7]["by"] == f"caregiver:{far['user_id']}"  # her account, as every record names her

    # A dashboard that reconnects with `since` gets exactly what it missed.
    missed_from = seen[6]["seq"]
    again = await Ws.connect(stack.base_url, staff.token)
    await again.subscribe(f"community:{world.community['id']}", since=missed_from)
    replayed = [await again.wait_status(rid, s) for s in LIFE[7:]]
    assert [e["seq"] for e in replayed] == seqs[7:]
    for ws in [dashboard, again, *phones.values()]:
        await ws.close()
    print(f"\norder → first offer on the caregiver's phone: {first_offer_s * 1000:.0f} ms")


async def test_elder_app_follows_own_order_and_far_check_in_is_flagged_not_refused(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.3,))
    caregiver = world.caregivers[0]
    elder = world.elders[0]
    elder_app = await world.user("elder", elder_id=elder["id"])
    ws = await Ws.connect(stack.base_url, elder_app.token, "/mobile/v1/ws")
    assert (await ws.subscribe(f"elder:{elder['id']}"))["type"] == "subscribed"

    order = await elder_app.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "bathing"}, 201)
    rid = order["id"]
    await ws.wait_status(rid, "offered")
    [offer] = await caregiver["api"].ok("GET", "/mobile/v1/offers")
    await caregiver["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    # Checking in 2 km away from home: accepted, but flagged for review.
    far_away = offset(world.home["lat"], world.home["lon"], north_km=2.0)
    visit = await caregiver["api"].ok("POST", f"/mobile/v1/requests/{rid}/check-in", far_away)
    assert visit["status"] == "in_service"
    assert visit["visit"]["location_flagged"] is True and visit["visit"]["checkin_distance_m"] > 1900
    assert "超出范围" in visit["history"][-1]["reason"]
    for status in ("accepted", "in_service"):
        event = await ws.wait_status(rid, status)
        assert event["channel"] == f"elder:{elder['id']}"
    mine = await elder_app.ok("GET", "/api/v1/requests")
    assert [r["id"] for r in mine] == [rid]
    await ws.close()


async def test_no_candidate_escalates_and_the_operator_assigns_by_hand(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,), skills=("meal",))
    operator = await world.user("operator")
    order = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "bathing"}, 201
    )
    rid = order["id"]
    ws = await Ws.connect(stack.base_url, operator.token)
    await ws.subscribe(f"request:{rid}", since=0)
    escalated = await ws.wait_status(rid, "escalated")
    assert escalated["data"]["reason"] == "无可派人员，转人工"
    assert await operator.ok("GET", f"/api/v1/requests/{rid}/candidates") == []

    # A bathing-skilled caregiver is reached by phone and assigned by hand.
    bather = await world.add_caregiver(8.0, skills=("bathing",))
    candidates = await operator.ok("GET", f"/api/v1/requests/{rid}/candidates")
    assert [c["caregiver_id"] for c in candidates] == [bather["id"]] and "8.0 公里" in candidates[0]["explanation"]
    # Their phone reports they moved closer; the dispatcher's distance follows.
    await bather["api"].ok("POST", "/mobile/v1/location", offset(world.home["lat"], world.home["lon"], east_km=2.0))
    [moved] = await operator.ok("GET", f"/api/v1/requests/{rid}/candidates")
    assert 1900 < moved["distance_m"] < 2100 and "2.0 公里" in moved["explanation"]
    off = await bather["api"].ok("POST", "/mobile/v1/shift", {"on_shift": False})
    assert off["on_shift"] is False
    assert await operator.ok("GET", f"/api/v1/requests/{rid}/candidates") == []
    assigned = await operator.ok(
        "POST", f"/api/v1/requests/{rid}/assign", {"caregiver_id": bather["id"], "reason": "电话联系确认"}
    )
    assert assigned["status"] == "accepted" and assigned["assigned_caregiver_id"] == bather["id"]
    assert assigned["history"][-1]["reason"] == "电话联系确认"
    held = await bather["api"].ok("GET", "/mobile/v1/requests")
    assert [r["id"] for r in held] == [rid]
    # Assigning again is an illegal transition.
    again = await operator.post(f"/api/v1/requests/{rid}/assign", {"caregiver_id": bather["id"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    await ws.close()


async def test_cancel_withdraws_the_offer_from_the_caregivers_phone(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    operator = await world.user("operator")
    phone = await Ws.connect(stack.base_url, caregiver["api"].token, "/mobile/v1/ws")
    await phone.subscribe(f"caregiver:{caregiver['id']}")
    order = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    created = await phone.wait_event("offer.created", request_id=order["id"])
    cancelled = await operator.ok("POST", f"/api/v1/requests/{order['id']}/cancel", {"reason": "老人住院"})
    assert cancelled["status"] == "cancelled"
    await phone.wait_event("offer.withdrawn", offer_id=created["data"]["offer_id"])
    assert await caregiver["api"].ok("GET", "/mobile/v1/offers") == []
    late = await caregiver["api"].post(f"/mobile/v1/offers/{created['data']['offer_id']}/accept")
    assert late.status_code == 409 and late.json()["error"]["code"] == "offer_not_pending"
    twice = await operator.post(f"/api/v1/requests/{order['id']}/cancel")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "illegal_transition"
    await phone.close()


async def test_an_emergency_nobody_takes_escalates_on_its_short_clock(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 0.9))
    operator = await world.user("operator")
    queue = await Ws.connect(stack.base_url, operator.token)
    await queue.subscribe(f"community:{world.community['id']}")
    order = await operator.ok(
        "POST",
        "/api/v1/requests",
        {"elder_id": world.elders[0]["id"], "service_type": "emergency", "priority": "emergency", "notes": "老人摔倒"},
        201,
    )
    offered = await queue.wait_status(order["id"], "offered", timeout=5)
    escalated = await queue.wait_status(order["id"], "escalated", timeout=20)
    waited = datetime.fromisoformat(escalated["data"]["at"]) - datetime.fromisoformat(offered["data"]["at"])
    assert 7 <= waited.total_seconds() <= 20  # the clock is 8 s; the sweep runs every 0.5 s
    assert "无人接单" in escalated["data"]["reason"]
    # Both caregivers' offers were withdrawn; the operator's escalated queue shows the order.
    for caregiver in world.caregivers:
        assert await caregiver["api"].ok("GET", "/mobile/v1/offers") == []
    waiting = await operator.ok("GET", f"/api/v1/requests?status=escalated&community_id={world.community['id']}")
    assert [r["id"] for r in waiting] == [order["id"]]
    assert waiting[0]["escalation_reason"] == "emergency_not_accepted"
    await queue.close()


async def test_redispatch_after_escalation_asks_everyone_again_and_busy_caregivers_cannot_be_assigned(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    second_elder = await world.add_elder()
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    queue = await Ws.connect(stack.base_url, operator.token)
    await queue.subscribe(f"community:{world.community['id']}")
    emergency = await operator.ok(
        "POST",
        "/api/v1/requests",
        {"elder_id": world.elders[0]["id"], "service_type": "emergency", "priority": "emergency"},
        201,
    )
    rid = emergency["id"]
    await queue.wait_status(rid, "offered")
    await queue.wait_status(rid, "escalated", timeout=20)

    # Community staff may watch but not move an order by hand.
    refused = await staff.post(f"/api/v1/requests/{rid}/redispatch")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_forbidden"
    # The operator redispatches: the caregiver whose offer was withdrawn is asked again, on a fresh clock.
    await operator.ok("POST", f"/api/v1/requests/{rid}/redispatch", {"reason": "联系上护理员，请再派"})
    await queue.wait_status(rid, "offered", timeout=10)
    [offer] = await caregiver["api"].ok("GET", "/mobile/v1/offers")
    assert offer["request_id"] == rid

    # Another order waits for the one caregiver (who will be free again) instead of escalating at once...
    other = await operator.ok("POST", "/api/v1/requests", {"elder_id": second_elder["id"], "service_type": "meal"}, 201)
    await queue.wait_status(other["id"], "dispatching")
    await asyncio.sleep(3)  # rounds and sweeps pass: still waiting
    assert (await operator.ok("GET", f"/api/v1/requests/{other['id']}"))["status"] == "dispatching"
    # ...and a caregiver holding an open offer cannot also be assigned it by hand.
    busy = await operator.post(f"/api/v1/requests/{other['id']}/assign", {"caregiver_id": caregiver["id"]})
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "caregiver_busy"
    assert (await operator.ok("GET", f"/api/v1/requests/{other['id']}"))["status"] == "dispatching"
    await caregiver["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    await queue.close()


async def test_the_operator_sees_which_rule_keeps_each_nearby_caregiver_from_an_order(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,), skills=("meal",))
    other = await make_world(caregivers_km=(0.5,))  # another provider, whose area is elsewhere
    eligible = world.caregivers[0]
    unskilled = await world.add_caregiver(0.7, skills=("cleaning",))
    resting = await world.add_caregiver(0.9, skills=("meal",))
    await resting["api"].ok("POST", "/mobile/v1/shift", {"on_shift": False})
    outsider = await world.add_caregiver(1.1, skills=("meal",), provider_id=other.provider["id"])
    operator = await world.user("operator")
    order = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    rid = order["id"]
    ws = await Ws.connect(stack.base_url, operator.token)
    await ws.subscribe(f"request:{rid}", since=0)
    await ws.wait_status(rid, "offered")

    nearby = await operator.ok("GET", f"/api/v1/requests/{rid}/nearby-caregivers?radius_km=2")
    reasons = {n["caregiver_id"]: [e["code"] for e in n["excluded_by"]] for n in nearby}
    # It was just offered to them: that is where they stand on it, not a reason they were left out.
    assert reasons[eligible["id"]] == []
    assert {n["caregiver_id"]: n["on_this_order"] for n in nearby}[eligible["id"]] == "offered"
    assert reasons[unskilled["id"]] == ["lacks_skill"]
    assert reasons[resting["id"]] == ["off_shift"]
    assert reasons[outsider["id"]] == ["outside_service_area"]
    mine = [eligible["id"], unskilled["id"], resting["id"], outsider["id"]]
    assert [n["caregiver_id"] for n in nearby if n["caregiver_id"] in mine] == mine  # nearest first
    assert [n["caregiver_id"] for n in nearby if n["eligible"]] == []  # the one eligible caregiver holds the offer
    worded = {n["caregiver_id"]: n["excluded_by"] for n in nearby}[resting["id"]]
    assert worded == [{"code": "off_shift", "reason": "不在班"}]
    english = await operator.get(
        f"/api/v1/requests/{rid}/nearby-caregivers?radius_km=2", headers={"Accept-Language": "en"}
    )
    assert {n["caregiver_id"]: n["excluded_by"] for n in english.json()}[unskilled["id"]][0][
        "reason"
    ] == "lacks the skill"
    # Once they decline, that is the rule that keeps them out of this dispatch.
    [offer] = await eligible["api"].ok("GET", "/mobile/v1/offers")
    await eligible["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/decline")
    await ws.wait_status(rid, "escalated")
    after = await operator.ok("GET", f"/api/v1/requests/{rid}/nearby-caregivers?radius_km=2")
    assert {n["caregiver_id"]: [e["code"] for e in n["excluded_by"]] for n in after}[eligible["id"]] == ["declined"]
    await ws.close()


async def test_same_gender_personal_care_and_blocked_caregivers_are_hard_rules(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    elder = await world.add_elder(same_gender_care=True)
    assert elder["gender"] in ("female", "male") and elder["same_gender_care"] is True
    other_gender = "male" if elder["gender"] == "female" else "female"
    same = await world.add_caregiver(0.6, skills=("bathing", "meal"), gender=elder["gender"])
    nearer = await world.add_caregiver(0.3, skills=("bathing", "meal"), gender=other_gender)
    operator = await world.user("operator")
    elder_app = await world.user("elder", elder_id=elder["id"])
    ws = await Ws.connect(stack.base_url, operator.token)
    await ws.subscribe(f"community:{world.community['id']}")

    async def first_offer_goes_to(service_type: str) -> int:
        order = await operator.ok(
            "POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": service_type}, 201
        )
        await ws.wait_status(order["id"], "offered")
        offered_to = [c["id"] for c in (same, nearer) if await c["api"].ok("GET", "/mobile/v1/offers")]
        await operator.ok("POST", f"/api/v1/requests/{order['id']}/cancel")
        return offered_to[0]

    assert await first_offer_goes_to("bathing") == same["id"]  # personal care: the elder's gender, though farther
    assert await first_offer_goes_to("meal") == nearer["id"]  # not personal care: simply the nearest

    # The elder asks never to be sent the caregiver who bathed them; now nobody may bathe them.
    blocked = await elder_app.ok(
        "POST",
        f"/api/v1/elders/{elder['id']}/blocked-caregivers",
        {"caregiver_id": same["id"], "reason": "不合适"},
        201,
    )
    assert blocked["caregiver_id"] == same["id"]
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "bathing"}, 201)
    await ws.wait_status(order["id"], "escalated")
    nearby = await operator.ok("GET", f"/api/v1/requests/{order['id']}/nearby-caregivers?radius_km=1")
    reasons = {n["caregiver_id"]: [e["code"] for e in n["excluded_by"]] for n in nearby}
    assert reasons[same["id"]] == ["blocked_by_elder"] and reasons[nearer["id"]] == ["gender"]

    stranger = await world.user("operator")
    assert [
        b["caregiver_id"] for b in await stranger.ok("GET", f"/api/v1/elders/{elder['id']}/blocked-caregivers")
    ] == [same["id"]]
    other_world = await make_world()
    foreign_staff = await other_world.user("community_staff", community_id=other_world.community["id"])
    refused = await foreign_staff.post(
        f"/api/v1/elders/{elder['id']}/blocked-caregivers", {"caregiver_id": nearer["id"]}
    )
    assert refused.status_code == 403
    lifted = await elder_app.http.delete(f"/api/v1/elders/{elder['id']}/blocked-caregivers/{same['id']}")
    assert lifted.status_code == 204
    assert await elder_app.ok("GET", f"/api/v1/elders/{elder['id']}/blocked-caregivers") == []
    await ws.close()
