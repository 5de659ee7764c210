"""Benchmark: reads off the primary, through a real streaming replica.

Starts a private PostgreSQL primary and its hot standby (``tests/replica.py``: ``initdb``, ``pg_basebackup -R``),
migrates the primary and builds the dashboard benchmark's month of a Suzhou-sized city on it (``--per-day`` orders a
day for 30 days), then measures:

- the replica's lag: from a commit on the primary to its row being visible on the standby, while the month is being
  written (bulk inserts, the heaviest write load the platform makes) and at rest;
- a district's and the city's 14-day figures read off the standby and on the primary (both on this machine: a
  replica adds no cores here; the figures show what a read costs off the primary);
- the fallback: reads while the standby is stopped (the first pays the refused connection), and how soon reads are
  back on the standby once it answers again.

    .venv/bin/python -m benchmarks.replica --per-day 5760 --repeats 30     # about 5 minutes on two cores
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.reads import Reads
from backend.core.runtime import Runtime
from backend.dashboard import service
from backend.users.models import User
from benchmarks.dashboard import _build, _pct
from tests.infra import migrate
from tests.replica import Pair, streaming_pair


def _summary(name: str, values: list[float]) -> None:
    print(f"{name}: p50 {_pct(values, 50):.1f} ms, p95 {_pct(values, 95):.1f} ms, max {max(values):.1f} ms")


async def _lags(pair: Pair, until: Callable[[], bool], every: float = 0.1) -> list[float]:
    """Commit a row on the primary, time until the standby shows it; again every ``every`` s until ``until()``."""
    lags = []
    async with (
        await psycopg.AsyncConnection.connect(pair.primary.libpq, autocommit=True) as primary,
        await psycopg.AsyncConnection.connect(pair.standby.libpq, autocommit=True) as standby,
    ):
        await primary.execute("CREATE TABLE IF NOT EXISTS replica_probe (id bigserial PRIMARY KEY)")
        while not until():
            row = await (await primary.execute("INSERT INTO replica_probe DEFAULT VALUES RETURNING id")).fetchone()
            assert row is not None
            t0 = time.perf_counter()
            while True:  # polled every millisecond: the lag is known to about that
                if await (await standby.execute("SELECT 1 FROM replica_probe WHERE id = %s", row)).fetchone():
                    break
                await asyncio.sleep(0.001)
            lags.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(every)
    return lags


async def _time_reads(runtime: Runtime, reads: Reads, admin: User, repeats: int, call: Read) -> list[float]:
    """Each read as the API makes it: a request's session on the primary, the read off it when a replica answers."""
    took = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        async with runtime.sessions() as primary, reads.session(primary) as session:
            await call(session, admin)
        took.append((time.perf_counter() - t0) * 1000)
    return took


async def _run(pair: Pair, per_day: int, repeats: int) -> None:
    settings = Settings(database_url=pair.primary.url, redis_url=None, environment="test", log_level="WARNING")
    runtime = Runtime(settings, role="worker")
    try:
        building = asyncio.create_task(_build(runtime, random.Random(7), per_day, 300))
        _summary(f"lag while {30 * per_day} orders are written", await _lags(pair, building.done))
        districts, admin_id = await building
        async with runtime.engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).exec_driver_sql("VACUUM ANALYZE")
        async with runtime.sessions() as session:
            admin = await session.get(User, admin_id)
            assert admin is not None
        rest = time.monotonic() + 10
        _summary("lag at rest", await _lags(pair, lambda: time.monotonic() > rest))
        pair.caught_up()
        await _compare(pair, runtime, admin, districts, repeats)
    finally:
        await runtime.stop()


Read = Callable[[AsyncSession, User], Awaitable[object]]


async def _compare(pair: Pair, runtime: Runtime, admin: User, districts: list[int], repeats: int) -> None:
    """The figures off the standby and on the primary; then the standby stopped, and started again."""
    rng = random.Random(11)
    update = {"database_read_url": pair.standby.url, "database_read_retry_seconds": 1.0}
    off = Reads(runtime.settings.model_copy(update=update), replica=True, info={})
    on = Reads(runtime.settings, replica=False, info={})

    def district(s: AsyncSession, u: User) -> Awaitable[object]:
        area = rng.choice(districts)
        return service.figures(session=s, user=u, community_id=None, street_id=None, district_id=area, days=14)

    def city(s: AsyncSession, u: User) -> Awaitable[object]:
        return service.figures(session=s, user=u, community_id=None, street_id=None, district_id=None, days=14)

    cases: tuple[tuple[str, Read], ...] = (("district figures", district), ("city figures", city))
    try:
        for name, call in cases:
            for where, reads in (("off the standby", off), ("on the primary", on)):
                await _time_reads(runtime, reads, admin, 3, call)  # each server's cache warmed alike
                _summary(f"{name}, 14 days, {where}", await _time_reads(runtime, reads, admin, repeats, call))
        pair.standby.stop()
        stopped = await _time_reads(runtime, off, admin, 10, district)
        _summary(f"district figures, the standby stopped (the first {stopped[0]:.1f} ms)", stopped)
        t0 = time.perf_counter()
        pair.standby.start()
        while True:
            state = await off.probe()
            if state is not None and state.answers:
                break
            await asyncio.sleep(0.1)
        async with runtime.sessions() as primary, off.session(primary) as session:
            assert session is not primary
        print(
            f"reads back on the standby {time.perf_counter() - t0:.1f} s after it was started (pg_ctl start included)"
        )
    finally:
        await off.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-day", type=int, default=5760, help="orders a day (240 an hour)")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    with streaming_pair() as pair:
        migrate(pair.primary.url)
        asyncio.run(_run(pair, args.per_day, args.repeats))


if __name__ == "__main__":
    main()
