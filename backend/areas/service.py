"""Maintaining the administrative tree (the bureau adds new communities as the city grows)."""

from __future__ import annotations

import weakref
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from backend.areas.models import Community, District, Street
from backend.areas.schemas import AreaCreate, CommunityCreate, StreetCreate
from backend.core.errors import Conflict
from backend.core.lookups import insert_unique, referenced

T = TypeVar("T", District, Street, Community)


async def _insert(session: AsyncSession, row: T) -> T:
    taken = Conflict(f"代码已存在：{row.code}", code="code_taken", message_en=f"Code {row.code} exists")
    return await insert_unique(session, row, taken)


async def create_district(*, session: AsyncSession, data: AreaCreate) -> District:
    """Add a county-level unit."""
    district = District(code=data.code, name=data.name, kind=data.kind, lat=data.location.lat, lon=data.location.lon)
    return await _insert(session, district)


async def create_street(*, session: AsyncSession, data: StreetCreate) -> Street:
    """Add a street or town to a district."""
    await referenced(session, District, data.district_id, what="区", what_en="district")
    street = Street(
        district_id=data.district_id,
        code=data.code,
        name=data.name,
        kind=data.kind,
        lat=data.location.lat,
        lon=data.location.lon,
    )
    return await _insert(session, street)


async def create_community(*, session: AsyncSession, data: CommunityCreate) -> Community:
    """Add a community or village to a street."""
    street = await referenced(session, Street, data.street_id, what="街道", what_en="street")
    community = Community(
        street_id=data.street_id,
        district_id=street.district_id,
        code=data.code,
        name=data.name,
        kind=data.kind,
        lat=data.location.lat,
        lon=data.location.lon,
    )
    return await _insert(session, community)


# A community never moves to another street or district (no route changes where one lies), so where each lies is
# read once per database: every order's status change names its area's channels, every dashboard's socket asks
# whether its staff cover it. Kept per engine, as a process may work on several databases (a simulation's, tests').
_AREAS: weakref.WeakKeyDictionary[Engine, dict[int, tuple[int, int]]] = weakref.WeakKeyDictionary()
_AREAS_KEPT = 20_000  # communities per database (Suzhou has about 2,200)


async def community_area(session: AsyncSession, community_id: int) -> tuple[int, int] | None:
    """The street and district a community lies in (``None``: no such community)."""
    engine = session.bind.sync_engine if session.bind is not None else None
    known = _AREAS.setdefault(engine, {}) if isinstance(engine, Engine) else {}
    area = known.get(community_id)
    if area is None:
        community = await session.get(Community, community_id)
        if community is None:
            return None
        area = (community.street_id, community.district_id)
        if len(known) < _AREAS_KEPT:
            known[community_id] = area
    return area


async def area_channels(session: AsyncSession, community_id: int) -> list[str]:
    """The WebSocket channels of a community and the street and district it lies in (its dashboards)."""
    area = await community_area(session, community_id)
    assert area is not None
    return [f"community:{community_id}", f"street:{area[0]}", f"district:{area[1]}"]
