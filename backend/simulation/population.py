"""The people of a simulated day: its district and communities, the providers serving them, their caregivers and
the elders who will ask, written in bulk into the day's own database (same scenario and seed: same people)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from backend.areas.models import Community, District, Street
from backend.benefits.models import ElderBenefit
from backend.core.geo import distance_m
from backend.insurance.seed import insure_providers
from backend.registry.models import (
    Caregiver,
    CaregiverSkill,
    Elder,
    Provider,
    ProviderCommunity,
    ProviderService,
    placed,
)
from backend.registry.models import ServiceType as ServiceTypeRow
from backend.registry.service import synthetic_identity
from backend.simulation.scenario import Scenario
from backend.users.models import Role, User


@dataclass
class People:
    """What the day's events need to know of its people."""

    minutes: dict[str, int]  # each service type's duration
    operator_id: int  # the hotline operator who files the requests
    elders: list[int]
    homes: dict[int, tuple[float, float]]  # elder → where she lives


def _grid(s: Scenario, center: tuple[float, float]) -> list[tuple[float, float]]:
    """Communities ``community_spacing_km`` apart over the scenario's disk."""
    step = s.community_spacing_km
    n = math.ceil(s.radius_km / step)
    return [
        (center[0] + i * step / 111.32, center[1] + j * step / (111.32 * math.cos(math.radians(center[0]))))
        for i in range(-n, n + 1)
        for j in range(-n, n + 1)
        if math.hypot(i * step, j * step) <= s.radius_km
    ]


def _in_disk(rng: random.Random, center: tuple[float, float], radius_km: float) -> tuple[float, float]:
    """A uniform point within the disk."""
    r = radius_km * math.sqrt(rng.random())
    theta = rng.uniform(0, 2 * math.pi)
    lat = center[0] + r * math.cos(theta) / 111.32
    lon = center[1] + r * math.sin(theta) / (111.32 * math.cos(math.radians(center[0])))
    return lat, lon


def _near(rng: random.Random, point: tuple[float, float], sigma_km: float) -> tuple[float, float]:
    lat = point[0] + rng.gauss(0, sigma_km) / 111.32
    lon = point[1] + rng.gauss(0, sigma_km) / (111.32 * math.cos(math.radians(point[0])))
    return lat, lon


