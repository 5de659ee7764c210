"""The candidate search: H3 disks cover their circle, and widening ring by ring finds what a full scan finds."""

from __future__ import annotations

import math
import random
import uuid

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.geo import covering_cells, distance_m, h3_cells
from backend.core.runtime import Runtime
from backend.dispatch import candidates
from backend.insurance.seed import insure_providers
from backend.orders.models import ServiceRequest
from backend.registry.models import Caregiver, CaregiverSkill, Provider, ProviderCommunity, ProviderService
from backend.users.models import User
from tests.client import unique_phone
from tests.factories import HERE, elder_at_home, new_community

pytestmark = pytest.mark.unit


def _point_at(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    return (
        lat + metres * math.cos(bearing) / 111_320.0,
        lon + metres * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat))),
    )


@pytest.mark.parametrize("radius_m", [500.0, 2_000.0, 4_000.0, 5_000.0, 10_000.0, 30_000.0])
def test_the_cells_cover_every_point_within_the_radius(radius_m: float) -> None:
    rng = random.Random(radius_m)
    for _ in range(20):
        lat, lon = 31.0 + rng.random() * 0.8, 120.3 + rng.random() * 0.9  # over Suzhou
        resolution, cells = covering_cells(lat, lon, radius_m)
        disk = set(cells)
        for k in range(72):
            plat, plon = _point_at(lat, lon, radius_m * 0.999, 2 * math.pi * k / 72)
            assert distance_m(lat, lon, plat, plon) <= radius_m
            assert h3_cells(plat, plon)[0 if resolution == 8 else 1] in disk


async def test_widening_ring_by_ring_finds_what_a_full_scan_finds(
    session: AsyncSession, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 caregivers up to 28 km around, on a rolled-back session: none is left for another test's lists."""
    rng = random.Random(7)
    settings = Settings(database_url=runtime.settings.database_url, fairness_cache_seconds=0)
    community = await new_community(session)
    providers = []
    for k in range(3):
        provider = Provider(name=f"搜索测试{k}", kind="home_care", lat=HERE.lat, lon=HERE.lon)
        session.add(provider)
        await session.flush()
        assert provider.id is not None
        providers.append(provider.id)
    await session.execute(
        insert(ProviderCommunity), [{"provider_id": p, "community_id": community.id} for p in providers]
    )
    await session.execute(insert(ProviderService), [{"provider_id": p, "service_type": "meal"} for p in providers])
    await insure_providers(session, providers)
    tag = uuid.uuid4().hex[:8]
    caregivers = []
    for i in range(150):
        user = User(username=f"search_{tag}_{i}", password_hash="x", role="caregiver")
        session.add(user)
        await session.flush()
        # Mostly within a few kilometres, some across the city.
        metres = rng.expovariate(1 / 3_000) if i % 10 else rng.uniform(5_000, 28_000)
        lat, lon = _point_at(HERE.lat, HERE.lon, metres, rng.uniform(0, 2 * math.pi))
        caregiver = Caregiver(
            provider_id=providers[i % 3],
            user_id=user.id,  # type: ignore[arg-type]
            name=f"护理员{i}",
            phone=unique_phone(),
            lat=lat,
            lon=lon,
            on_shift=rng.random() > 0.1,
            languages=["mandarin", "suzhounese"] if i % 4 == 0 else ["mandarin"],
        )
        session.add(caregiver)
        await session.flush()
        caregivers.append(caregiver.id)
    await session.execute(insert(CaregiverSkill), [{"caregiver_id": c, "service_type": "meal"} for c in caregivers])
    far_favourite = caregivers[10]  # one of the far ones
    elder = elder_at_home(community, language="suzhounese", preferred_caregiver_id=far_favourite)
    session.add(elder)
    await session.flush()
    now = utcnow()
    request = ServiceRequest(
        elder_id=elder.id,  # type: ignore[arg-type]
        community_id=community.id,  # type: ignore[arg-type]
        service_type="meal",
        status="dispatching",
        paid_by="government",
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    await session.flush()
    placed = await session.get(Caregiver, far_favourite)
    assert placed is not None and placed.h3_r8 == h3_cells(placed.lat, placed.lon)[0]

    async def ranking(limit: int) -> list[tuple[int, float]]:
        found = await candidates.find_candidates(session, request, settings, limit=limit)
        return [(c.caregiver_id, c.score) for c in found]

    rings: list[float] = []
    near = candidates.caregivers_near
    monkeypatch.setattr(
        candidates,
        "caregivers_near",
        lambda elder, radius, *a, **kw: rings.append(radius) or near(elder, radius, *a, **kw),
    )
    widened = {limit: await ranking(limit) for limit in (1, 6, 20, 200)}
    assert rings.count(2_000.0) == 4 and len(rings) < 4 * len(candidates.search_radii(settings))  # stopped early
    monkeypatch.setattr(candidates, "search_radii", lambda s, r=None: [(r or s.candidate_radius_km) * 1000])
    for limit, found in widened.items():
        full = await ranking(limit)
        assert found == full, limit
    assert len(widened[200]) > 100
    assert far_favourite in [cid for cid, _ in widened[200]]
