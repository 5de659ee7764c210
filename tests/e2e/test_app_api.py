"""The phone apps' API (issue 14), as the elder's, her family's and the caregiver's apps see it: the SOS button, the
family answering the ladder, who is coming, offers a caregiver can judge, where to go, today's route, the menu."""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from backend.core.geo import wgs84_to_gcj02
from backend.core.i18n import LOCAL_TZ
from tests.client import PASSWORD, Api, World, Ws, id_number, offer_for, offset, unique_phone
from tests.conftest import STACK_SETTINGS
from tests.e2e.test_families import family
from tests.e2e.test_scoring import order, serve

EMERGENCY = {"service_type": "emergency", "priority": "emergency"}


def eta(metres: float) -> int:
    """The platform's default travel estimate (an electric scooter, 15 km/h, roads 1.3 × the straight line)."""
    return math.ceil(metres * 1.3 / 1000 / 15 * 60)


async def member(stack: Any, staff: Api, elder: dict[str, Any], **consent: Any) -> tuple[Api, int]:
    """A family member of the elder with their own account (and these consents), signed in; their user id."""
    username = f"fam_{uuid.uuid4().hex[:10]}"
    added = await family(staff, elder, username=username, **consent)
    return await Api.login(stack.base_url, username, PASSWORD), int(added["user_id"])


