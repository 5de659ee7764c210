"""Looking ahead: a visit booked for later is scored from where each caregiver will be free, not where she is now."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import pytest

from backend.calendars.models import CaregiverBooking
from backend.calendars.service import span_of
from backend.core.config import Settings
from backend.core.db import local_today, utcnow
from backend.core.i18n import LOCAL_TZ
from backend.core.runtime import Runtime
from backend.dispatch.candidates import find_candidates
from backend.insurance.seed import insure_providers
from backend.orders.models import ServiceRequest, Status
from backend.registry.models import Caregiver, CaregiverSkill, Elder, Provider, ProviderCommunity, ProviderService
from backend.users.models import User
from tests.client import unique_phone
from tests.factories import HERE, elder_at_home, new_community

pytestmark = pytest.mark.unit

KM = 1 / 111.32  # a kilometre of latitude, in degrees


def tomorrow(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(local_today() + timedelta(days=1), time(hour, minute), LOCAL_TZ)


async def test_a_booked_visit_goes_to_who_will_be_next_door_not_to_who_is_nearest_now(runtime: Runtime) -> None:
    async with runtime.unit_of_work() as session:
        community = await new_community(session)
        provider = Provider(name="前瞻测试", kind="home_care", lat=HERE.lat, lon=HERE.lon)
        session.add(provider)
        await session.flush()
        assert community.id is not None and provider.id is not None
        session.add_all(
            [
                ProviderCommunity(provider_id=provider.id, community_id=community.id),
                ProviderService(provider_id=provider.id, service_type="meal"),
            ]
        )
        await insure_providers(session, [provider.id], starts_on=local_today() - timedelta(days=30))

        async def caregiver(km_north: float) -> int:
            user = User(username=f"ahead_{uuid.uuid4().hex[:10]}", password_hash="-", role="caregiver")
            session.add(user)
            await session.flush()
            made = Caregiver(
                provider_id=provider.id,  # type: ignore[arg-type]
                user_id=user.id,  # type: ignore[arg-type]
                name="护理员",
                phone=unique_phone(),
                lat=HERE.lat + km_north * KM,
                lon=HERE.lon,
            )
            session.add(made)
            await session.flush()
            assert made.id is not None
            session.add(CaregiverSkill(caregiver_id=made.id, service_type="meal"))
            return made.id

        async def booked(caregiver_id: int, elder: Elder, start: datetime) -> None:
            visit = ServiceRequest(
                elder_id=elder.id,  # type: ignore[arg-type]
                community_id=community.id,  # type: ignore[arg-type]
                service_type="meal",
                status=Status.accepted.value,
                assigned_caregiver_id=caregiver_id,
                window_start=start,
                window_end=start + timedelta(hours=1),
                updated_at=utcnow(),
            )
            session.add(visit)
            await session.flush()
            session.add(
                CaregiverBooking(
                    caregiver_id=caregiver_id,
                    request_id=visit.id,  # type: ignore[arg-type]
                    starts_at=start - timedelta(minutes=10),
                    ends_at=start + timedelta(minutes=45),
                )
            )

        def elder_at(km_north: float) -> Elder:
            made = elder_at_home(community)
            made.lat = HERE.lat + km_north * KM
            return made

        her, neighbour, far_south = elder_at(0), elder_at(0.3), elder_at(-4)
        session.add_all([her, neighbour, far_south])
        await session.flush()
        # Far away now (6 km), but at 09:00 tomorrow serving her neighbour 300 m from her.
        later_next_door = await caregiver(6)
        # 2 km away now, free all morning, and at noon serving an elder 4 km south: her order is a detour.
        nearest_now = await caregiver(-2)
        await booked(later_next_door, neighbour, tomorrow(9))
        await booked(nearest_now, far_south, tomorrow(12))
        order = ServiceRequest(
            elder_id=her.id,  # type: ignore[arg-type]
            community_id=community.id,  # type: ignore[arg-type]
            service_type="meal",
            status=Status.dispatching.value,
            window_start=tomorrow(10, 30),
            window_end=tomorrow(11, 30),
            updated_at=utcnow(),
        )
        session.add(order)
        await session.flush()

    def settings(policy: str | None) -> Settings:
        return Settings(database_url=runtime.settings.database_url, fairness_cache_seconds=0, dispatch_policy=policy)

    async with runtime.sessions() as session:
        stored = await session.get(ServiceRequest, order.id)
        chosen = await session.get(Caregiver, later_next_door)
        assert stored is not None and chosen is not None
        greedy = await find_candidates(session, stored, settings(None))
        ahead = await find_candidates(session, stored, settings("lookahead"))
        # Her calendar holds the visit from when she sets off from next door (2 min before), not from 6 km away.
        now_span = await span_of(session, settings(None), stored, chosen)
        ahead_span = await span_of(session, settings("lookahead"), stored, chosen)
    assert now_span[0] < tomorrow(10) and tomorrow(10, 25) < ahead_span[0] < tomorrow(10, 30)
    assert now_span[1] == ahead_span[1] == tomorrow(10, 30) + timedelta(minutes=45)
    assert [c.caregiver_id for c in greedy] == [nearest_now, later_next_door]  # from where they are now
    assert [c.caregiver_id for c in ahead] == [later_next_door, nearest_now]  # from where they will be

    first = {t.code: t for t in ahead[0].terms}
    assert first["travel"].value < 2.5  # 300 m, not 6 km
    assert ahead[0].explanation.startswith("上一单结束后从测试社区出发，0.3 公里")
    assert ahead[0].explanation_en.startswith("from her previous visit in 测试社区: 0.3 km")
    assert "detour" not in first
    second = {t.code: t for t in ahead[1].terms}
    assert second["detour"].value > 9  # 2 km further from her noon visit than she would have been
    assert "去下一单多绕约" in ahead[1].explanation
    assert {"detour"} & {t.code for c in greedy for t in c.terms} == set()
