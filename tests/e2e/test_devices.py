"""One-key devices: a red button opens an emergency order once, green asks for a callback, silence is noticed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import col, func, select, update

from backend.core.runtime import Runtime
from backend.devices.models import Device
from backend.devices.tasks import sweep_dormant
from backend.orders.models import ServiceRequest
from tests.client import Api, Ws


async def install(staff: Api, elder: dict[str, Any]) -> dict[str, Any]:
    body = {
        "elder_id": elder["id"],
        "serial": f"YJT-{uuid.uuid4().hex[:12]}",
        "model": "安康通 AK-3",
        "sim": "1440012345678",
    }
    return await staff.ok("POST", "/api/v1/devices", body, 201)


async def press(
    base_url: str, device: dict[str, Any], button: str, alarm_id: str | None = None, secret: str | None = None
) -> httpx.Response:
    body = {"alarm_id": alarm_id or uuid.uuid4().hex, "button": button, "at": datetime.now(UTC).isoformat()}
    auth = f"Device {device['serial']}:{secret or device['secret']}"
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        return await http.post("/api/v1/devices/alarms", json=body, headers={"Authorization": auth})


async def test_a_red_alarm_opens_one_emergency_order_however_often_it_arrives(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world(caregivers_km=(0.5,))
    elder = world.elders[0]
    staff = await world.user("community_staff", community_id=world.community["id"])
    device = await install(staff, elder)
    assert device["secret"] and device["active"] is True
    taken = await staff.post("/api/v1/devices", {"elder_id": elder["id"], "serial": device["serial"], "model": "x"})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "serial_taken"
    other = await make_world(caregivers_km=())
    stranger = await other.user("community_staff", community_id=other.community["id"])
    assert (
        await stranger.post("/api/v1/devices", {"elder_id": elder["id"], "serial": "YJT-X-1", "model": "x"})
    ).status_code == 403
    listed = await staff.ok("GET", f"/api/v1/devices?elder_id={elder['id']}")
    assert [d["serial"] for d in listed] == [device["serial"]] and "secret" not in listed[0]

    dashboard = await Ws.connect(stack.base_url, staff.token)
    await dashboard.subscribe(f"community:{world.community['id']}")
    alarm_id = "A-" + uuid.uuid4().hex[:10]
    first = await press(stack.base_url, device, "red", alarm_id)
    assert first.status_code == 201, first.text
    rid = first.json()["request_id"]
    told = await dashboard.wait_event("device.alarm", request_id=rid)
    assert told["data"]["button"] == "red" and told["data"]["elder_id"] == elder["id"]
    order = await staff.ok("GET", f"/api/v1/requests/{rid}")
    assert (order["priority"], order["service_type"], order["elder_id"]) == ("emergency", "emergency", elder["id"])
    assert order["history"][0]["by"] == f"system:device:{device['serial']}"
    # The device retries (and a burst of retries arrives at once): counted once, the same order.
    again = await press(stack.base_url, device, "red", alarm_id)
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    burst_id = "B-" + uuid.uuid4().hex[:10]
    burst = await asyncio.gather(*(press(stack.base_url, device, "red", burst_id) for _ in range(6)))
    assert sorted(r.status_code for r in burst) == [200] * 5 + [201]
    assert {r.json()["request_id"] for r in burst} == {rid}  # her emergency is still open: the press joins it
    assert all(r.json()["absorbed"] for r in burst)
    async with runtime.sessions() as session:
        orders = await session.scalar(select(func.count()).where(col(ServiceRequest.elder_id) == elder["id"]))
    assert orders == 1  # one open emergency per elder absorbs further presses
    # Wrong or missing credentials are refused and change nothing.
    wrong = await press(stack.base_url, device, "red", secret="not-the-secret")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_device_credentials"
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        bare = await http.post(
            "/api/v1/devices/alarms", json={"alarm_id": "x", "button": "red", "at": datetime.now(UTC).isoformat()}
        )
    assert bare.status_code == 401
    await dashboard.close()


async def test_green_asks_for_a_callback_and_a_silent_device_gets_one_check(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world(caregivers_km=())
    staff = await world.user("community_staff", community_id=world.community["id"])
    district_staff = await world.user("community_staff", district_id=world.district["id"])
    elder, neighbour = world.elders[0], await world.add_elder()
    device, quiet = await install(staff, elder), await install(staff, neighbour)

    # Green: one callback for the operator, however many presses while it is open.
    help_one = (await press(stack.base_url, device, "green")).json()
    help_two = (await press(stack.base_url, device, "green")).json()
    assert help_one["follow_up_id"] and help_one["follow_up_id"] == help_two["follow_up_id"]
    calls = await staff.ok("GET", f"/api/v1/follow-ups?community_id={world.community['id']}&kind=help_call")
    assert [c["id"] for c in calls] == [help_one["follow_up_id"]] and "回电" in calls[0]["reason"]
    done = await staff.ok("POST", f"/api/v1/follow-ups/{calls[0]['id']}/done", {"outcome": "老人需要助浴，已下单"})
    assert done["status"] == "done" and done["done_by"].startswith("community_staff:")
    twice = await staff.post(f"/api/v1/follow-ups/{calls[0]['id']}/done", {"outcome": "x"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "follow_up_closed"

    # A test call keeps a device alive; the other has been silent for ten days.
    tested = await press(stack.base_url, device, "test")
    assert tested.status_code == 201 and tested.json()["request_id"] is None
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(Device)
            .where(col(Device.id) == quiet["id"])
            .values(
                installed_at=datetime.now(UTC) - timedelta(days=30), last_seen_at=datetime.now(UTC) - timedelta(days=10)
            )
        )
    assert await sweep_dormant(runtime) >= 1
    assert await sweep_dormant(runtime) == 0  # one check per silence
    checks = await staff.ok("GET", f"/api/v1/follow-ups?community_id={world.community['id']}&kind=dormant_device")
    assert [(c["device_id"], c["elder_id"]) for c in checks] == [(quiet["id"], neighbour["id"])]
    (share,) = await district_staff.ok("GET", f"/api/v1/devices/dormant?district_id={world.district['id']}")
    assert (share["devices"], share["dormant"], share["share"]) == (2, 1, 0.5)
    # Plugged back in, it calls: the check closes by itself.
    await press(stack.base_url, quiet, "test")
    assert await staff.ok("GET", f"/api/v1/follow-ups?community_id={world.community['id']}&kind=dormant_device") == []
    assert (await staff.ok("GET", f"/api/v1/devices/{quiet['id']}"))["dormant_since"] is None
