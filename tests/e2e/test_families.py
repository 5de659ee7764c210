"""Families: a family member follows only their own elder, and is told of emergencies and visits as agreed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.core.runtime import Runtime
from backend.notifications import service as notifications
from backend.notifications.senders import Message
from tests.client import PASSWORD, Api, Ws, unique_phone
from tests.e2e.test_devices import install, press
from tests.e2e.test_scoring import serve


async def family(staff: Api, elder: dict[str, Any], username: str | None = None, **consent: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "王丽", "phone": unique_phone(), "relation": "女儿", **consent}
    if username:
        body |= {"username": username, "password": PASSWORD}
    return await staff.ok("POST", f"/api/v1/elders/{elder['id']}/family", body, 201)


async def sent(api: Api, elder_id: int, template: str, count: int) -> list[dict[str, Any]]:
    """The elder's sent notifications of a template, once the worker has sent ``count`` of them."""
    found: list[dict[str, Any]] = []
    for _ in range(80):
        found = [
            n
            for n in await api.ok("GET", f"/api/v1/elders/{elder_id}/notifications")
            if n["template"] == template and n["status"] == "sent"
        ]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.25)
    raise AssertionError(f"only {len(found)} sent {template} notifications")


async def test_a_family_member_follows_their_elder_and_hears_of_an_emergency_and_a_visit(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=(0.5,))
    elder, other = world.elders[0], await world.add_elder()
    staff = await world.user("community_staff", community_id=world.community["id"])
    username = f"fam_{uuid.uuid4().hex[:8]}"
    daughter = await family(staff, elder, username=username)
    neighbour = await family(staff, elder, notify_emergency=False)  # no account; not told of emergencies
    listed = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/family")
    assert [m["id"] for m in listed] == [daughter["id"], neighbour["id"]] and "****" in listed[0]["phone"]
    her = await Api.login(stack.base_url, username, PASSWORD)

    # She follows her mother's orders live, and only hers.
    phone = await Ws.connect(stack.base_url, her.token)
    assert (await phone.subscribe(f"elder:{elder['id']}"))["type"] == "subscribed"
    refused = await phone.subscribe(f"elder:{other['id']}")
    assert refused["type"] == "error" and refused["code"] == "out_of_scope"
    assert (await phone.subscribe(f"community:{world.community['id']}"))["type"] == "error"
    assert (await her.get(f"/api/v1/elders/{other['id']}")).status_code == 403
    theirs = await world.admin.ok("POST", "/api/v1/requests", {"elder_id": other["id"], "service_type": "meal"}, 201)
    assert theirs["id"] not in [r["id"] for r in await her.ok("GET", "/api/v1/requests?limit=500")]

    # The red button: the ladder reaches the family rung; she is told in the app and by SMS, the neighbour is not.
    device = await install(staff, elder)
    rid = (await press(stack.base_url, device, "red")).json()["request_id"]
    assert (await her.ok("GET", f"/api/v1/requests/{rid}"))["priority"] == "emergency"
    told = await phone.wait_event("notification", timeout=20)
    assert "紧急呼叫" in told["data"]["body"] and told["data"]["user_id"] == daughter["user_id"]
    (sms,) = [n for n in await sent(her, elder["id"], "emergency", 2) if n["channel"] == "sms"]
    assert sms["family_member_id"] == daughter["id"] and sms["request_id"] == rid and "****" in sms["phone"]
    await staff.ok("POST", f"/api/v1/requests/{rid}/ladder/act", {"note": "社区已上门"})

    # A finished visit: both are told by SMS (the neighbour agreed to hear of visits).
    rid2 = await serve(world, await world.user("operator"), world.caregivers[0], elder, paid_by="self")
    visits = await sent(staff, elder["id"], "visit_completed", 3)
    assert {n["family_member_id"] for n in visits if n["channel"] == "sms"} == {daughter["id"], neighbour["id"]}
    assert all(n["request_id"] == rid2 for n in visits)

    assert rid in [r["id"] for r in await her.ok("GET", "/api/v1/requests?limit=500")]  # her mother's queue only
    assert {r["elder_id"] for r in await her.ok("GET", "/api/v1/requests?limit=500")} == {elder["id"]}

    # She stops following the orders: the elder's consent, changed by staff; her access ends at once.
    await staff.ok("PATCH", f"/api/v1/elders/{elder['id']}/family/{daughter['id']}", {"see_orders": False})
    assert (await her.get(f"/api/v1/requests/{rid}")).status_code == 403
    assert (
        await her.post(f"/api/v1/elders/{elder['id']}/family", {"name": "x", "phone": "13900000000", "relation": "x"})
    ).status_code == 403
    await phone.close()


class Flaky:
    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    async def send(self, message: Message) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("gateway unreachable")


async def test_a_message_the_gateway_refuses_is_retried_then_given_up(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world(caregivers_km=())
    staff = await world.user("community_staff", community_id=world.community["id"])
    await family(staff, world.elders[0])
    async with runtime.unit_of_work() as session:
        (note,) = await notifications.notify_family(
            session,
            elder_id=world.elders[0]["id"],
            template="visit_completed",
            data={"elder": "张桂英", "service": "助餐", "time": "12:00", "caregiver": "李芳"},
        )
        note.next_attempt_at = datetime.now(UTC) + timedelta(days=1)  # kept from the stack's own worker
    assert note.id is not None
    flaky = Flaky(failures=1)
    now = datetime.now(UTC)
    async with runtime.unit_of_work() as session:
        assert await notifications.send_one(session, {"sms": flaky}, note.id, now) is False
    async with runtime.unit_of_work() as session:
        row = await session.get(type(note), note.id)
        assert row is not None and row.status == "pending" and row.attempts == 1 and row.next_attempt_at > now
        assert row.error and "gateway unreachable" in row.error
        assert await notifications.send_one(session, {"sms": flaky}, note.id, row.next_attempt_at) is True
    async with runtime.sessions() as session:
        row = await session.get(type(note), note.id)
        assert row is not None and (row.status, row.attempts, row.error) == ("sent", 2, None)
    # A gateway that never answers: given up after the last attempt.
    async with runtime.unit_of_work() as session:
        (doomed,) = await notifications.notify_family(
            session,
            elder_id=world.elders[0]["id"],
            template="visit_completed",
            data={"elder": "x", "service": "x", "time": "x", "caregiver": "x"},
        )
        doomed.next_attempt_at = datetime.now(UTC) + timedelta(days=1)
    assert doomed.id is not None
    later = datetime.now(UTC) + timedelta(days=2)
    dead = Flaky(failures=99)
    for _ in range(notifications.MAX_ATTEMPTS):
        async with runtime.unit_of_work() as session:
            await notifications.send_one(session, {"sms": dead}, doomed.id, later)
    async with runtime.sessions() as session:
        row = await session.get(type(doomed), doomed.id)
        assert row is not None and (row.status, row.attempts) == ("failed", notifications.MAX_ATTEMPTS)
