"""Reference data: districts, streets, communities. The lists are read off the primary (an area added a moment ago
may take the replica's lag to appear); adding one is a write, on the primary."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import col, select

from backend.access.deps import AdminUser, CurrentUser
from backend.areas import service
from backend.areas.models import Community, District, Street
from backend.areas.schemas import AreaCreate, AreaPublic, CommunityCreate, CommunityPublic, StreetCreate, StreetPublic
from backend.core.deps import ReadSessionDep, SessionDep
from backend.core.paging import Whole
from backend.core.schemas import QueryId

router = APIRouter(tags=["areas"])


@router.get("/districts", response_model=list[AreaPublic])
async def list_districts(session: ReadSessionDep, _user: CurrentUser, page: Whole) -> list[AreaPublic]:
    """Suzhou's county-level units (区/县级市)."""
    rows = await page.scalars(session, select(District).order_by(col(District.code)))
    return [AreaPublic.model_validate(r, from_attributes=True) for r in rows]


@router.get("/streets", response_model=list[StreetPublic])
async def list_streets(
    session: ReadSessionDep, _user: CurrentUser, page: Whole, district_id: QueryId = None
) -> list[StreetPublic]:
    """Streets and towns (街道/镇), optionally of one district."""
    query = select(Street).order_by(col(Street.code))
    if district_id is not None:
        query = query.where(col(Street.district_id) == district_id)
    return [StreetPublic.model_validate(r, from_attributes=True) for r in await page.scalars(session, query)]


@router.get("/communities", response_model=list[CommunityPublic])
async def list_communities(
    session: ReadSessionDep, _user: CurrentUser, page: Whole, district_id: QueryId = None, street_id: QueryId = None
) -> list[CommunityPublic]:
    """Communities and villages (社区/村), optionally of one district or street."""
    query = select(Community).order_by(col(Community.code))
    if district_id is not None:
        query = query.where(col(Community.district_id) == district_id)
    if street_id is not None:
        query = query.where(col(Community.street_id) == street_id)
    return [CommunityPublic.model_validate(r, from_attributes=True) for r in await page.scalars(session, query)]


@router.post("/districts", status_code=status.HTTP_201_CREATED, response_model=AreaPublic)
async def create_district(data: AreaCreate, session: SessionDep, _admin: AdminUser) -> AreaPublic:
    """Add a county-level unit (admins)."""
    return AreaPublic.model_validate(await service.create_district(session=session, data=data), from_attributes=True)


@router.post("/streets", status_code=status.HTTP_201_CREATED, response_model=StreetPublic)
async def create_street(data: StreetCreate, session: SessionDep, _admin: AdminUser) -> StreetPublic:
    """Add a street or town (admins)."""
    return StreetPublic.model_validate(await service.create_street(session=session, data=data), from_attributes=True)


@router.post("/communities", status_code=status.HTTP_201_CREATED, response_model=CommunityPublic)
async def create_community(data: CommunityCreate, session: SessionDep, _admin: AdminUser) -> CommunityPublic:
    """Add a community or village (admins)."""
    created = await service.create_community(session=session, data=data)
    return CommunityPublic.model_validate(created, from_attributes=True)