async def _insert_ids(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert many rows into the day's own SQLite database and return their ids, in order.

    The ids are given, not returned: SQLAlchemy splices each batch's RETURNING rows onto all the
    batches before it, quadratic in the rows (30 s for a district's 20,000 elders).
    """
    last = (await session.execute(select(func.max(model.id)))).scalar() or 0
    ids = list(range(last + 1, last + 1 + len(rows)))
    await session.execute(insert(model), [{**row, "id": i} for i, row in zip(ids, rows, strict=True)])
    return ids


async def populate(session: AsyncSession, s: Scenario, rng: random.Random, now: datetime) -> People:
    """The scenario's district, communities, providers (insured), caregivers and entitled elders, made at ``now``."""
    center = (s.center.lat, s.center.lon)
    minutes = {t.code: t.default_minutes for t in (await session.execute(select(ServiceTypeRow))).scalars()}
    unknown = sorted(set(s.service_mix) - set(minutes))
    if unknown:
        raise ValueError(f"unknown service types in service_mix: {', '.join(unknown)}")
    points = [(p.lat, p.lon) for p in s.communities] if s.communities else _grid(s, center)
    communities = await _communities(session, center, points)
    operator = User(username="sim-operator", password_hash="-", role=Role.operator.value)
    session.add(operator)
    await session.flush()
    assert operator.id is not None
    services = sorted(s.service_mix)
    providers = await _providers(session, s, rng, points, communities, services)
    await insure_providers(
        session, [p.id for p in providers if p.id is not None], starts_on=now.date() - timedelta(days=30)
    )
    await _caregivers(session, s, rng, providers, services, now)
    elders = _elder_rows(s, rng, communities, now)
    elder_ids = await _insert_ids(session, Elder, elders)
    # The scenario's elders are entitled (低保): its government-paid share of orders uses their quota.
    await session.execute(
        insert(ElderBenefit),
        [
            {
                "elder_id": eid,
                "category": "low_income",
                "valid_from": now.date() - timedelta(days=60),
                "by": "system:simulation",
                "created_at": now,
            }
            for eid in elder_ids
        ],
    )
    homes = {int(eid): (float(e["lat"]), float(e["lon"])) for eid, e in zip(elder_ids, elders, strict=True)}
    return People(minutes=minutes, operator_id=operator.id, elders=elder_ids, homes=homes)


async def _communities(
    session: AsyncSession, center: tuple[float, float], points: list[tuple[float, float]]
) -> list[Community]:
    """The simulated district and street, and one community at each point."""
    district = District(code="SIM", name="模拟区", kind="district", lat=center[0], lon=center[1])
    session.add(district)
    await session.flush()
    assert district.id is not None
    street = Street(district_id=district.id, code="SIM-S", name="模拟街道", kind="street", lat=center[0], lon=center[1])
    session.add(street)
    await session.flush()
    communities = []
    for k, (lat, lon) in enumerate(points):
        community = Community(
            street_id=street.id,  # type: ignore[arg-type]
            district_id=district.id,
            code=f"SIM{k:05d}",
            name=f"模拟社区{k}",
            kind="community",
            lat=lat,
            lon=lon,
        )
        session.add(community)
        communities.append(community)
    return communities


async def _providers(
    session: AsyncSession,
    s: Scenario,
    rng: random.Random,
    points: list[tuple[float, float]],
    communities: list[Community],
    services: list[str],
) -> list[Provider]:
    """The scenario's providers, each serving the communities within its reach and every service of the mix."""
    center = (s.center.lat, s.center.lon)
    providers = []
    for k in range(s.providers):
        # Providers stand among the people they serve: near a community when the scenario places them.
        lat, lon = _near(rng, rng.choice(points), 1.0) if s.communities else _in_disk(rng, center, s.radius_km)
        provider = Provider(name=f"模拟服务中心{k}", kind="home_care", lat=lat, lon=lon)
        session.add(provider)
        await session.flush()
        providers.append(provider)
        served = [c for c in communities if distance_m(lat, lon, c.lat, c.lon) <= s.provider_reach_km * 1000]
        await session.execute(
            insert(ProviderCommunity), [{"provider_id": provider.id, "community_id": c.id} for c in served]
        )
        await session.execute(
            insert(ProviderService), [{"provider_id": provider.id, "service_type": t} for t in services]
        )
    return providers


async def _caregivers(
    session: AsyncSession,
    s: Scenario,
    rng: random.Random,
    providers: list[Provider],
    services: list[str],
    now: datetime,
) -> None:
    """The caregivers (users too), shared out among the providers round-robin, living near them, with skills."""
    users = [
        {"username": f"sim-cg-{i}", "password_hash": "-", "role": Role.caregiver.value, "created_at": now}
        for i in range(s.caregivers)
    ]
    user_ids = await _insert_ids(session, User, users)
    rows = []
    for i, user_id in enumerate(user_ids):
        provider = providers[i % len(providers)]
        rows.append(
            {
                "provider_id": provider.id,
                "user_id": user_id,
                "name": f"护理员{i}",
                "phone": "+8613900000000",
                **placed(*_near(rng, (provider.lat, provider.lon), s.provider_reach_km / 3)),
                "on_shift": True,
                "gender": rng.choice(["female", "male"]),
                "languages": ["mandarin", "suzhounese"] if rng.random() < s.suzhounese_caregivers else ["mandarin"],
                "created_at": now,
            }
        )
    caregiver_ids = await _insert_ids(session, Caregiver, rows)
    skills = []
    for cid in caregiver_ids:
        for t in rng.sample(services, min(len(services), s.caregiver.skills_per_caregiver)):
            skills.append({"caregiver_id": cid, "service_type": t})
    await session.execute(insert(CaregiverSkill), skills)


def _elder_rows(s: Scenario, rng: random.Random, communities: list[Community], now: datetime) -> list[dict[str, Any]]:
    """The scenario's elders, each living near a community's centre."""
    elders = []
    for i in range(s.elders):
        home = rng.choice(communities)
        lat, lon = _near(rng, (home.lat, home.lon), 0.3)
        elders.append(
            {
                "name": f"老人{i}",
                **synthetic_identity(f"SIM{i:015d}", born=date(1945, 1, 1), gender=rng.choice(["female", "male"])),
                "community_id": home.id,
                "address": "模拟地址",
                "lat": lat,
                "lon": lon,
                "language": "suzhounese" if rng.random() < s.suzhounese_elders else None,
                "created_at": now,
            }
        )
    return elders
