"""Benchmark: a one-key device's red button → the emergency order → its first ladder rung on the dashboard.

Starts its own stack (API, Celery worker, scheduler on a private PostgreSQL database and Redis DB index,
or with --embedded the single-process SQLite mode), installs a device, presses its red button again and
again, and prints percentiles of the alarm's round trip (the order exists when it answers) and of the time
until the community dashboard's WebSocket shows the first rung (goal: under a second).

    .venv/bin/python -m benchmarks.alarm --alarms 100
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime

import httpx

from benchmarks.order_to_offer import Arrivals, _report, _stack
from tests.client import ADMIN_PASSWORD, Api, World, Ws


async def _run(base: str, alarms: int) -> None:
    admin = await Api.login(base, "admin", ADMIN_PASSWORD)
    world = await World.build(base, admin, caregivers_km=(0.5, 1.0))
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    body = {"elder_id": world.elders[0]["id"], "serial": f"BENCH-{uuid.uuid4().hex[:8]}", "model": "bench"}
    device = await staff.ok("POST", "/api/v1/devices", body, 201)
    auth = {"Authorization": f"Device {device['serial']}:{device['secret']}"}
    ws = await Ws.connect(base, staff.token)
    await ws.subscribe(f"community:{world.community['id']}")
    rungs = Arrivals(ws, "ladder.step", lambda data: data["position"] == 0)
    answered, first_rung = [], []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for n in range(alarms + 3):
            started = time.perf_counter()
            alarm = {"alarm_id": uuid.uuid4().hex, "button": "red", "at": datetime.now(UTC).isoformat()}
            response = await http.post("/api/v1/devices/alarms", json=alarm, headers=auth)
            assert response.status_code == 201, response.text
            done = time.perf_counter()
            request_id = response.json()["request_id"]
            shown = await asyncio.wait_for(rungs.expect(request_id), 30)
            await operator.ok("POST", f"/api/v1/requests/{request_id}/cancel", {"reason": "benchmark"})
            if n >= 3:  # the first few warm connections and caches
                answered.append((done - started) * 1000)
                first_rung.append((shown - started) * 1000)
    _report("red alarm → 201 with the order", answered)
    _report("red alarm → first rung on dashboard", first_rung)
    rungs.task.cancel()
    await ws.close()
    for api in (admin, staff, operator, world):
        await api.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument("--embedded", action="store_true", help="SQLite + in-process bus and worker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _stack(args.embedded, tmp) as base:
        mode = "embedded (SQLite, in-process)" if args.embedded else "PostgreSQL + Redis + Celery worker + scheduler"
        print(f"red alarm benchmark · {mode}")
        asyncio.run(_run(base, args.alarms))


if __name__ == "__main__":
    main()
