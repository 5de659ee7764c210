"""Benchmark: order intake (``POST /api/v1/requests``) beside a bare FastAPI + asyncpg insert, in the same run.

The platform runs as the tests run it (API, Celery worker and scheduler on a private PostgreSQL database and Redis
index): every order is authenticated, checked, written with its history and outbox event, and dispatched by the
worker. The bare reference (``benchmarks.bare``) only inserts a row. The same client drives both: ``--clients``
concurrent connections posting for ``--seconds``, each order for one of ``--elders`` elders. The goal (issue 16):
the platform's rate at least 0.5× the bare one.

    .venv/bin/python -m benchmarks.intake --clients 32 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.stack import private_stack
from tests.client import ADMIN_PASSWORD, Api, World
from tests.infra import PG_ADMIN_URL, Process, free_port, private_database, wait_ready


def pid_serving(port: int) -> int:
    """The process listening on ``port`` (found by its command line: ``--port N``)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                args = (proc / "cmdline").read_bytes().split(b"\0")
                if b"--port" in args and args[args.index(b"--port") + 1 : args.index(b"--port") + 2] == [
                    str(port).encode()
                ]:
                    return int(proc.name)
    raise LookupError(f"nothing serves port {port}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    name: str
    seconds: float
    latencies_ms: list[float]
    failures: int
    server_cpu: float = 0.0  # CPU seconds the serving process used while measured

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def line(self) -> str:
        return (
            f"{self.name:<28} {self.rate:7.1f} orders/s  p50 {self.pct(50):6.1f} ms  p99 {self.pct(99):7.1f} ms"
            f"  mean {statistics.fmean(self.latencies_ms):6.1f} ms  server CPU {self.cpu_ms:5.2f} ms/order"
            f"  failures {self.failures}"
        )

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu * 1000 / max(1, len(self.latencies_ms) + self.failures)


async def drive(
    name: str, url: str, headers: dict[str, str], body: Callable[[], dict[str, Any]], *, clients: int, seconds: float
) -> Run:
    server = pid_serving(int(url.split(":")[2].split("/")[0]))
    """``clients`` connections posting ``body()`` to ``url`` back to back for ``seconds`` (after a short warm-up)."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as http:
        latencies: list[float] = []
        failures = 0
        measuring = False
        stop_at = 0.0

        async def client() -> None:
            nonlocal failures
            while not stop_at or time.perf_counter() < stop_at:
                started = time.perf_counter()
                response = await http.post(url, json=body())
                if not measuring:
                    continue
                if response.status_code == 201:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    failures += 1
                    if failures <= 3:
                        print(f"  {name}: {response.status_code} {response.text[:200]}", file=sys.stderr)

        tasks = [asyncio.create_task(client()) for _ in range(clients)]
        await asyncio.sleep(min(3.0, seconds / 4))  # warm-up: connections, pools, caches
        measuring, began, cpu_before = True, time.perf_counter(), cpu_seconds(server)
        stop_at = began + seconds
        await asyncio.gather(*tasks)
        took, cpu = time.perf_counter() - began, cpu_seconds(server) - cpu_before
        return Run(name, took, latencies, failures, cpu)


@contextlib.contextmanager
def bare_server() -> Iterator[str]:
    """The bare FastAPI + asyncpg app on a private database, served by uvicorn in its own process."""
    port = free_port()
    with private_database() as url:
        plain = url.replace("postgresql+asyncpg://", "postgresql://")
        env = {"BARE_DATABASE_URL": plain, "PATH": "/usr/bin:/bin"}
        args = ["-m", "uvicorn", "benchmarks.bare:bare_intake", "--port", str(port), "--log-level", "warning"]
        process = Process("bench-bare", args, env, module=None)
        try:
            wait_ready(f"http://127.0.0.1:{port}", process, path="/healthz")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.stop()


async def _platform_world(base: str, elders: int) -> tuple[Api, list[int]]:
    admin = await Api.login(base, "admin", ADMIN_PASSWORD)
    world = await World.build(base, admin, caregivers_km=tuple(0.3 * i for i in range(1, 11)))
    for _ in range(elders - 1):
        await world.add_elder(east_km=random.uniform(-3, 3))
    operator = await world.user("operator")
    await world.close()
    await admin.close()
    return operator, [e["id"] for e in world.elders]


def order_body(elder_ids: list[int]) -> Callable[[], dict[str, Any]]:
    return lambda: {"elder_id": random.choice(elder_ids), "service_type": "meal", "notes": "午餐送到家"}


async def _measure(base: str, bare: str | None, *, clients: int, seconds: float, elders: int) -> tuple[Run | None, Run]:
    operator, elder_ids = await _platform_world(base, elders)
    bare_run = None
    if bare:
        bare_run = await drive(
            "bare FastAPI + asyncpg", f"{bare}/orders", {}, order_body(elder_ids), clients=clients, seconds=seconds
        )
    print("platform phase", flush=True)
    headers = {"Authorization": f"Bearer {operator.token}"}
    url = f"{base}/api/v1/requests"
    platform_run = await drive(
        "platform POST /requests", url, headers, order_body(elder_ids), clients=clients, seconds=seconds
    )
    await operator.close()
    return bare_run, platform_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--elders", type=int, default=200)
    parser.add_argument("--platform-only", action="store_true", help="no bare reference (profiling the platform)")
    args = parser.parse_args()
    print(f"intake benchmark · {args.clients} clients · {args.seconds:.0f} s each · PostgreSQL at {PG_ADMIN_URL}")
    with contextlib.ExitStack() as stack:
        bare = None if args.platform_only else stack.enter_context(bare_server())
        base, _db = stack.enter_context(private_stack("intake"))
        bare_run, platform_run = asyncio.run(
            _measure(base, bare, clients=args.clients, seconds=args.seconds, elders=args.elders)
        )
    if bare_run:
        print(bare_run.line())
    print(platform_run.line())
    if bare_run:
        print(f"ratio platform / bare: {platform_run.rate / bare_run.rate:.2f}× (goal ≥ 0.5×)")
        print(f"server CPU per order, platform / bare: {platform_run.cpu_ms / bare_run.cpu_ms:.1f}×")


if __name__ == "__main__":
    main()
