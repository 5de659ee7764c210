"""Every hard rule, one caregiver each: the rule alone keeps them out, and only the one who breaks none is asked."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars.models import CaregiverBooking
from backend.core.config import Settings
from backend.core.db import local_today, utcnow
from backend.core.runtime import Runtime
from backend.dispatch.candidates import find_candidates, nearby_caregivers
from backend.dispatch.models import Offer, OfferStatus
from backend.insurance.seed import insure_providers
from backend.orders.models import ServiceRequest, Status
from backend.registry.models import (
    BlockedCaregiver,
    Caregiver,
    CaregiverSkill,
    Provider,
    ProviderCommunity,
    ProviderService,
)
from backend.users.models import User
from tests.client import unique_phone
from tests.factories import HERE, elder_at_home, new_community

pytestmark = pytest.mark.unit


async def test_each_hard_rule_alone_keeps_a_caregiver_from_the_order(session: AsyncSession, runtime: Runtime) -> None:
    settings = Settings(database_url=runtime.settings.database_url, fairness_cache_seconds=0)
    now = utcnow()
    community = await new_community(session)
    assert community.id is not None

    async def provider(
        *, active: bool = True, serves: bool = True, offers: bool = True, cover_from: int | None = -30
    ) -> int:
        made = Provider(name="规则测试", kind="home_care", lat=HERE.lat, lon=HERE.lon, active=active)
        session.add(made)
        await session.flush()
        assert made.id is not None
        if serves:
            session.add(ProviderCommunity(provider_id=made.id, community_id=community.id))  # type: ignore[arg-type]
        if offers:
            session.add(ProviderService(provider_id=made.id, service_type="meal"))
        if cover_from is not None:  # a year of cover from that many days from today
            await insure_providers(session, [made.id], starts_on=local_today() + timedelta(days=cover_from))
        await session.flush()
        return made.id

    home = await provider()

    async def caregiver(provider_id: int = home, *, skilled: bool = True, on_shift: bool = True) -> int:
        user = User(username=f"rule_{uuid.uuid4().hex[:10]}", password_hash="-", role="caregiver")
        session.add(user)
        await session.flush()
        made = Caregiver(
            provider_id=provider_id,
            user_id=user.id,  # type: ignore[arg-type]
            name="护理员",
            phone=unique_phone(),
            lat=HERE.lat + 0.003,
            lon=HERE.lon,
            on_shift=on_shift,
        )
        session.add(made)
        await session.flush()
        assert made.id is not None
        if skilled:
            session.add(CaregiverSkill(caregiver_id=made.id, service_type="meal"))
            await session.flush()
        return made.id

    def order(elder_id: int, status: Status = Status.dispatching) -> ServiceRequest:
        return ServiceRequest(
            elder_id=elder_id,
            community_id=community.id,  # type: ignore[arg-type]
            service_type="meal",
            status=status.value,
            created_at=now - timedelta(minutes=5),
            updated_at=now,
            dispatch_started_at=now - timedelta(minutes=5),
        )

    mine, neighbour = elder_at_home(community), elder_at_home(community)
    session.add_all([mine, neighbour])
    await session.flush()
    assert mine.id is not None and neighbour.id is not None
    request, elsewhere, held = order(mine.id), order(neighbour.id, Status.en_route), order(neighbour.id)
    session.add_all([request, elsewhere, held])
    await session.flush()

    expected = {
        await caregiver(): [],
        await caregiver(await provider(active=False)): ["provider_inactive"],
        await caregiver(await provider(serves=False)): ["outside_service_area"],
        await caregiver(await provider(offers=False)): ["service_not_offered"],
        await caregiver(await provider(cover_from=None)): ["no_liability_cover"],
        await caregiver(await provider(cover_from=-365)): ["no_liability_cover"],  # ended yesterday
        await caregiver(await provider(cover_from=1)): ["no_liability_cover"],  # begins tomorrow
        await caregiver(skilled=False): ["lacks_skill"],
        await caregiver(on_shift=False): ["off_shift"],
    }
    blocked, busy, offered, declined, booked = [await caregiver() for _ in range(5)]
    expected |= {
        blocked: ["blocked_by_elder"],
        busy: ["busy"],
        offered: ["has_open_offer"],
        declined: ["declined"],
        booked: ["booked"],
    }
    # On her own order: offered it (awaiting her) or on its crew. Neither is another order in her way.
    offered_here, crew_here = await caregiver(), await caregiver()
    session.add(BlockedCaregiver(elder_id=mine.id, caregiver_id=blocked))
    elsewhere.assigned_caregiver_id = busy  # on the way to the neighbour
    later = now + timedelta(minutes=30)
    session.add_all(
        [
            Offer(
                request_id=held.id,  # type: ignore[arg-type]
                caregiver_id=offered,
                distance_m=1,
                explanation="-",
                explanation_en="-",
                expires_at=later,
            ),
            Offer(
                request_id=request.id,  # type: ignore[arg-type]
                caregiver_id=declined,
                status=OfferStatus.declined.value,
                distance_m=1,
                explanation="-",
                explanation_en="-",
                expires_at=later,
                created_at=now - timedelta(minutes=1),
            ),
            CaregiverBooking(
                caregiver_id=booked,
                request_id=held.id,  # type: ignore[arg-type]
                starts_at=now - timedelta(minutes=10),
                ends_at=now + timedelta(minutes=20),
            ),
            Offer(
                request_id=request.id,  # type: ignore[arg-type]
                caregiver_id=offered_here,
                distance_m=1,
                explanation="-",
                explanation_en="-",
                expires_at=later,
            ),
            CaregiverBooking(
                caregiver_id=crew_here,
                request_id=request.id,  # type: ignore[arg-type]
                starts_at=now - timedelta(minutes=10),
                ends_at=now + timedelta(minutes=20),
            ),
        ]
    )
    await session.flush()
    stored = await session.get(ServiceRequest, request.id)
    assert stored is not None
    nearby = await nearby_caregivers(session, stored, settings, radius_km=2)
    seen = {n.caregiver_id: [rule.code for rule in n.failed] for n in nearby if n.caregiver_id in expected}
    assert seen == expected
    here = {n.caregiver_id: (n.on_order, [rule.code for rule in n.failed]) for n in nearby}
    assert here[offered_here] == ("offered", []) and here[crew_here] == ("crew", [])
    assert {n.on_order for n in nearby if n.caregiver_id in expected} == {None}
    candidates = await find_candidates(session, stored, settings)
    assert [c.caregiver_id for c in candidates if c.caregiver_id in (*expected, offered_here, crew_here)] == [
        cid for cid, codes in expected.items() if not codes
    ]
