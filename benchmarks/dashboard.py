"""Benchmark: the staff's screens over a month of a Suzhou-sized city.

Builds a private PostgreSQL database with the full Suzhou tree, 85,839 beds, a home-care provider with
``--caregivers`` caregivers in each district, 20,000 elders, and ``--per-day`` orders a day over the last 30 days
(each with its status history, visits and ratings; today's still open in every state), then times the read models
behind the pages, one session per call as the API has them:

- a district's live queue (``GET /api/v1/dashboard/queue?district_id=``), the page's most frequent reload;
- a district's figures over 14 days, and the city's (``GET /api/v1/dashboard/figures``);
- a district's caregivers and their state (``GET /api/v1/dashboard/caregivers``);
- the bureau's city table (``GET /api/v1/dashboard/city``).

    .venv/bin/python -m benchmarks.dashboard --per-day 5760 --repeats 30            # about 3 minutes
    .venv/bin/python -m benchmarks.dashboard --keep                                 # keep the month built...
    .venv/bin/python -m benchmarks.dashboard --database postgresql+asyncpg://…/eldercare_test_…  # ...time it again
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import col, select

from backend.areas.models import Community, District
from backend.areas.suzhou import city_tree
from backend.capacity.seed import CITY_BEDS, seed_institutions
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.runtime import Runtime
from backend.dashboard import city as bureau
from backend.dashboard import service
from backend.orders.models import RequestHistory, ServiceRequest, Visit
from backend.registry.models import Caregiver, Elder, Provider, ProviderCommunity
from backend.registry.service import synthetic_identity
from backend.seed import seed_areas
from backend.users.models import Role, User
from tests.infra import migrate, private_database

SERVICES = ("meal", "cleaning", "bathing", "medical_escort", "mobility")
OPEN_TODAY = ("new", "dispatching", "offered", "accepted", "en_route", "in_service", "escalated")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _build(runtime: Runtime, rng: random.Random, per_day: int, caregivers: int) -> tuple[list[int], int]:
    """The city, its month of orders; the district ids and the admin's user id."""
    async with runtime.unit_of_work() as session:
        await seed_areas(session, city_tree())
    async with runtime.unit_of_work() as session:
        communities = list((await session.execute(select(Community))).scalars())
        await seed_institutions(session, communities, beds=CITY_BEDS, rng=rng, prefix="SZ-")
        districts = [d.id for d in (await session.execute(select(District))).scalars() if d.id is not None]
        admin = User(username="bench-admin", password_hash="-", role=Role.admin.value)
        session.add(admin)
        await session.flush()
        admin_id = admin.id
        assert admin_id is not None
    now = utcnow()
    by_district: dict[int, list[Community]] = {}
    for c in communities:
        by_district.setdefault(c.district_id, []).append(c)
    staff: dict[int, list[int]] = {}
    async with runtime.unit_of_work() as session:
        for district_id, places in by_district.items():
            home = places[0]
            provider = Provider(name=f"压测居家养老{district_id}", kind="home_care", lat=home.lat, lon=home.lon)
            session.add(provider)
            await session.flush()
            await session.execute(
                insert(ProviderCommunity), [{"provider_id": provider.id, "community_id": c.id} for c in places]
            )
            users = await session.execute(
                insert(User).returning(col(User.id)),
                [
                    {"username": f"b{district_id}-{n}", "password_hash": "-", "role": "caregiver", "created_at": now}
                    for n in range(caregivers)
                ],
            )
            people = []
            for n, user_id in enumerate(users.scalars()):
                spot = rng.choice(places)
                people.append(
                    {
                        "provider_id": provider.id,
                        "user_id": user_id,
                        "name": f"护理员{n}",
                        "phone": "+8613900000000",
                        "lat": spot.lat + rng.uniform(-0.01, 0.01),
                        "lon": spot.lon + rng.uniform(-0.01, 0.01),
                        "on_shift": rng.random() < 0.7,
                        "languages": ["mandarin"],
                        "created_at": now,
                    }
                )
            made = await session.execute(insert(Caregiver).returning(col(Caregiver.id)), people)
            staff[district_id] = list(made.scalars())
    async with runtime.unit_of_work() as session:
        rows = []
        for n in range(20_000):
            c = rng.choice(communities)
            rows.append(
                {
                    "name": f"老人{n}",
                    **synthetic_identity(f"B{n:017d}", born=date(1945, 1, 1), gender="female"),
                    "community_id": c.id,
                    "address": "-",
                    "lat": c.lat + rng.uniform(-0.005, 0.005),
                    "lon": c.lon + rng.uniform(-0.005, 0.005),
                    "created_at": now,
                }
            )
        elders = list(
            zip((await session.execute(insert(Elder).returning(col(Elder.id)), rows)).scalars(), rows, strict=True)
        )
    district_of = {c.id: c.district_id for c in communities}
    started = time.perf_counter()
    for day in range(29, -1, -1):
        async with runtime.unit_of_work() as session:
            orders, plans = [], []
            for _ in range(per_day):
                elder_id, elder = rng.choice(elders)
                made = now - timedelta(days=day, seconds=rng.uniform(0, 86_400 if day else 3_600 * 8))
                district_id = district_of[elder["community_id"]]
                if day == 0 and rng.random() < 0.08:
                    status = rng.choice(OPEN_TODAY)
                else:
                    status = rng.choices(("closed", "completed", "cancelled"), (70, 20, 10))[0]
                held = status in ("accepted", "en_route", "in_service", "completed", "closed")
                caregiver = rng.choice(staff[district_id]) if held else None
                accept_after = timedelta(seconds=rng.lognormvariate(3.5, 0.8))
                orders.append(
                    {
                        "elder_id": elder_id,
                        "community_id": elder["community_id"],
                        "service_type": rng.choice(SERVICES),
                        "priority": "normal",
                        "paid_by": "self",
                        "status": status,
                        "assigned_caregiver_id": caregiver,
                        "created_at": made,
                        "updated_at": made + accept_after,
                    }
                )
                plans.append((made, accept_after, status, caregiver, elder))
            ids = list(
                (await session.execute(insert(ServiceRequest).returning(col(ServiceRequest.id)), orders)).scalars()
            )
            history, visits = [], []
            for request_id, (made, accept_after, status, caregiver, elder) in zip(ids, plans, strict=True):
                history.append({"request_id": request_id, "status": "new", "at": made, "by": "bench"})
                if caregiver is not None:
                    history.append(
                        {"request_id": request_id, "status": "accepted", "at": made + accept_after, "by": "bench"}
                    )
                if status in ("completed", "closed"):
                    done = made + accept_after + timedelta(hours=1)
                    history.append({"request_id": request_id, "status": status, "at": done, "by": "bench"})
                    visits.append(
                        {
                            "request_id": request_id,
                            "caregiver_id": caregiver,
                            "checkin_at": done - timedelta(minutes=45),
                            "checkin_lat": elder["lat"],
                            "checkin_lon": elder["lon"],
                            "checkin_distance_m": 10.0,
                            "checkout_at": done,
                            "rating": rng.choice((3, 4, 5, 5, 5)) if rng.random() < 0.6 else None,
                        }
                    )
            await session.execute(insert(RequestHistory), history)
            if visits:
                await session.execute(insert(Visit), visits)
    print(f"seeded {30 * per_day} orders over 30 days in {time.perf_counter() - started:.1f} s")
    return districts, admin_id