async def rung(api: Api, request_id: int, code: str, timeout: float = 20) -> list[dict[str, Any]]:
    """The order's ladder once the rung ``code`` has started (its timer runs from the database)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        ladder: list[dict[str, Any]] = await api.ok("GET", f"/api/v1/requests/{request_id}/ladder")
        if any(s["code"] == code and s["started_at"] for s in ladder):
            return ladder
        await asyncio.sleep(0.2)
    raise AssertionError(f"the ladder of {request_id} never reached {code}")


async def test_the_elders_sos_opens_one_emergency_absorbs_further_presses_and_is_throttled(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=())  # nobody takes it: her emergency stays open
    elder = world.elders[0]
    sos = f"/api/v1/elders/{elder['id']}/sos"
    staff = await world.user("community_staff", community_id=world.community["id"])
    herself = await world.user("elder", elder_id=elder["id"])
    son, _ = await member(stack, staff, elder, act_for_elder=True)  # she lets him act for her
    daughter, _ = await member(stack, staff, elder)  # she only follows her orders
    dashboard = await Ws.connect(stack.base_url, staff.token)
    await dashboard.subscribe(f"elder:{elder['id']}")

    first = await herself.post(sos, {"note": "摔倒了，起不来"})
    assert first.status_code == 201, first.text
    assert first.json()["absorbed"] is False
    rid = first.json()["request_id"]
    opened = await staff.ok("GET", f"/api/v1/requests/{rid}")
    assert (opened["priority"], opened["service_type"], opened["elder_id"]) == ("emergency", "emergency", elder["id"])
    assert opened["history"][0]["by"].startswith("elder:") and "摔倒了" in opened["notes"]
    # Her own call: the ladder starts with the hotline calling her back (staff who took a call skip that rung).
    ladder = await staff.ok("GET", f"/api/v1/requests/{rid}/ladder")
    assert (ladder[0]["code"], ladder[0]["status"]) == ("operator_callback", "active")
    told = await dashboard.wait_event("sos.pressed", request_id=rid)
    assert told["data"]["absorbed"] is False and told["data"]["by"] == "elder"

    # She presses again: the same emergency, and whoever follows that order hears it.
    follower = await Ws.connect(stack.base_url, staff.token)
    await follower.subscribe(f"request:{rid}")
    assert await herself.ok("POST", sos, None, 201) == {"request_id": rid, "absorbed": True}
    again = await follower.wait_event("sos.pressed", request_id=rid)
    assert again["data"]["absorbed"] is True
    # Her son may press for her; her daughter, who only follows her orders, may not (and it is not counted).
    assert await son.ok("POST", sos, {}, 201) == {"request_id": rid, "absorbed": True}
    refused = await daughter.post(sos, {})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "out_of_scope"
    # An emergency order from her app takes the same path: her open emergency, answered 201.
    placed = await herself.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], **EMERGENCY}, 201)
    assert placed["id"] == rid and placed["priority"] == "emergency"
    assert await staff.ok("POST", sos, {}, 201) == {"request_id": rid, "absorbed": True}  # staff in her name

    # Five presses in ten minutes (the stack's ELDERCARE_SOS_LIMIT): the sixth waits.
    assert STACK_SETTINGS["ELDERCARE_SOS_LIMIT"] == "5/10 minutes"
    throttled = await herself.post(sos, {})
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(throttled.headers["Retry-After"]) <= 600
    assert (await herself.post("/api/v1/requests", {"elder_id": elder["id"], **EMERGENCY})).status_code == 429
    # However often she pressed: one emergency order.
    assert [o["id"] for o in await staff.ok("GET", f"/api/v1/requests?elder_id={elder['id']}")] == [rid]
    # Bad input is a clear 4xx.
    assert (await herself.post(sos, {"note": "x" * 201})).status_code == 422
    assert (await admin.post("/api/v1/elders/999999999/sos", {})).status_code == 404
    await dashboard.close()
    await follower.close()


async def test_her_family_answers_the_ladder_once_it_reaches_them(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    elder, neighbour = world.elders[0], await world.add_elder()
    staff = await world.user("community_staff", community_id=world.community["id"])
    herself = await world.user("elder", elder_id=elder["id"])
    daughter, daughter_id = await member(stack, staff, elder)  # follows her orders: may answer
    cousin, _ = await member(stack, staff, elder, see_orders=False)
    rid = (await herself.ok("POST", f"/api/v1/elders/{elder['id']}/sos", {}, 201))["request_id"]
    act = f"/api/v1/requests/{rid}/ladder/act"

    # The hotline is still calling her back: the family is not asked yet.
    early = await daughter.post(act, {"answer": "on_my_way"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "family_not_reached"
    assert (await cousin.post(act, {"answer": "on_my_way"})).status_code == 403  # does not see her orders
    assert (await daughter.post(act, {"answer": "later"})).status_code == 422

    phone = await Ws.connect(stack.base_url, daughter.token)
    await phone.subscribe(f"request:{rid}")
    await rung(staff, rid, "family")  # nobody picked up: the ladder told the family
    steps = await daughter.ok("POST", act, {"answer": "on_my_way"})
    (done,) = [s for s in steps if s["status"] == "done"]
    assert done["acted_by"] == f"family:{daughter_id}" and done["note"] == "我正在赶去" and done["ended_at"]
    assert steps[0]["status"] == "expired" and all(s["status"] == "stopped" for s in steps[steps.index(done) + 1 :])
    stopped = await phone.wait_event("ladder.stopped", request_id=rid)
    assert stopped["data"]["answer"] == "on_my_way" and stopped["data"]["by"] == f"family:{daughter_id}"
    record = (await staff.ok("GET", f"/api/v1/requests/{rid}"))["ladder"]
    assert next(r for r in record if r["status"] == "done")["acted_by"] == f"family:{daughter_id}"
    again = await daughter.post(act, {"answer": "reached_elder"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "ladder_not_running"

    # Another elder's son reached her by phone: his answer is the note.
    son, son_id = await member(stack, staff, neighbour)
    other = await staff.ok("POST", f"/api/v1/elders/{neighbour['id']}/sos", {}, 201)
    await rung(staff, other["request_id"], "family")
    steps = await son.ok("POST", f"/api/v1/requests/{other['request_id']}/ladder/act", {"answer": "reached_elder"})
    # Staff who pressed for her had her on the line already (the callback is done); the son's answer ends the rest.
    assert (steps[0]["code"], steps[0]["status"]) == ("operator_callback", "done")
    (done,) = [s for s in steps if s["acted_by"] == f"family:{son_id}"]
    assert done["status"] == "done" and done["note"] == "我已联系上老人"
    await phone.close()


async def test_who_is_coming_with_their_number_for_her_family_and_how_far_away(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver, elder = world.caregivers[0], world.elders[0]
    cid, mobile = caregiver["id"], caregiver["api"]
    staff = await world.user("community_staff", community_id=world.community["id"])
    herself = await world.user("elder", elder_id=elder["id"])
    daughter, _ = await member(stack, staff, elder)
    elsewhere = await make_world(caregivers_km=())
    stranger = await elsewhere.user("elder", elder_id=elsewhere.elders[0]["id"])
    rid = await order(await world.user("operator"), elder)
    coming = f"/api/v1/requests/{rid}/coming"

    waiting = await herself.ok("GET", coming)
    assert waiting["caregivers"] == [] and waiting["distance_m"] is None and waiting["eta_minutes"] is None
    await mobile.ok("POST", f"/mobile/v1/offers/{(await offer_for(mobile, rid))['id']}/accept")
    accepted = await herself.ok("GET", coming)
    assert accepted["status"] == "accepted"
    assert accepted["caregivers"] == [{"id": cid, "name": caregiver["name"], "phone": caregiver["phone"], "lead": True}]
    assert 450 < accepted["distance_m"] < 550 and accepted["eta_minutes"] == eta(accepted["distance_m"])
    assert accepted["position_at"] is None  # the phone has not reported where it is
    # Staff of her area see the order, not the caregiver's number; another elder does not see it at all.
    by_staff = await staff.ok("GET", coming)
    assert by_staff["caregivers"][0]["name"] == caregiver["name"] and "****" in by_staff["caregivers"][0]["phone"]
    assert (await stranger.get(coming)).status_code == 403

    # On the way: the phone reports where it is; her family sees the distance shrink... or grow, and can call.
    await mobile.ok("POST", f"/mobile/v1/requests/{rid}/en-route")
    before = datetime.now(UTC) - timedelta(seconds=5)
    await mobile.ok("POST", "/mobile/v1/location", offset(world.home["lat"], world.home["lon"], east_km=2.0))
    moving = await daughter.ok("GET", coming)
    assert moving["status"] == "en_route" and moving["caregivers"][0]["phone"] == caregiver["phone"]
    assert 1900 < moving["distance_m"] < 2100 and moving["eta_minutes"] == eta(moving["distance_m"])
    assert datetime.fromisoformat(moving["position_at"]) >= before

    # At the door: nothing left to estimate; after the visit her number for them is masked again.
    await mobile.ok("POST", f"/mobile/v1/requests/{rid}/check-in", world.home)
    there = await herself.ok("GET", coming)
    assert (there["status"], there["distance_m"], there["eta_minutes"]) == ("in_service", None, None)
    assert there["caregivers"][0]["phone"] == caregiver["phone"]
    await mobile.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {})
    over = await daughter.ok("GET", coming)
    assert over["status"] == "completed" and "****" in over["caregivers"][0]["phone"]


def _id_number(gender: str) -> str:
    """A valid resident ID number, not used before, of a woman or a man (the 17th digit: odd for men)."""
    while True:
        number = id_number(born="19430608")
        if (int(number[16]) % 2 == 1) == (gender == "male"):
            return number


async def _elder(world: World, name: str, gender: str, east_km: float = 0.0) -> dict[str, Any]:
    body = {
        "name": name,
        "id_number": _id_number(gender),
        "phone": unique_phone(),
        "community_id": world.community["id"],
        "address": f"平江路 {uuid.uuid4().int % 900 + 100} 号",
        "location": offset(world.home["lat"], world.home["lon"], east_km=east_km),
    }
    elder: dict[str, Any] = await world.admin.ok("POST", "/api/v1/elders", body, 201)
    return elder


async def test_offers_greet_the_elder_by_surname_and_her_number_comes_with_the_order(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    mobile = caregiver["api"]
    elder = await _elder(world, "王秀英", "female")
    assert elder["gender"] == "female"
    rid = await order(await world.user("operator"), elder)

    offer = await offer_for(mobile, rid)
    assert offer["elder_name"] == "王奶奶" and offer["service_name"] == "助餐" and offer["caregivers_needed"] == 1
    assert offer["area"] == f"{world.street['name']} {world.community['name']}" and offer["partner"] is None
    shown = str(offer)
    for secret in ("王秀英", elder["address"], elder["phone"], elder["id_number"]):
        assert secret not in shown  # no full name, address, phone or ID number before it is theirs
    english = await mobile.http.get("/mobile/v1/offers", headers={"Accept-Language": "en"})
    assert [o["service_name"] for o in english.json() if o["request_id"] == rid] == ["Meal help"]

    # Hers now: where to go, and her number whole while the visit is ahead or under way.
    taken = await mobile.ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    assert taken["destination"]["elder_name"] == "王秀英" and taken["destination"]["phone"] == elder["phone"]
    assert (await mobile.ok("GET", f"/mobile/v1/requests/{rid}"))["destination"]["phone"] == elder["phone"]
    await mobile.ok("POST", f"/mobile/v1/requests/{rid}/en-route")
    at_door = await mobile.ok("POST", f"/mobile/v1/requests/{rid}/check-in", elder["location"])
    assert at_door["destination"]["phone"] == elder["phone"]
    done = await mobile.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {})
    assert done["destination"]["phone"] != elder["phone"] and "****" in done["destination"]["phone"]
    # The reads of her file by the caregiver's phone are in her access log.
    log = await admin.ok("GET", f"/api/v1/audit-log?subject=elder:{elder['id']}&action=elder.read&limit=500")
    assert any(row["actor_role"] == "caregiver" for row in log)


async def test_a_two_caregiver_offer_names_the_colleague_already_on_the_crew(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 0.8), skills=("meal", "bed_bathing"))
    near, other = world.caregivers
    grandpa = await _elder(world, "欧阳建国", "male")
    rid = int(
        (
            await (await world.user("operator")).ok(
                "POST", "/api/v1/requests", {"elder_id": grandpa["id"], "service_type": "bed_bathing"}, 201
            )
        )["id"]
    )
    first = await offer_for(near["api"], rid)
    assert first["elder_name"] == "欧阳爷爷" and first["caregivers_needed"] == 2 and first["partner"] is None
    await near["api"].ok("POST", f"/mobile/v1/offers/{first['id']}/accept")
    second = await offer_for(other["api"], rid)
    assert second["partner"] == {"id": near["id"], "name": near["name"]}


async def test_todays_stops_in_visiting_order_with_three_map_apps(stack, admin, make_world) -> None:
    now = datetime.now(LOCAL_TZ)
    if now.hour >= 21:
        pytest.skip("a visit later today needs a few hours of the Suzhou day left")
    world = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    mobile = caregiver["api"]
    operator = await world.user("operator")
    served_elder, asap_elder = world.elders[0], await world.add_elder(east_km=0.3)
    later_elder, tomorrow_elder = await world.add_elder(east_km=0.6), await world.add_elder(east_km=0.9)

    served = await serve(world, operator, caregiver, served_elder)  # done this morning, say
    later = await order(operator, later_elder, window_start=(now + timedelta(hours=2)).isoformat())
    await mobile.ok("POST", f"/mobile/v1/offers/{(await offer_for(mobile, later))['id']}/accept")
    asap = await order(operator, asap_elder)
    await mobile.ok("POST", f"/mobile/v1/offers/{(await offer_for(mobile, asap))['id']}/accept")
    tomorrow = await order(operator, tomorrow_elder, window_start=(now + timedelta(days=1)).isoformat())
    await mobile.ok("POST", f"/mobile/v1/offers/{(await offer_for(mobile, tomorrow))['id']}/accept")

    day = await mobile.ok("GET", "/mobile/v1/today")
    assert day["day"] == now.date().isoformat()
    # By the caregiver's calendar: the visit done, the one booked from now, the one booked for later; not tomorrow's.
    assert [s["order"]["id"] for s in day["stops"]] == [served, asap, later]
    done, first, last = day["stops"]
    assert done["order"]["status"] == "completed" and done["order"]["visit"]["checkout_at"]
    assert done["planned_arrival"] is None and "****" in done["order"]["destination"]["phone"]
    assert first["order"]["status"] == "accepted" and first["order"]["destination"]["phone"] == asap_elder["phone"]
    arrival = datetime.fromisoformat(last["planned_arrival"])
    assert abs((arrival - (now + timedelta(hours=2))).total_seconds()) < 60  # the window she asked for
    assert datetime.fromisoformat(last["planned_departure"]) - arrival == timedelta(minutes=45)  # meal help
    # Each stop hands the trip to the phone's map app; Tencent's takes GCJ-02, converted from her WGS-84 home.
    where = first["order"]["destination"]
    lat, lon = where["location"]["lat"], where["location"]["lon"]
    glat, glon = wgs84_to_gcj02(lat, lon)
    name = quote(where["address"], safe="")
    links = first["navigation"]
    assert links["amap"].startswith("https://uri.amap.com/navigation?")
    assert f"to={lon:.6f},{lat:.6f},{name}&" in links["amap"] and "coordinate=wgs84" in links["amap"]
    assert links["baidu"].startswith("baidumap://map/direction?")
    assert (
        f"destination=name:{name}|latlng:{lat:.6f},{lon:.6f}&" in links["baidu"]
        and "coord_type=wgs84" in links["baidu"]
    )
    assert links["tencent"].startswith("qqmap://map/routeplan?") and f"to={name}&" in links["tencent"]
    assert f"tocoord={glat:.6f},{glon:.6f}&" in links["tencent"] and "fromcoord=CurrentLocation" in links["tencent"]
    assert where["address"] not in "".join(links.values())  # names travel URL-encoded
    # The day's orders read as the order itself does.
    assert first["order"] == await mobile.ok("GET", f"/mobile/v1/requests/{asap}")


async def test_the_elders_menu_says_what_is_free_and_what_it_would_cost(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    elder = world.elders[0]  # born 1945: over 80, the government buys her a few orders a month
    staff = await world.user("community_staff", community_id=world.community["id"])
    herself = await world.user("elder", elder_id=elder["id"])
    watcher, _ = await member(stack, staff, elder)  # follows her orders, may not act for her
    helper, _ = await member(stack, staff, elder, act_for_elder=True)
    cheaper = await admin.ok(
        "POST",
        "/api/v1/providers",
        {
            "name": f"平价助餐点{uuid.uuid4().hex[:6]}",
            "kind": "home_care",
            "community_ids": [world.community["id"]],
            "service_types": ["meal"],
            "location": world.home,
        },
        201,
    )
    await admin.ok(
        "PUT", f"/api/v1/providers/{world.provider['id']}/rates", [{"service_type": "meal", "price_yuan": 30}]
    )
    await admin.ok("PUT", f"/api/v1/providers/{cheaper['id']}/rates", [{"service_type": "meal", "price_yuan": 21.5}])
    entitled = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/entitlement")
    assert entitled["remaining"] > 0

    menu = await herself.ok("GET", f"/api/v1/elders/{elder['id']}/menu")
    assert (menu["elder_id"], menu["month"], menu["quota"], menu["remaining"]) == (
        elder["id"],
        entitled["month"],
        entitled["quota"],
        entitled["remaining"],
    )
    assert menu["next_order_paid_by"] == "government"
    items = {i["code"]: i for i in menu["items"]}
    assert "emergency" not in items and "day_care" not in items  # the SOS button; day care is booked by the day
    assert items["meal"] == {
        "code": "meal",
        "name": "助餐",
        "free": True,
        "price_fen": 2150,  # self-pay: the cheapest provider serving her community
        "price_yuan": "21.50",
        "minutes": 45,
        "caregivers_needed": 1,
        "available": True,
    }
    assert (items["cleaning"]["price_fen"], items["cleaning"]["price_yuan"]) == (None, None)  # no price set
    assert items["cleaning"]["available"] is True
    assert items["companionship"]["available"] is False  # nobody serving her offers it
    assert items["bed_bathing"]["caregivers_needed"] == 2
    english = await herself.http.get(f"/api/v1/elders/{elder['id']}/menu", headers={"Accept-Language": "en"})
    assert {i["code"]: i["name"] for i in english.json()["items"]}["meal"] == "Meal help"

    # Her quota used up: nothing is free any more, the prices stay.
    for _ in range(entitled["remaining"]):
        await staff.ok(
            "POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal", "paid_by": "government"}, 201
        )
    spent = await helper.ok("GET", f"/api/v1/elders/{elder['id']}/menu")  # her family, with her consent to act
    assert (spent["remaining"], spent["next_order_paid_by"]) == (0, "self")
    assert (
        not any(i["free"] for i in spent["items"])
        and {i["code"]: i for i in spent["items"]}["meal"]["price_yuan"] == "21.50"
    )
    # Family who only follow her orders never read her benefit status; nor does another area's staff.
    refused = await watcher.get(f"/api/v1/elders/{elder['id']}/menu")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "out_of_scope"
    elsewhere = await make_world(caregivers_km=())
    outsider = await elsewhere.user("community_staff", community_id=elsewhere.community["id"])
    assert (await outsider.get(f"/api/v1/elders/{elder['id']}/menu")).status_code == 403
