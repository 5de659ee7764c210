"""Benchmark: time from a work order's POST to the offer arriving on the caregiver's WebSocket.

Starts its own stack (API, Celery worker, scheduler) on a private PostgreSQL database and Redis
DB index, exactly as the tests do, or with --embedded the single-process SQLite mode. Prints
percentiles of the POST round trip and of order→offer, sequentially and in concurrent bursts; with
--rate, also at a steady rate with the orders posted to each of --apis API processes in turn and the offers
watched on the last (the event crossing processes through Redis).

    .venv/bin/python -m benchmarks.order_to_offer --orders 200 --burst 20
    .venv/bin/python -m benchmarks.order_to_offer --orders 50 --apis 2 --rate 10 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.stack import private_stack
from tests.client import ADMIN_PASSWORD, Api, World, Ws
from tests.infra import Process, free_port, platform_env, run_cli, wait_ready


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _report(name: str, values: list[float]) -> None:
    print(
        f"{name:<34} n={len(values):<4} p50={_pct(values, 50):7.1f} ms  p95={_pct(values, 95):7.1f} ms  "
        f"p99={_pct(values, 99):7.1f} ms  mean={statistics.fmean(values):7.1f} ms"
    )


@contextlib.contextmanager
def _stack(embedded: bool, tmp: str, apis: int = 1) -> Iterator[list[str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if embedded:
        env = platform_env(ELDERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/bench.db", ELDERCARE_LOG_LEVEL="WARNING")
        run_cli(env, "migrate")
        processes = [Process("bench-embedded", ["serve", "--port", str(port)], env)]
        try:
            wait_ready(base, processes[0])
            yield [base]
        finally:
            processes[0].stop()
        return
    with private_stack("bench", apis=apis) as stack:
        yield stack.bases


class Arrivals:
    """Reads one WebSocket in the background and notes when each order's first matching event arrives."""

    def __init__(self, ws: Ws, event: str, match: Callable[[dict[str, Any]], bool] = lambda _data: True) -> None:
        self.ws, self.event, self.match = ws, event, match
        self.arrived: dict[int, asyncio.Future[float]] = {}
        self.task = asyncio.create_task(self._read())

    def expect(self, request_id: int) -> asyncio.Future[float]:
        return self.arrived.setdefault(request_id, asyncio.get_running_loop().create_future())

    async def _read(self) -> None:
        while True:
            frame = await self.ws.recv(timeout=3600)
            if frame.get("event") == self.event and self.match(frame["data"]):
                future = self.expect(frame["data"]["request_id"])
                if not future.done():
                    future.set_result(time.perf_counter())


async def _one(operator: Api, offers: Arrivals, elder_id: int) -> tuple[float, float]:
    started = time.perf_counter()
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder_id, "service_type": "meal"}, 201)
    posted = time.perf_counter()
    offered = await asyncio.wait_for(offers.expect(order["id"]), 30)
    await operator.ok("POST", f"/api/v1/requests/{order['id']}/cancel", {"reason": "benchmark"})
    return (posted - started) * 1000, (offered - started) * 1000


async def _run(bases: list[str], orders: int, burst: int, rate: float, seconds: float) -> None:
    base = bases[0]
    admin = await Api.login(base, "admin", ADMIN_PASSWORD)
    world = await World.build(base, admin, caregivers_km=tuple(0.2 * i for i in range(1, burst + 1)))
    for _ in range(burst - 1):
        await world.add_elder()
    operator = await world.user("operator")
    ws = await Ws.connect(bases[-1], admin.token)  # the phones' process: the last API (another than the orders')
    for caregiver in world.caregivers:
        await ws.subscribe(f"caregiver:{caregiver['id']}")
    offers = Arrivals(ws, "offer.created")
    for _ in range(5):  # warm up connections and caches
        await _one(operator, offers, world.elders[0]["id"])
    post_ms, offer_ms = [], []
    for _ in range(orders):
        p, o = await _one(operator, offers, world.elders[0]["id"])
        post_ms.append(p)
        offer_ms.append(o)
    _report("POST /requests (sequential)", post_ms)
    _report("order → offer on phone (sequential)", offer_ms)
    if rate:
        await _steady(bases, operator, offers, world, rate, seconds)
    burst_post, burst_offer = [], []
    for _ in range(max(1, orders // burst)):
        results = await asyncio.gather(*(_one(operator, offers, e["id"]) for e in world.elders))
        burst_post += [p for p, _ in results]
        burst_offer += [o for _, o in results]
    _report(f"POST /requests (bursts of {burst})", burst_post)
    _report(f"order → offer on phone (bursts of {burst})", burst_offer)
    offers.task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await offers.task
    await ws.close()
    for api in (admin, operator, world):
        await api.close()


async def _steady(bases: list[str], operator: Api, offers: Arrivals, world: World, rate: float, seconds: float) -> None:
    """Orders at ``rate`` a second for ``seconds``, posted to each API process in turn, the offers watched on the
    last: order → offer with the event crossing processes (the goal: p99 ≤ 100 ms at 10 orders/s, two APIs)."""
    desks = [operator] + [Api(b, operator.token, operator.username) for b in bases[1:]]
    tasks = []
    for i in range(int(rate * seconds)):
        elder = world.elders[i % len(world.elders)]
        tasks.append(asyncio.create_task(_one(desks[i % len(desks)], offers, elder["id"])))
        await asyncio.sleep(1 / rate)
    results = await asyncio.gather(*tasks)
    _report(f"order → offer at {rate:g}/s over {len(bases)} APIs", [o for _, o in results])
    for desk in desks[1:]:
        await desk.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--embedded", action="store_true", help="SQLite + in-process bus and worker")
    parser.add_argument("--apis", type=int, default=1, help="API processes (orders go to each in turn)")
    parser.add_argument("--rate", type=float, default=0, help="orders a second in a steady phase (0: none)")
    parser.add_argument("--seconds", type=float, default=30, help="length of the steady phase")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, _stack(args.embedded, tmp, args.apis) as bases:
        mode = "embedded (SQLite, in-process)" if args.embedded else "PostgreSQL + Redis + Celery worker + scheduler"
        print(f"order → offer benchmark · {mode} · {len(bases)} API process(es)")
        asyncio.run(_run(bases, args.orders, args.burst, args.rate, args.seconds))


if __name__ == "__main__":
    main()