# A read model, its goal, and whether the API reads it off the primary (``ReadSessionDep``).
Case = tuple[Callable[[Any, User], Awaitable[Any]], str, bool]


async def _time(runtime: Runtime, repeats: int, case: Case, admin_id: int) -> list[float]:
    call, _goal, off_primary = case
    took = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        async with runtime.sessions() as session:
            user = await session.get(User, admin_id)  # the sign-in, on the primary as in the API
            assert user is not None
            async with runtime.reads.session(session) as reads:  # no replica here: the session itself
                await call(reads if off_primary else session, user)
        took.append((time.perf_counter() - t0) * 1000)
    return took


async def _built(runtime: Runtime) -> tuple[list[int], int]:
    """The district ids and the admin's user id of a database an earlier run built and kept."""
    async with runtime.sessions() as session:
        districts = [d for d in (await session.execute(select(District.id))).scalars() if d is not None]
        admin_id = (await session.execute(select(User.id).where(col(User.username) == "bench-admin"))).scalar_one()
    assert admin_id is not None
    return districts, admin_id


def _cases(settings: Settings, area: Callable[[], int]) -> dict[str, Case]:
    """The read models timed, as the pages call them."""
    return {
        "district queue": (
            lambda s, u: service.queue(
                session=s, settings=settings, user=u, community_id=None, street_id=None, district_id=area(), limit=200
            ),
            "p95 <= 200 ms",
            False,
        ),
        "district figures, 14 days": (
            lambda s, u: service.figures(
                session=s, user=u, community_id=None, street_id=None, district_id=area(), days=14
            ),
            "p95 <= 100 ms",
            True,
        ),
        "city figures, 14 days (an operator's dashboard)": (
            lambda s, u: service.figures(
                session=s, user=u, community_id=None, street_id=None, district_id=None, days=14
            ),
            "p95 <= 200 ms",
            True,
        ),
        "district caregivers": (
            lambda s, u: service.caregivers(
                session=s, user=u, community_id=None, street_id=None, district_id=area(), everyone=False
            ),
            "p95 <= 200 ms",
            False,
        ),
        "city table": (lambda s, u: bureau.city(session=s, user=u), "p95 <= 1000 ms", True),
    }


async def _run(url: str, per_day: int, caregivers: int, repeats: int, *, build: bool) -> None:
    settings = Settings(database_url=url, redis_url=None, environment="test", log_level="WARNING")
    runtime = Runtime(settings, role="worker")
    rng = random.Random(7)
    try:
        districts, admin_id = await (_build(runtime, rng, per_day, caregivers) if build else _built(runtime))
        # What autovacuum has done over a real month: statistics, and the visibility map index-only scans rely on.
        async with runtime.engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
        for name, case in _cases(settings, lambda: rng.choice(districts)).items():
            took = await _time(runtime, repeats, case, admin_id)
            print(
                f"{name}: p50 {_pct(took, 50):.1f} ms, p95 {_pct(took, 95):.1f} ms, max {max(took):.1f} ms "
                f"(goal {case[1]})"
            )
    finally:
        await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-day", type=int, default=5760, help="orders a day (240 an hour)")
    parser.add_argument("--caregivers", type=int, default=300, help="caregivers per district")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database built (its URL is printed)")
    parser.add_argument("--database", help="time a database an earlier --keep run built (its orders age)")
    args = parser.parse_args()
    if args.database:
        migrate(args.database)  # a release with new migrations (indexes) times them on the same data
        asyncio.run(_run(args.database, args.per_day, args.caregivers, args.repeats, build=False))
        return
    with private_database(keep=args.keep) as url:
        migrate(url)
        if args.keep:
            print(f"database kept: {url}")
        asyncio.run(_run(url, args.per_day, args.caregivers, args.repeats, build=True))


if __name__ == "__main__":
    main()
