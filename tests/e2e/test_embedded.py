"""The embedded default: `eldercare serve` on SQLite with no Redis runs the same order life in one process."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from tests.client import ADMIN_PASSWORD, Api, World, Ws
from tests.infra import ROOT, Process, free_port, platform_env, run_cli, wait_ready

SUZHOU = {
    "姑苏区",
    "苏州高新区(虎丘区)",
    "吴中区",
    "相城区",
    "吴江区",
    "苏州工业园区",
    "张家港市",
    "常熟市",
    "太仓市",
    "昆山市",
}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    db = tmp_path_factory.mktemp("embedded") / "eldercare.db"
    env = platform_env(
        ELDERCARE_DATABASE_URL=f"sqlite:///{db}",  # as an operator writes it; the driver is implied
        ELDERCARE_OFFER_SECONDS_NORMAL="3",
        ELDERCARE_SWEEP_SECONDS="0.5",
    )
    run_cli(env, "migrate")
    printed = run_cli(env, "seed", "--demo")
    assert "operator" in printed and "demo1234" in printed  # the demo accounts are printed
    port = free_port()
    process = Process("embedded", ["serve", "--port", str(port)], env)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


async def test_demo_data_and_the_order_life_in_one_process(embedded) -> None:
    admin = await Api.login(embedded, "admin", ADMIN_PASSWORD)
    ready = await admin.ok("GET", "/readyz")
    assert ready == {"status": "ok", "checks": {"database": "ok"}}
    assert {d["name"] for d in await admin.ok("GET", "/api/v1/districts")} == SUZHOU
    operator = await Api.login(embedded, "operator", "demo1234")
    assert len(await operator.ok("GET", "/api/v1/elders?phone=13812340001")) == 1

    world = await World.build(embedded, admin, caregivers_km=(0.5, 1.5))
    near, far = world.caregivers
    staff = await world.user("community_staff", community_id=world.community["id"])
    dashboard = await Ws.connect(embedded, staff.token)
    await dashboard.subscribe(f"community:{world.community['id']}")
    phone = await Ws.connect(embedded, far["api"].token, "/mobile/v1/ws")
    await phone.subscribe(f"caregiver:{far['id']}")

    order = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    rid = order["id"]
    await dashboard.wait_status(rid, "offered")
    [offer] = await near["api"].ok("GET", "/mobile/v1/offers")
    # The nearest lets the deadline pass; the in-process scheduler moves the order on.
    second = await phone.wait_event("offer.created", request_id=rid, timeout=15)
    await far["api"].ok("POST", f"/mobile/v1/offers/{second['data']['offer_id']}/accept")
    await far["api"].ok("POST", f"/mobile/v1/requests/{rid}/en-route")
    await far["api"].ok("POST", f"/mobile/v1/requests/{rid}/check-in", world.home)
    await far["api"].ok("POST", f"/mobile/v1/requests/{rid}/check-out")
    await dashboard.wait_status(rid, "completed")
    statuses = [e["data"]["status"] for e in dashboard.events if e["data"].get("request_id") == rid]
    assert statuses == [
        "new",
        "dispatching",
        "offered",
        "dispatching",
        "offered",
        "accepted",
        "en_route",
        "in_service",
        "completed",
    ]
    expired = await near["api"].post(f"/mobile/v1/offers/{offer['id']}/accept")
    assert expired.status_code == 409
    # The screens' read models on SQLite: the area's day and the bureau's table count the order.
    figures = await staff.ok("GET", "/api/v1/dashboard/figures?days=3")
    assert (figures["today"]["orders"], figures["today"]["completed"], figures["today"]["completion_rate"]) == (1, 1, 1)
    city = await admin.ok("GET", "/api/v1/dashboard/city")
    row = next(d for d in city["districts"] if d["district_id"] == world.district["id"])
    assert (row["orders_today"], row["orders_30d"], row["completion_rate_30d"]) == (1, 1, 1)
    assert row["median_accept_seconds_30d"] is not None and city["totals"]["median_accept_seconds_30d"] is not None
    page = await admin.get("/web/dashboard")
    assert page.status_code == 200 and "实时工单队列" in page.text
    # Metrics in one process: the in-process worker's decisions and sweeps, the embedded scheduler's beat.
    metrics = (await admin.get("/metrics")).text
    assert 'eldercare_dispatch_decision_seconds_count{kind="round"}' in metrics
    assert 'eldercare_sweep_last_success_timestamp_seconds{sweep="dispatch.sweep_deadlines"}' in metrics
    assert "eldercare_scheduler_last_enqueue_timestamp_seconds" in metrics
    for closable in (dashboard, phone, admin, operator, staff, world):
        await closable.close()


@pytest.mark.parametrize("where", ["unmigrated", "unreachable"])
def test_serve_refuses_a_database_it_cannot_use_in_one_clear_line(tmp_path, where) -> None:
    """No traceback per job on a missing table: `serve` says what to do and exits 2, on SQLite as on PostgreSQL."""
    db = tmp_path / "fresh.db" if where == "unmigrated" else tmp_path / "no" / "such" / "dir.db"
    env = platform_env(ELDERCARE_DATABASE_URL=f"sqlite:///{db}")
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    said = " ".join(done.stdout.split())
    assert ("eldercare migrate" in said) if where == "unmigrated" else ("ELDERCARE_DATABASE_URL" in said)
    assert "Traceback" not in done.stdout + done.stderr


async def test_six_simultaneous_holds_on_three_free_beds_three_win_on_sqlite(embedded) -> None:
    """SQLite has no SKIP LOCKED: a hold that loses its bed to a neighbour takes the next free one, as on PostgreSQL."""
    admin = await Api.login(embedded, "admin", ADMIN_PASSWORD)
    world = await World.build(embedded, admin, caregivers_km=())
    while len(world.elders) < 6:
        await world.add_elder()
    body = {
        "name": "平江颐养院",
        "operator_kind": "public_private",
        "community_id": world.community["id"],
        "location": world.home,
        "licence_no": f"苏民养{world.community['id']:06d}",
        "provider_id": world.provider["id"],
    }
    home = await admin.ok("POST", "/api/v1/institutions", body, 201)
    await admin.ok("POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "A", "kind": "nursing", "count": 3}, 201)
    operator = await world.user("operator")

    async def hold(elder: dict) -> tuple[int, str | None]:
        answer = await operator.post(
            "/api/v1/bed-holds", {"elder_id": elder["id"], "institution_id": home["id"], "kind": "nursing"}
        )
        return answer.status_code, (answer.json().get("error") or {}).get("code")

    answers = await asyncio.gather(*(hold(e) for e in world.elders))
    assert sorted(answers, key=str) == [(201, None)] * 3 + [(409, "no_bed_free")] * 3, answers
    counts = await admin.ok("GET", f"/api/v1/institutions/{home['id']}/capacity")
    assert counts["free"] == 0 and counts["held"] == 3
