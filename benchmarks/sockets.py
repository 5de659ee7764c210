"""Benchmark: WebSockets at city scale, beside a raw ``websockets`` server measured in the same run by the same client.

1. Dashboards: ``--dashboards`` sockets connect, authenticate and subscribe to one community (rate, against the raw
   server doing the same steps with no checks); then an order's status reaches all of them (arrival after the order
   is posted, p50/p99, against the raw server broadcasting one frame to as many sockets).
2. Phones: ``--phones`` caregivers connect, authenticate and subscribe to their own channel, all held open by one
   API process (rate; the API's memory).
3. A reconnect storm: every phone drops and comes back within ``--storm-seconds``, each replaying with ``since``,
   while orders arrive at ``--orders-per-second`` for caregivers watching their offers: order → offer p99 during the
   storm (goal < 250 ms) beside the same without a storm.

Accounts are written straight into the stack's database and their tokens signed with the stack's key: twenty
thousand password sign-ins would measure the password hash, not the sockets.

    .venv/bin/python -m benchmarks.sockets --dashboards 1000 --phones 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import random
import resource
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import col
from websockets.asyncio.client import ClientConnection, connect

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.runtime import Runtime
from backend.core.security import create_access_token
from backend.registry.models import Caregiver, placed
from backend.users.models import User
from benchmarks.intake import cpu_seconds, pid_serving
from benchmarks.stack import private_stack
from tests.client import ADMIN_PASSWORD, Api, World
from tests.infra import STACK_SECRET, Process, free_port
from worker.registry import REGISTRY as _TASKS  # noqa: F401  (the in-process runtime runs every task)

SIGNING = Settings(secret_key=STACK_SECRET, environment="test", access_token_minutes=240)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def summary(values_ms: list[float]) -> str:
    return f"p50 {pct(values_ms, 50):7.1f} ms  p99 {pct(values_ms, 99):7.1f} ms  n={len(values_ms)}"


@dataclass
class Sock:
    """One client socket: what it heard (event frames by request id, with the time they arrived)."""

    ws: ClientConnection
    channel: str
    seq: int = 0
    heard: dict[Any, float] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "event":
                    self.seq = max(self.seq, frame["seq"])
                    data = frame["data"]
                    key = (frame["event"], data.get("request_id", data.get("n")))
                    self.heard.setdefault(key, time.perf_counter())


async def _expect(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame.get("type") == kind:
            return dict(frame)
        if frame.get("type") == "error":
            raise RuntimeError(f"socket refused: {frame}")


async def open_socket(url: str, token: str, channel: str, since: int | None = None) -> Sock:
    """Connect, authenticate and subscribe (with ``since`` to replay), as a phone or dashboard does."""
    ws = await connect(url, max_queue=None, open_timeout=120, ping_interval=None)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    await _expect(ws, "auth_ok")
    await ws.send(json.dumps({"type": "subscribe", "channel": channel, **({"since": since} if since else {})}))
    subscribed = await _expect(ws, "subscribed")
    sock = Sock(ws, channel, seq=max(since or 0, 0))
    sock.seq = max(sock.seq, int(subscribed.get("seq", 0)))
    sock.reader = asyncio.create_task(sock.read())
    return sock


async def open_many(url: str, wanted: list[tuple[str, str]], *, concurrency: int) -> tuple[list[Sock], float]:
    """Open a socket per (token, channel), ``concurrency`` at a time; the sockets and the seconds it took."""
    gate = asyncio.Semaphore(concurrency)

    async def one(token: str, channel: str) -> Sock:
        async with gate:
            return await open_socket(url, token, channel)

    started = time.perf_counter()
    socks = await asyncio.gather(*(one(t, c) for t, c in wanted))
    return list(socks), time.perf_counter() - started


async def close_all(socks: list[Sock]) -> None:
    for sock in socks:
        if sock.reader:
            sock.reader.cancel()
    await asyncio.gather(*(s.ws.close() for s in socks), return_exceptions=True)


async def arrivals(socks: list[Sock], key: Any, since: float, within: float = 30) -> list[float]:
    """Milliseconds from ``since`` until each socket heard ``key`` (waits for all of them)."""
    for _ in range(int(within / 0.005)):
        if all(key in s.heard for s in socks):
            break
        await asyncio.sleep(0.005)
    missing = sum(key not in s.heard for s in socks)
    if missing:
        raise RuntimeError(f"{missing} of {len(socks)} sockets never heard {key}")
    return [(s.heard[key] - since) * 1000 for s in socks]


@contextlib.contextmanager
def raw_server() -> Iterator[str]:
    port = free_port()
    process = Process("bench-raw-ws", ["-m", "benchmarks.bare", str(port)], {"PATH": "/usr/bin:/bin"}, module=None)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.stop()


async def seed_accounts(
    database_url: str, *, staff_of: int, staff: int, provider_id: int, phones: int
) -> dict[str, Any]:
    """``staff`` community-staff accounts of a community and ``phones`` caregivers (off shift, with accounts) of a
    provider, written in bulk; their user and caregiver ids."""
    runtime = Runtime(Settings(database_url=database_url, redis_url=None, environment="test"), role="cli")
    try:
        async with runtime.unit_of_work() as session:
            now, tag = utcnow(), random.randrange(10**9)
            staff_rows = [
                {"username": f"dash{tag}-{i}", "password_hash": "!", "role": "community_staff",
                 "community_id": staff_of, "created_at": now}
                for i in range(staff)
            ]  # fmt: skip
            staff_ids = list((await session.execute(insert(User).returning(col(User.id)), staff_rows)).scalars())
            phone_rows = [
                {"username": f"phone{tag}-{i}", "password_hash": "!", "role": "caregiver", "created_at": now}
                for i in range(phones)
            ]
            user_ids = (
                list((await session.execute(insert(User).returning(col(User.id)), phone_rows)).scalars())
                if phone_rows
                else []
            )
            caregivers = [
                {"provider_id": provider_id, "user_id": u, "name": f"护理员{i}", "phone": "+8613900000000",
                 **placed(31.2 + random.random() * 0.2, 120.5 + random.random() * 0.3), "languages": ["mandarin"],
                 "on_shift": False, "created_at": now}
                for i, u in enumerate(user_ids)
            ]  # fmt: skip
            caregiver_ids = list(
                (await session.execute(insert(Caregiver).returning(col(Caregiver.id)), caregivers)).scalars()
            ) if caregivers else []  # fmt: skip
        return {"staff": staff_ids, "phones": list(zip(user_ids, caregiver_ids, strict=True))}
    finally:
        await runtime.stop()


def token(user_id: int, role: str) -> str:
    return create_access_token(SIGNING, user_id=user_id, role=role, version=0)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def dashboards(base: str, raw: str, world: World, staff: list[int], operator: Api, rounds: int) -> None:
    ws_url = base.replace("http://", "ws://") + "/api/v1/ws"
    channel = f"community:{world.community['id']}"
    n = len(staff)
    raw_socks, raw_s = await open_many(raw, [("t", "bare")] * n, concurrency=100)
    plat_socks, plat_s = await open_many(
        ws_url, [(token(u, "community_staff"), channel) for u in staff], concurrency=100
    )
    print(f"{n} dashboards: connect + auth + subscribe   raw websockets {n / raw_s:7.0f}/s ({raw_s:5.2f} s)   "
          f"platform {n / plat_s:7.0f}/s ({plat_s:5.2f} s)   ratio {raw_s / plat_s:.2f}× (goal ≥ 0.5×)")  # fmt: skip

    raw_ms: list[float] = []
    for i in range(rounds):
        started = time.perf_counter()
        await raw_socks[0].ws.send(json.dumps({"type": "broadcast", "data": {"n": i}}))
        raw_ms += await arrivals(raw_socks, ("tick", i), started)
    plat_ms: list[float] = []
    first: list[float] = []
    for _ in range(rounds):
        elder = random.choice(world.elders)
        started = time.perf_counter()
        order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
        heard = await arrivals(plat_socks, ("request.status", order["id"]), started)
        plat_ms += heard
        first.append(min(heard))
        await operator.ok("POST", f"/api/v1/requests/{order['id']}/cancel", {"reason": "benchmark"})
    print(f"an event reaching {n} dashboards   raw broadcast {summary(raw_ms)}   platform order status "
          f"{summary(plat_ms)}   p99 ratio {pct(plat_ms, 99) / pct(raw_ms, 99):.2f}× (goal ≤ 1.5×)")  # fmt: skip
    print(f"  the first dashboard to hear the order: {summary(first)}")
    await close_all(raw_socks)
    await close_all(plat_socks)


async def order_to_offer(
    operator: Api, world: World, phones: dict[int, Sock], per_second: float, seconds: float
) -> list[float]:
    """Orders at ``per_second`` for ``seconds``, each cancelled once offered: ms from post to the offer frame."""
    results: list[float] = []

    async def one(elder_id: int) -> None:
        started = time.perf_counter()
        order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder_id, "service_type": "meal"}, 201)
        key = ("offer.created", order["id"])
        deadline = started + 30
        while time.perf_counter() < deadline:
            hit = [s.heard[key] for s in phones.values() if key in s.heard]
            if hit:
                results.append((min(hit) - started) * 1000)
                break
            await asyncio.sleep(0.002)
        await operator.ok("POST", f"/api/v1/requests/{order['id']}/cancel", {"reason": "benchmark"})

    tasks = []
    for i in range(int(per_second * seconds)):
        tasks.append(asyncio.create_task(one(world.elders[i % len(world.elders)]["id"])))
        await asyncio.sleep(1 / per_second)
    await asyncio.gather(*tasks)
    return results


def fleet(url: str, wanted: list[tuple[str, str]], orders: multiprocessing.connection.Connection) -> None:
    """A client process holding a share of the phones (one process may hold only so many sockets): connects them,
    then on ``("storm", seconds)`` drops them all and brings each back within the seconds, replaying with
    ``since``; reports the seconds each step took."""

    async def run() -> None:
        socks, took = await open_many(url, wanted, concurrency=100)
        orders.send(("connected", took))
        gate = asyncio.Semaphore(200)

        async def back(i: int, old: Sock, spread: float) -> Sock:
            await asyncio.sleep(i * spread)
            async with gate:
                return await open_socket(url, wanted[i][0], old.channel, since=old.seq or None)

        while (order := await asyncio.to_thread(orders.recv))[0] == "storm":
            started, spread, cpu = time.perf_counter(), order[1] / len(socks), time.process_time()
            await close_all(socks)
            socks[:] = await asyncio.gather(*(back(i, sock, spread) for i, sock in enumerate(socks)))
            orders.send(("back", time.perf_counter() - started, time.process_time() - cpu))
        await close_all(socks)

    asyncio.run(run())


async def phones_and_storm(base: str, api_pid: int, world: World, phones: list[tuple[int, int]], operator: Api,
                           args: argparse.Namespace) -> None:  # fmt: skip
    ws_url = base.replace("http://", "ws://") + "/mobile/v1/ws"
    before = rss_mb(api_pid)
    wanted = [(token(u, "caregiver"), f"caregiver:{c}") for u, c in phones]
    shares = [wanted[i :: args.client_processes] for i in range(args.client_processes)]
    context = multiprocessing.get_context("spawn")
    pipes = [context.Pipe() for _ in shares]
    workers = [
        context.Process(target=fleet, args=(ws_url, share, pipe[1])) for share, pipe in zip(shares, pipes, strict=True)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()

    async def replies() -> list[tuple[Any, ...]]:
        return [await asyncio.to_thread(mine.recv) for mine, _ in pipes]

    await replies()
    took = time.perf_counter() - started
    print(f"{len(wanted)} phones connected to one API process in {took:.1f} s ({len(wanted) / took:.0f}/s, "
          f"{args.client_processes} client processes); API memory {before:.0f} → {rss_mb(api_pid):.0f} MB")  # fmt: skip

    watchers = {
        c["id"]: await open_socket(ws_url, c["api"].token, f"caregiver:{c['id']}") for c in world.caregivers
    }  # the order → offer path's own caregivers, who never drop
    quiet = await order_to_offer(operator, world, watchers, args.orders_per_second, 20)
    print(f"order → offer without a storm   {summary(quiet)}")

    cpu_before = cpu_seconds(api_pid)
    for mine, _ in pipes:
        mine.send(("storm", args.storm_seconds) if args.storm_seconds else ("close", 0))
    if not args.storm_seconds:
        await close_all(list(watchers.values()))
        return
    storming = asyncio.create_task(replies())
    stormy = await order_to_offer(operator, world, watchers, args.orders_per_second, args.storm_seconds)
    answers = await storming
    back, clients_cpu = max(a[1] for a in answers), sum(a[2] for a in answers)
    print(f"reconnect storm: {len(wanted)} phones back in {back:.1f} s, each replaying with since "
          f"(CPU: API {cpu_seconds(api_pid) - cpu_before:.0f} s, the phones' client processes {clients_cpu:.0f} s)"
          f"   order → offer during it {summary(stormy)} (goal p99 < 250 ms)")  # fmt: skip
    for mine, _ in pipes:
        mine.send(("close", 0))
    for worker in workers:
        worker.join(timeout=60)
    await close_all(list(watchers.values()))


async def _run(base: str, db: str, raw: str, args: argparse.Namespace) -> None:
    admin = await Api.login(base, "admin", ADMIN_PASSWORD)
    world = await World.build(base, admin, caregivers_km=(0.3, 0.6, 0.9, 1.2, 1.5))
    for _ in range(9):
        await world.add_elder(east_km=random.uniform(-1, 1))
    operator = await world.user("operator")
    seeded = await seed_accounts(
        db, staff_of=world.community["id"], staff=args.dashboards, provider_id=world.provider["id"], phones=args.phones
    )
    api_pid = pid_serving(int(base.rsplit(":", 1)[1]))
    print(f"API process {api_pid}", file=sys.stderr, flush=True)
    await dashboards(base, raw, world, seeded["staff"], operator, args.rounds)
    if args.phones:
        await phones_and_storm(base, api_pid, world, seeded["phones"], operator, args)
    await world.close()
    await operator.close()
    await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dashboards", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20, help="events broadcast to the dashboards")
    parser.add_argument("--phones", type=int, default=20000)
    parser.add_argument("--storm-seconds", type=float, default=60)
    parser.add_argument("--orders-per-second", type=float, default=10)
    parser.add_argument("--client-processes", type=int, default=3, help="processes holding the phones' sockets")
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with contextlib.suppress(ValueError, OSError):  # as many as this machine lets a process open
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    room = resource.getrlimit(resource.RLIMIT_NOFILE)[0] - args.dashboards - 300  # the API's own files besides
    if args.phones > room:
        print(f"a process may open {hard} files here: {room} phones, not {args.phones}", file=sys.stderr)
        args.phones = room
    with raw_server() as raw, private_stack("sockets") as (base, db):
        asyncio.run(_run(base, db, raw, args))


if __name__ == "__main__":
    main()
