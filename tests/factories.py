"""Small factories for tests that call the services directly (no HTTP)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.areas.models import Community
from backend.areas.schemas import AreaCreate, CommunityCreate, StreetCreate
from backend.areas.service import create_community, create_district, create_street
from backend.core.runtime import Runtime
from backend.core.schemas import Location
from backend.registry.models import CaregiverSkill, Elder, ProviderService, ServiceType
from backend.registry.service import elder_identity
from backend.users.models import Role, User
from tests.client import World, id_number, unique_phone

HERE = Location(lat=31.3, lon=120.6)


async def new_community(session: AsyncSession) -> Community:
    """A fresh district → street → community, for data no other test touches."""
    tag = uuid.uuid4().hex[:8]
    district = await create_district(session=session, data=AreaCreate(code=f"T{tag}", name="测试区", location=HERE))
    street = await create_street(
        session=session, data=StreetCreate(district_id=district.id, code=f"TS{tag}", name="测试街道", location=HERE)
    )
    return await create_community(
        session=session, data=CommunityCreate(street_id=street.id, code=f"TC{tag}", name="测试社区", location=HERE)
    )


async def new_account(session: AsyncSession, role: Role, **scope: int | None) -> User:
    """A stored account of the role (no password to sign in with: services are called directly)."""
    user = User(username=f"{role.value}_{uuid.uuid4().hex[:10]}", password_hash="-", role=role.value, **scope)
    session.add(user)
    await session.flush()
    return user


def elder_at_home(community: Community, *, born: str = "19450302", **wishes: Any) -> Elder:
    """An elder of the community living at HERE, born on ``born`` (YYYYMMDD; not yet added to a session)."""
    identity = elder_identity(id_number(born), "+86" + unique_phone())
    return Elder(
        name="测",
        **identity,
        community_id=community.id,  # type: ignore[arg-type]
        address="x",
        lat=HERE.lat,
        lon=HERE.lon,
        **wishes,
    )


async def many_elders(runtime: Runtime, community_id: int, count: int) -> list[int]:
    """``count`` elders at home in the community, written at once (for tests of many simultaneous requests)."""
    async with runtime.unit_of_work() as session:
        community = await session.get(Community, community_id)
        assert community is not None
        elders = [elder_at_home(community) for _ in range(count)]
        session.add_all(elders)
        await session.flush()
        return [e.id for e in elders if e.id is not None]


async def proof_service(runtime: Runtime, world: World, minutes: int = 30) -> str:
    """A service type of one test alone, served by the world's provider and caregivers (shared rows untouched)."""
    code = f"proof_{uuid.uuid4().hex[:8]}"
    async with runtime.unit_of_work() as session:
        session.add(ServiceType(code=code, name_zh="测试助浴", name_en="Proof test", default_minutes=minutes))
        await session.flush()
        session.add(ProviderService(provider_id=world.provider["id"], service_type=code))
        session.add_all(CaregiverSkill(caregiver_id=c["id"], service_type=code) for c in world.caregivers)
    return code
