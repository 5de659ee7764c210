"""Bad input answers a clear 4xx with a stable code, and nothing is stored. Personal data stays masked."""

from __future__ import annotations

import jsonschema
import pytest

from tests.client import Ws, id_number, unique_phone


def _elder(world, **changes) -> dict:
    return {
        "name": "李老伯",
        "id_number": id_number(born="19380115", region="320583"),
        "phone": unique_phone(),
        "community_id": world.community["id"],
        "address": "人民路 8 号",
        "location": world.home,
    } | changes


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"id_number": "32050219450302123X"}, 422, "invalid_id_number"),  # wrong check digit
        ({"id_number": "320502194502301234"}, 422, "invalid_id_number"),  # 30 February
        ({"id_number": "999999194503021234"}, 422, "invalid_id_number"),  # region never issued
        ({"phone": "12345"}, 422, "invalid_phone"),
        ({"phone": "+1 202 555 0100"}, 422, "invalid_phone"),
        ({"location": {"lat": 91, "lon": 120.6}}, 422, "validation_error"),
        ({"location": {"lat": 31.3, "lon": -181}}, 422, "validation_error"),
        ({"community_id": 987654321}, 422, "unknown_community"),
    ],
)
async def test_bad_elder_registration_is_refused_and_nothing_is_stored(stack, admin, make_world, changes, status, code):
    world = await make_world()
    body = _elder(world, **changes)
    response = await admin.post("/api/v1/elders", body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    if "phone" not in changes:
        assert await admin.ok("GET", f"/api/v1/elders?phone={body['phone']}") == []


async def test_elders_born_before_their_county_code_existed_are_accepted(stack, admin, make_world):
    world = await make_world()
    # 320508 (姑苏区) was created in 2012; a 1945 birth with it is genuine for an elder re-registered there.
    created = await admin.post("/api/v1/elders", _elder(world, id_number=id_number(born="19450302", region="320508")))
    assert created.status_code == 201, created.text


async def test_bad_orders_are_refused_and_nothing_is_stored(stack, admin, make_world):
    world = await make_world()
    operator = await world.user("operator")
    elder_id = world.elders[0]["id"]
    cases = [
        ({"elder_id": elder_id, "service_type": "massage"}, 422, "unknown_service_type"),
        ({"elder_id": 987654321, "service_type": "meal"}, 422, "unknown_elder"),
        ({"elder_id": elder_id, "service_type": "meal", "priority": "whenever"}, 422, "validation_error"),
        (
            {
                "elder_id": elder_id,
                "service_type": "meal",
                "window_start": "2026-12-01T11:00:00+08:00",
                "window_end": "2026-12-01T10:00:00+08:00",
            },
            422,
            "invalid_window",
        ),
        ({"elder_id": elder_id, "service_type": "meal", "window_start": "tomorrow"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = await operator.post("/api/v1/requests", body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code
    assert await operator.ok("GET", f"/api/v1/requests?community_id={world.community['id']}") == []


async def test_bad_registry_references_are_refused(stack, admin, make_world):
    world = await make_world()
    provider = {
        "name": "x",
        "kind": "home_care",
        "community_ids": [world.community["id"]],
        "service_types": ["meal"],
        "location": world.home,
    }
    for changes, code in (
        ({"community_ids": [987654321]}, "unknown_community"),
        ({"service_types": ["massage"]}, "unknown_service_type"),
        ({"kind": "spa"}, "validation_error"),
    ):
        response = await admin.post("/api/v1/providers", provider | changes)
        assert response.status_code == 422 and response.json()["error"]["code"] == code
    caregiver = {
        "provider_id": world.provider["id"],
        "name": "王阿姨",
        "phone": "1390000",
        "username": "bad_phone_cg",
        "password": "long-enough-1",
        "skills": ["meal"],
        "location": world.home,
    }
    response = await admin.post("/api/v1/caregivers", caregiver)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_phone"
    # The account was not created either: the username is still free.
    ok = await admin.post("/api/v1/caregivers", caregiver | {"phone": "13900002222"})
    assert ok.status_code == 201, ok.text
    taken = await admin.post("/api/v1/caregivers", caregiver | {"phone": "13900003333"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "username_taken"


async def test_illegal_transitions_answer_409(stack, admin, make_world):
    world = await make_world(caregivers_km=(0.5,))
    caregiver = world.caregivers[0]
    operator = await world.user("operator")
    order = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    phone = await Ws.connect(stack.base_url, caregiver["api"].token, "/mobile/v1/ws")
    await phone.subscribe(f"caregiver:{caregiver['id']}", since=0)
    offer = await phone.wait_event("offer.created", request_id=order["id"])
    await caregiver["api"].ok("POST", f"/mobile/v1/offers/{offer['data']['offer_id']}/accept")
    checkout = await caregiver["api"].post(f"/mobile/v1/requests/{order['id']}/check-out")
    assert checkout.status_code == 409 and checkout.json()["error"]["code"] == "illegal_transition"
    assert "不能改为" in checkout.json()["error"]["message"]
    english = await caregiver["api"].post(
        f"/mobile/v1/requests/{order['id']}/check-out", headers={"Accept-Language": "en"}
    )
    assert english.json()["error"]["message"] == "Cannot move an order from accepted to completed"
    assert (await operator.ok("GET", f"/api/v1/requests/{order['id']}"))["status"] == "accepted"
    await phone.close()


async def test_personal_data_is_masked_except_for_admins_and_never_in_events(stack, admin, make_world):
    world = await make_world(caregivers_km=(0.5,))
    body = _elder(world)
    created = await admin.ok("POST", "/api/v1/elders", body, 201)
    assert created["id_number"] == body["id_number"] and created["phone"] == f"+86{body['phone']}"
    operator = await world.user("operator")
    [seen] = await operator.ok("GET", f"/api/v1/elders?phone={body['phone']}")
    assert seen["id_number"] == body["id_number"][:4] + "*" * 10 + body["id_number"][-4:]
    assert seen["phone"] == body["phone"][:3] + "****" + body["phone"][-4:]
    own = await world.user("elder", elder_id=created["id"])
    assert (await own.ok("GET", f"/api/v1/elders/{created['id']}"))["id_number"] == body["id_number"]

    ws = await Ws.connect(stack.base_url, operator.token)
    await ws.subscribe(f"elder:{created['id']}")
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": created["id"], "service_type": "meal"}, 201)
    await ws.wait_status(order["id"], "offered")
    wire = repr(ws.frames)
    assert body["id_number"] not in wire and body["phone"][-8:] not in wire and "李老伯" not in wire
    for log in ("api", "worker"):
        text = stack.processes[log].log()
        assert body["id_number"] not in text and body["phone"][-8:] not in text
    # Free text typed by a person is masked before it is broadcast.
    await operator.ok("POST", f"/api/v1/requests/{order['id']}/cancel", {"reason": "家属来电 13912345678 取消"})
    cancelled = await ws.wait_status(order["id"], "cancelled")
    assert cancelled["data"]["reason"] == "家属来电 139****5678 取消"
    await ws.close()


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def test_a_refusal_speaks_the_clients_one_language(stack, admin, make_world):
    """Chinese by default, English when asked: pydantic's words, the platform's own checks and unknown addresses."""
    world = await make_world(caregivers_km=())
    english = {"Accept-Language": "en-GB,en;q=0.9"}
    bad_order = {"elder_id": "x", "service_type": "meal", "priority": "whenever"}
    bad_provider = {
        "name": "语言测试",
        "kind": "home_care",
        "location": world.home,
        "community_ids": [world.community["id"]],
        "uscc": "91320500MA1X2Y3Z4Q",
    }
    for method, path, body in [
        ("POST", "/api/v1/requests", bad_order),
        ("POST", "/api/v1/providers", bad_provider),
        ("GET", "/api/v1/no-such-thing", None),
        ("DELETE", "/api/v1/requests", None),
    ]:
        zh = (await admin.http.request(method, path, json=body)).json()
        en = (await admin.http.request(method, path, json=body, headers=english)).json()
        zh_texts = [zh["error"]["message"], *(d["msg"] for d in zh.get("detail", []))]
        en_texts = [en["error"]["message"], *(d["msg"] for d in en.get("detail", []))]
        assert all(_has_chinese(t) for t in zh_texts), (path, zh_texts)
        assert not any(_has_chinese(t) for t in en_texts), (path, en_texts)
        assert zh["error"]["code"] == en["error"]["code"]
    order = (await admin.post("/api/v1/requests", bad_order)).json()
    assert order["detail"][0]["msg"] == "应为整数"
    assert order["error"]["message"] == "输入有误：elder_id 应为整数"
    missing = (await admin.http.get("/api/v1/no-such-thing", headers=english)).json()
    assert missing["error"] == {"code": "not_found", "message": "No such address"}


async def test_the_openapi_description_says_how_each_operation_refuses_in_the_real_shape(stack, admin):
    spec = (await admin.http.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's default shape is not what the platform answers
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            answers = set(operation["responses"])
            assert not operation.get("security") or {"401", "403"} <= answers, (method, path)
            assert "{" not in path or "404" in answers, (method, path)
            assert method not in ("post", "put", "patch", "delete") or "409" in answers, (method, path)
            if "422" in answers:
                described = operation["responses"]["422"]["content"]["application/json"]["schema"]
                assert described == {"$ref": "#/components/schemas/ValidationError"}, (method, path)
    # What is described is what comes back.
    missing = await admin.get("/api/v1/requests/987654321")
    assert missing.status_code == 404
    jsonschema.validate(missing.json(), schemas["Error"])
    invalid = await admin.post("/api/v1/requests", {"elder_id": "x"})
    assert invalid.status_code == 422
    jsonschema.validate(invalid.json(), schemas["ValidationError"])
    anonymous = await admin.http.get("/api/v1/requests", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    jsonschema.validate(anonymous.json(), schemas["Error"])


async def test_a_field_the_platform_does_not_know_is_refused_not_ignored(stack, admin, make_world):
    world = await make_world(caregivers_km=())
    elder = world.elders[0]
    operator = await world.user("operator")
    # A misspelt priority would otherwise pass for a normal order.
    typo = await operator.post(
        "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal", "priorty": "urgent"}
    )
    assert typo.status_code == 422, typo.text
    assert typo.json()["error"]["code"] == "unknown_field"
    assert typo.json()["detail"][0]["loc"] == ["body", "priorty"]
    assert typo.json()["error"]["message"] == "输入有误：priorty 不是可接受的字段（请检查拼写）"
    assert [r for r in await operator.ok("GET", f"/api/v1/requests?elder_id={elder['id']}")] == []
    # Nested too: a point with a field besides lat, lon and crs.
    moved = await admin.post("/api/v1/elders", _elder(world, location={**world.home, "datum": "gcj02"}))
    assert moved.status_code == 422 and moved.json()["error"]["code"] == "unknown_field"
