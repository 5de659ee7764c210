"""Benchmark: bed capacity at Suzhou scale — the free-bed search, and holds per second under contention.

Builds a private PostgreSQL database with the full Suzhou tree and 85,839 beds (``eldercare seed --scale
city``'s institutions), then

- times ``GET /api/v1/beds/search``'s service call (nursing-type beds within 5 km of random communities),
  one session per search as the API has it;
- fills one institution's ``--beds`` nursing beds with ``--clients`` concurrent clients holding beds for
  distinct elders until none is free, and checks that no bed was given twice.

    .venv/bin/python -m benchmarks.beds --searches 500 --beds 2000 --clients 32
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import date

from sqlalchemy import func, insert
from sqlmodel import col, select

from backend.areas.models import Community
from backend.areas.suzhou import city_tree
from backend.capacity.holds import hold_bed
from backend.capacity.institutions import search_free_beds
from backend.capacity.models import Bed, BedHold, HoldStatus, Institution
from backend.capacity.schemas import HoldCreate
from backend.capacity.seed import CITY_BEDS, seed_institutions
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import Conflict
from backend.core.runtime import Runtime
from backend.core.schemas import Location
from backend.registry.models import Elder
from backend.registry.service import synthetic_identity
from backend.seed import seed_areas
from backend.users.models import Role, User
from tests.infra import migrate, private_database


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _run(url: str, searches: int, beds: int, clients: int) -> None:
    settings = Settings(database_url=url, redis_url=None, environment="test", log_level="WARNING")
    runtime = Runtime(settings, role="worker")  # pooled connections, as the API has them
    rng = random.Random(11)
    try:
        started = time.perf_counter()
        async with runtime.unit_of_work() as session:
            await seed_areas(session, city_tree())
        async with runtime.unit_of_work() as session:
            communities = list((await session.execute(select(Community))).scalars())
            made = await seed_institutions(session, communities, beds=CITY_BEDS, rng=rng, prefix="SZ-")
        print(f"seeded {made} institutions, {CITY_BEDS} beds in {time.perf_counter() - started:.1f} s")

        took, found = [], []
        for _ in range(searches):
            home = rng.choice(communities)
            t0 = time.perf_counter()
            async with runtime.sessions() as session:
                near = Location(lat=home.lat, lon=home.lon)
                result = await search_free_beds(session=session, kind="nursing", near=near, radius_km=5)
            took.append((time.perf_counter() - t0) * 1000)
            found.append(len(result))
        print(
            f"free-bed search, {searches} points, 5 km: p50 {_pct(took, 50):.1f} ms, p95 {_pct(took, 95):.1f} ms, "
            f"p99 {_pct(took, 99):.1f} ms (goal p99 <= 50 ms); institutions found: mean "
            f"{statistics.fmean(found):.1f}"
        )

        async with runtime.unit_of_work() as session:
            home = communities[0]
            target = Institution(
                name="压测护理院",
                operator_kind="social",
                community_id=home.id,  # type: ignore[arg-type]
                licence_no="BENCH-1",
                lat=home.lat,
                lon=home.lon,
            )
            session.add(target)
            admin = User(username="bench-admin", password_hash="-", role=Role.admin.value)
            session.add(admin)
            await session.flush()
            now = utcnow()
            await session.execute(
                insert(Bed),
                [
                    {
                        "institution_id": target.id,
                        "room": f"{n // 4}",
                        "label": f"{n}",
                        "kind": "nursing",
                        "status": "free",
                        "updated_at": now,
                    }
                    for n in range(beds)
                ],
            )
            elders = await session.execute(
                insert(Elder).returning(col(Elder.id)),
                [
                    {
                        "name": "压测",
                        **synthetic_identity(f"B{n:017d}", born=date(1945, 1, 1), gender="female"),
                        "community_id": home.id,
                        "address": "-",
                        "lat": home.lat,
                        "lon": home.lon,
                        "created_at": now,
                    }
                    for n in range(beds + clients)
                ],
            )
            waiting = [i for i in elders.scalars() if i is not None]
            target_id, admin_id = target.id, admin.id
        queue = iter(waiting)
        won, refused = 0, 0

        async def client() -> None:
            nonlocal won, refused
            for elder_id in queue:
                async with runtime.unit_of_work() as session:
                    user = await session.get(User, admin_id)
                    assert user is not None and target_id is not None
                    data = HoldCreate(elder_id=elder_id, institution_id=target_id, kind="nursing")
                    try:
                        await hold_bed(session=session, settings=settings, user=user, data=data)
                    except Conflict as exc:
                        assert exc.code == "no_bed_free", exc.code
                        refused += 1
                        return
                won += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - t0
        async with runtime.sessions() as session:
            doubled = await session.execute(
                select(BedHold.bed_id)
                .where(col(BedHold.status) == HoldStatus.active.value)
                .group_by(col(BedHold.bed_id))
                .having(func.count() > 1)
            )
            twice = len(doubled.all())
        print(
            f"holds: {won} of {beds} beds with {clients} concurrent clients in {elapsed:.2f} s = "
            f"{won / elapsed:.0f} holds/s; refused once full: {refused}; beds held twice: {twice}"
        )
    finally:
        await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--beds", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    with private_database() as url:
        migrate(url)
        asyncio.run(_run(url, args.searches, args.beds, args.clients))


if __name__ == "__main__":
    main()
