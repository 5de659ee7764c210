"""Each role is refused outside its scope, on HTTP and on WebSocket subscriptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import jwt as pyjwt
import pytest
import websockets

from tests.client import Api, Ws
from tests.infra import STACK_SECRET


async def _order(api: Api, elder_id: int, service_type: str = "meal") -> dict:
    return await api.ok("POST", "/api/v1/requests", {"elder_id": elder_id, "service_type": service_type}, 201)


async def test_community_staff_see_only_their_community(stack, admin, make_world) -> None:
    mine, other = await make_world(), await make_world()
    staff = await mine.user("community_staff", community_id=mine.community["id"])
    operator = await mine.user("operator")
    own = await _order(operator, mine.elders[0]["id"])
    foreign = await _order(operator, other.elders[0]["id"])

    assert (await staff.get(f"/api/v1/requests/{own['id']}")).status_code == 200
    refused = await staff.get(f"/api/v1/requests/{foreign['id']}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "out_of_scope"
    queue = await staff.ok("GET", "/api/v1/requests")
    assert own["id"] in [r["id"] for r in queue] and foreign["id"] not in [r["id"] for r in queue]
    assert (await staff.get(f"/api/v1/requests?community_id={other.community['id']}")).status_code == 403
    assert (await staff.get(f"/api/v1/elders/{other.elders[0]['id']}")).status_code == 403
    assert (
        await staff.post("/api/v1/requests", {"elder_id": other.elders[0]["id"], "service_type": "meal"})
    ).status_code == 403
    cancel = await staff.post(f"/api/v1/requests/{foreign['id']}/cancel")
    assert cancel.status_code == 403
    assert (await operator.ok("GET", f"/api/v1/requests/{foreign['id']}"))["status"] != "cancelled"

    ws = await Ws.connect(stack.base_url, staff.token)
    assert (await ws.subscribe(f"community:{mine.community['id']}"))["type"] == "subscribed"
    for channel in (
        f"community:{other.community['id']}",
        f"street:{other.street['id']}",
        f"district:{other.district['id']}",
        f"request:{foreign['id']}",
        f"elder:{other.elders[0]['id']}",
        f"caregiver:{other.caregivers[0]['id']}",
    ):
        frame = await ws.subscribe(channel)
        assert frame["type"] == "error" and frame["code"] == "out_of_scope", (channel, frame)
    await ws.close()


async def test_district_staff_cover_every_community_of_their_district(stack, admin, make_world) -> None:
    world = await make_world()
    district_staff = await world.user("community_staff", district_id=world.district["id"])
    ws = await Ws.connect(stack.base_url, district_staff.token)
    for channel in (
        f"district:{world.district['id']}",
        f"street:{world.street['id']}",
        f"community:{world.community['id']}",
    ):
        assert (await ws.subscribe(channel))["type"] == "subscribed"
    await ws.close()


async def test_caregiver_sees_only_their_offers_and_orders(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    other = await make_world(caregivers_km=(0.5,))
    me, stranger = world.caregivers[0], other.caregivers[0]
    operator = await world.user("operator")
    theirs = await _order(operator, other.elders[0]["id"])
    phone = await Ws.connect(stack.base_url, stranger["api"].token, "/mobile/v1/ws")
    await phone.subscribe(f"caregiver:{stranger['id']}")
    offer = await phone.wait_event("offer.created", request_id=theirs["id"])

    # Not my offer: unknown to me. Not my order: refused.
    stolen = await me["api"].post(f"/mobile/v1/offers/{offer['data']['offer_id']}/accept")
    assert stolen.status_code == 404 and stolen.json()["error"]["code"] == "offer_not_found"
    assert (await me["api"].get(f"/api/v1/requests/{theirs['id']}")).status_code == 403
    assert (
        await me["api"].post(f"/mobile/v1/requests/{theirs['id']}/check-in", {"lat": 31.3, "lon": 120.6})
    ).status_code == 404
    assert (
        await me["api"].post("/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"})
    ).status_code == 403
    # The stranger still holds their offer.
    assert [o["id"] for o in await stranger["api"].ok("GET", "/mobile/v1/offers")] == [offer["data"]["offer_id"]]

    ws = await Ws.connect(stack.base_url, me["api"].token, "/mobile/v1/ws")
    assert (await ws.subscribe(f"caregiver:{me['id']}"))["type"] == "subscribed"
    for channel in (f"caregiver:{stranger['id']}", f"request:{theirs['id']}", f"community:{world.community['id']}"):
        frame = await ws.subscribe(channel)
        assert frame["type"] == "error" and frame["code"] == "out_of_scope", (channel, frame)
    for sock in (ws, phone):
        await sock.close()


async def test_elder_sees_only_their_own_orders(stack, admin, make_world) -> None:
    world = await make_world()
    neighbour = await world.add_elder()
    me = await world.user("elder", elder_id=world.elders[0]["id"])
    operator = await world.user("operator")
    theirs = await _order(operator, neighbour["id"])
    mine = await _order(me, world.elders[0]["id"])
    assert (await me.get(f"/api/v1/requests/{mine['id']}")).status_code == 200
    assert (await me.get(f"/api/v1/requests/{theirs['id']}")).status_code == 403
    assert (await me.post("/api/v1/requests", {"elder_id": neighbour["id"], "service_type": "meal"})).status_code == 403
    assert [r["id"] for r in await me.ok("GET", "/api/v1/requests")] == [mine["id"]]
    ws = await Ws.connect(stack.base_url, me.token, "/mobile/v1/ws")
    assert (await ws.subscribe(f"elder:{world.elders[0]['id']}"))["type"] == "subscribed"
    assert (await ws.subscribe(f"elder:{neighbour['id']}"))["code"] == "out_of_scope"
    assert (await ws.subscribe(f"request:{theirs['id']}"))["code"] == "out_of_scope"
    await ws.close()


async def test_provider_admin_manages_only_their_own_staff(stack, admin, make_world) -> None:
    world, other = await make_world(), await make_world()
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    assert (await boss.get(f"/api/v1/caregivers/{world.caregivers[0]['id']}")).status_code == 200
    assert (await boss.get(f"/api/v1/caregivers/{other.caregivers[0]['id']}")).status_code == 403
    hire = {
        "name": "新护理员",
        "phone": "13900001111",
        "username": "hire_elsewhere",
        "password": "long-enough-1",
        "skills": ["meal"],
        "location": world.home,
    }
    assert (await boss.post("/api/v1/caregivers", {**hire, "provider_id": other.provider["id"]})).status_code == 403
    assert (await boss.post("/api/v1/providers", {})).status_code in (403, 422)
    ws = await Ws.connect(stack.base_url, boss.token)
    assert (await ws.subscribe(f"caregiver:{world.caregivers[0]['id']}"))["type"] == "subscribed"
    assert (await ws.subscribe(f"caregiver:{other.caregivers[0]['id']}"))["code"] == "out_of_scope"
    await ws.close()


async def test_only_admins_register_providers_and_accounts(stack, admin, make_world) -> None:
    world = await make_world()
    operator = await world.user("operator")
    body = {
        "name": "x",
        "kind": "home_care",
        "community_ids": [world.community["id"]],
        "service_types": ["meal"],
        "location": world.home,
    }
    refused = await operator.post("/api/v1/providers", body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_forbidden"
    assert (
        await operator.post("/api/v1/users", {"username": "sneaky", "password": "12345678", "role": "admin"})
    ).status_code == 403


@pytest.mark.parametrize(
    "path", ["/api/v1/districts", "/api/v1/requests", "/mobile/v1/offers", "/api/v1/elders?phone=13900000000"]
)
async def test_every_route_needs_a_token(stack, path) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        anonymous = await http.get(path)
        forged = await http.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_token"


async def test_health_needs_no_token(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = (await http.get("/readyz")).json()
        spec = (await http.get("/openapi.json")).json()
        docs = await http.get("/docs")
    assert ready == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert {"/api/v1/requests", "/mobile/v1/offers/{offer_id}/accept", "/api/v1/auth/token"} <= set(spec["paths"])
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_websocket_refuses_anything_before_auth(stack) -> None:
    url = stack.base_url.replace("http", "ws", 1) + "/api/v1/ws"
    async with websockets.connect(url) as conn:
        await conn.send(json.dumps({"type": "subscribe", "channel": "community:1"}))
        frame = json.loads(await conn.recv())
        assert frame["type"] == "error" and frame["code"] == "auth_required"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await conn.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    async with websockets.connect(url) as conn:
        await conn.send(json.dumps({"type": "auth", "token": "forged"}))
        assert json.loads(await conn.recv())["code"] == "invalid_token"


async def test_malformed_frames_get_an_error_and_the_socket_lives_on(stack, admin) -> None:
    ws = await Ws.connect(stack.base_url, admin.token)
    await ws.conn.send(b"\x00\x01binary")
    assert (await ws.recv())["code"] == "bad_message"
    await ws.send({"type": "dance"})
    assert (await ws.recv())["code"] == "bad_message"
    await ws.conn.send("not json")
    assert (await ws.recv())["code"] == "bad_message"
    for channel in ("caregiver:²", "caregiver:99999999999999999999", "caregiver:0", "nothing:1", "community:abc"):
        frame = await ws.subscribe(channel)
        assert frame["type"] == "error" and frame["code"] == "bad_channel", (channel, frame)
    await ws.send({"type": "subscribe", "channel": "community:1", "since": "yesterday"})
    assert (await ws.recv())["code"] == "bad_since"
    await ws.send({"type": "ping"})
    assert (await ws.recv()) == {"type": "pong"}
    await ws.close()


async def test_out_of_range_ids_are_bad_input_not_server_errors(stack, admin) -> None:
    huge = 99999999999999999999
    for path in (f"/api/v1/requests/{huge}", f"/api/v1/requests?community_id={huge}", f"/api/v1/caregivers/{huge}"):
        response = await admin.get(path)
        assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error", path
    body = await admin.post("/api/v1/requests", {"elder_id": huge, "service_type": "meal"})
    assert body.status_code == 422 and body.json()["error"]["code"] == "validation_error"
    assert (await admin.get("/healthz")).status_code == 200  # the connection is still usable


async def test_a_websocket_session_ends_when_its_token_does(stack, admin) -> None:
    me = await admin.ok("GET", "/api/v1/users/me")
    exp = int(datetime.now(UTC).timestamp()) + 2
    short = pyjwt.encode({"sub": str(me["id"]), "role": "admin", "exp": exp}, STACK_SECRET, algorithm="HS256")
    ws = await Ws.connect(stack.base_url, short)
    assert (await ws.subscribe("district:1"))["type"] in ("subscribed", "error")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
