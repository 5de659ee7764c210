"""The escalation ladder: each rung fires on its timer from the database, and stops when someone acts."""

from __future__ import annotations

from tests.client import Ws
from tests.e2e.test_devices import install, press

RUNGS = ["operator_callback", "family", "community_staff", "caregiver", "public_emergency"]


async def test_a_red_alarm_climbs_the_ladder_until_the_operator_confirms_120(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())  # nobody can take it: the ladder has to climb to the top
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    device = await install(staff, world.elders[0])
    dashboard = await Ws.connect(stack.base_url, staff.token)
    await dashboard.subscribe(f"community:{world.community['id']}")

    rid = (await press(stack.base_url, device, "red")).json()["request_id"]
    first = await dashboard.wait_event("ladder.step", request_id=rid, code="operator_callback")
    assert first["data"]["message"] == "话务员请立即回拨老人电话" and first["data"]["due_at"]
    # Nobody acts: each rung's timer runs out and the next one starts (the scheduler's sweep of the database).
    seen = [first["data"]["code"]]
    for code in RUNGS[1:]:
        step = await dashboard.wait_event("ladder.step", request_id=rid, code=code, timeout=20)
        seen.append(step["data"]["code"])
    assert seen == RUNGS and step["data"]["due_at"] is None  # the last waits for the operator
    ladder = await staff.ok("GET", f"/api/v1/requests/{rid}/ladder")
    assert [(s["code"], s["status"]) for s in ladder] == [(c, "expired") for c in RUNGS[:-1]] + [
        ("public_emergency", "active")
    ]
    # The operator calls 120 and confirms: the ladder stops, with who and when in its record.
    done = await operator.ok("POST", f"/api/v1/requests/{rid}/ladder/act", {"note": "已拨打120，救护车出发"})
    assert done[-1]["status"] == "done" and done[-1]["acted_by"].startswith("operator:") and done[-1]["ended_at"]
    stopped = await dashboard.wait_event("ladder.stopped", request_id=rid)
    assert stopped["data"]["note"] == "已拨打120，救护车出发"
    # The order's own record carries the ladder: every rung, who acted and when.
    record = (await staff.ok("GET", f"/api/v1/requests/{rid}"))["ladder"]
    assert [r["status"] for r in record] == ["expired"] * 4 + ["done"] and record[-1]["note"] == "已拨打120，救护车出发"
    again = await operator.post(f"/api/v1/requests/{rid}/ladder/act", {})
    assert again.status_code == 409 and again.json()["error"]["code"] == "ladder_not_running"
    await dashboard.close()


async def test_the_ladder_stops_when_someone_reaches_the_elder_and_an_operators_call_skips_the_callback(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=())
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    device = await install(staff, world.elders[0])
    rid = (await press(stack.base_url, device, "red")).json()["request_id"]
    # Community staff reach the elder during the first rung: nothing further is tried.
    steps = await staff.ok("POST", f"/api/v1/requests/{rid}/ladder/act", {"note": "已电话联系上老人，无大碍"})
    assert [s["status"] for s in steps] == ["done", "stopped", "stopped", "stopped", "stopped"]
    assert steps[0]["acted_by"].startswith("community_staff:")

    # An operator taking the call has done the callback: the family is told first.
    order = await operator.ok(
        "POST",
        "/api/v1/requests",
        {"elder_id": world.elders[0]["id"], "service_type": "emergency", "priority": "emergency"},
        201,
    )
    ladder = await operator.ok("GET", f"/api/v1/requests/{order['id']}/ladder")
    assert [(s["code"], s["status"]) for s in ladder[:2]] == [("operator_callback", "done"), ("family", "active")]
    # Other roles may not stop it; a normal order has no ladder.
    elder_api = await world.user("elder", elder_id=world.elders[0]["id"])
    assert (await elder_api.post(f"/api/v1/requests/{order['id']}/ladder/act", {})).status_code == 403
    normal = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    assert await operator.ok("GET", f"/api/v1/requests/{normal['id']}/ladder") == []
