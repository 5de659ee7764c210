"""Benchmark: the dispatcher's compute per decision with a city's caregivers on shift.

Builds a private PostgreSQL database with the full Suzhou tree (2,188 communities), providers that
each serve a street's communities, and N caregivers on shift spread over the city; then times
``find_candidates`` and a whole ``run_round`` (candidates, offer, transitions) for orders of elders
all over the city. Excludes any batching window.

    .venv/bin/python -m benchmarks.dispatch_latency --caregivers 20000 --orders 300
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import statistics
import time
from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from backend.areas.models import Community
from backend.areas.suzhou import city_tree
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.runtime import Runtime
from backend.core.security import hash_password
from backend.dispatch import candidates as candidate_search
from backend.dispatch.candidates import find_candidates
from backend.dispatch.rounds import run_round
from backend.insurance.seed import insure_providers
from backend.orders.models import ServiceRequest
from backend.registry.models import (
    Caregiver,
    CaregiverSkill,
    Elder,
    Provider,
    ProviderCommunity,
    ProviderService,
    placed,
)
from backend.registry.service import synthetic_identity
from backend.seed import seed_areas
from backend.users.models import User
from tests.infra import migrate, private_database

TYPES = ["meal", "bathing", "cleaning", "emergency"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _populate(runtime: Runtime, caregivers: int, rng: random.Random) -> list[int]:
    async with runtime.unit_of_work() as session:
        await seed_areas(session, city_tree())
    async with runtime.unit_of_work() as session:
        communities = list((await session.execute(select(Community))).scalars())
        by_street: dict[int, list[Community]] = {}
        for c in communities:
            by_street.setdefault(c.street_id, []).append(c)
        password = hash_password("bench-password")
        providers: list[tuple[int, list[Community]]] = []
        for street_id, members in by_street.items():
            for k in range(2):  # two providers per street
                provider = Provider(name=f"p{street_id}-{k}", kind="home_care", lat=members[0].lat, lon=members[0].lon)
                session.add(provider)
                await session.flush()
                assert provider.id is not None
                providers.append((provider.id, members))
        await session.execute(
            insert(ProviderCommunity),
            [{"provider_id": p, "community_id": c.id} for p, members in providers for c in members],
        )
        await session.execute(
            insert(ProviderService), [{"provider_id": p, "service_type": t} for p, _ in providers for t in TYPES]
        )
        await insure_providers(session, [p for p, _ in providers])
        users = [
            {"username": f"bench{i}", "password_hash": password, "role": "caregiver", "created_at": utcnow()}
            for i in range(caregivers)
        ]
        user_ids = list((await session.execute(insert(User).returning(col(User.id)), users)).scalars())
        rows = []
        for i, user_id in enumerate(user_ids):
            provider_id, members = providers[i % len(providers)]
            home = rng.choice(members)
            rows.append(
                {
                    "provider_id": provider_id,
                    "user_id": user_id,
                    "name": f"护理员{i}",
                    "phone": "+8613900000000",
                    **placed(home.lat + rng.uniform(-0.01, 0.01), home.lon + rng.uniform(-0.01, 0.01)),
                    "languages": ["mandarin", "suzhounese"] if i % 3 == 0 else ["mandarin"],
                    "on_shift": True,
                    "created_at": utcnow(),
                }
            )
        caregiver_ids = list((await session.execute(insert(Caregiver).returning(col(Caregiver.id)), rows)).scalars())
        await session.execute(
            insert(CaregiverSkill),
            [{"caregiver_id": c, "service_type": t} for c in caregiver_ids for t in rng.sample(TYPES, 2)],
        )
        elders = []
        for i in range(600):
            home = rng.choice(communities)
            elders.append(
                {
                    "name": "老人",
                    **synthetic_identity(f"{i:018d}", born=date(1945, 1, 1), gender=rng.choice(["female", "male"])),
                    "community_id": home.id,
                    "address": "x",
                    "lat": home.lat,
                    "lon": home.lon,
                    "created_at": utcnow(),
                }
            )
        return list((await session.execute(insert(Elder).returning(col(Elder.id)), elders)).scalars())


async def _run(url: str, caregivers: int, orders: int) -> None:
    rng = random.Random(7)
    settings = Settings(database_url=url, redis_url=None, environment="test")
    rings: list[float] = []
    near = candidate_search.caregivers_near

    def counted(elder: Elder, radius: float, *columns: Any, **kw: Any) -> Any:
        rings.append(radius)
        return near(elder, radius, *columns, **kw)

    candidate_search.caregivers_near = counted  # type: ignore[assignment]
    runtime = Runtime(settings, role="worker")  # pooled connections, as the Celery worker that dispatches
    try:
        started = time.perf_counter()
        elder_ids = await _populate(runtime, caregivers, rng)
        print(f"populated {caregivers} caregivers in {time.perf_counter() - started:.1f} s")
        find_ms, round_ms, found = [], [], []
        for _ in range(orders):
            async with runtime.unit_of_work() as session:
                elder = await session.get(Elder, rng.choice(elder_ids))
                assert elder is not None
                now = utcnow()
                request = ServiceRequest(
                    elder_id=elder.id,  # type: ignore[arg-type]
                    community_id=elder.community_id,
                    service_type=rng.choice(TYPES),
                    created_at=now,
                    updated_at=now,
                    dispatch_started_at=now,
                )
                session.add(request)
                await session.flush()
                t0 = time.perf_counter()
                candidates = await find_candidates(session, request, settings)
                find_ms.append((time.perf_counter() - t0) * 1000)
                found.append(len(candidates))
            async with runtime.unit_of_work() as session:
                t0 = time.perf_counter()
                await run_round(session=session, settings=settings, request_id=request.id)  # type: ignore[arg-type]
                await session.flush()
                round_ms.append((time.perf_counter() - t0) * 1000)
        for name, values in (("find_candidates", find_ms), ("run_round (whole decision)", round_ms)):
            print(
                f"{name:<28} n={len(values)} p50={_pct(values, 50):6.1f} ms p95={_pct(values, 95):6.1f} ms "
                f"p99={_pct(values, 99):6.1f} ms mean={statistics.fmean(values):6.1f} ms"
            )
        print(f"candidates per order: mean {statistics.fmean(found):.1f}, min {min(found)}, max {max(found)}")
        widths = sorted(rings)
        print(
            f"rings searched: {len(rings)} over {2 * orders} searches; by radius (m): "
            + ", ".join(f"{r:.0f}×{widths.count(r)}" for r in sorted(set(widths)))
        )
    finally:
        await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--caregivers", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="Print where the time goes (cProfile)")
    args = parser.parse_args()
    with private_database() as url:
        migrate(url)
        if not args.profile:
            asyncio.run(_run(url, args.caregivers, args.orders))
            return
        profiler = cProfile.Profile()
        profiler.runcall(asyncio.run, _run(url, args.caregivers, args.orders))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
