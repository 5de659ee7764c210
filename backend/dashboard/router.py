"""Read-only views for the staff's screens: the area's live queue, its caregivers, figures, and the city table.

The queue and the caregivers are live views that staff act on, refreshed by events: read on the primary. Figures,
the city table and its export may be a moment old: read off the primary (``ReadSessionDep``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from backend.access.deps import OperatorUser, StaffUser
from backend.core.deps import ReadSessionDep, SessionDep, SettingsDep
from backend.core.i18n import prefers_english
from backend.core.offload import compute
from backend.core.schemas import QueryId
from backend.core.spreadsheets import write_rows
from backend.dashboard import city as bureau
from backend.dashboard import service
from backend.dashboard.schemas import Caregivers, City, Figures, Queue

router = APIRouter(prefix="/dashboard", tags=["dashboard"])


@router.get("/queue", response_model=Queue)
async def area_queue(
    session: SessionDep,
    settings: SettingsDep,
    user: StaffUser,
    community_id: QueryId = None,
    street_id: QueryId = None,
    district_id: QueryId = None,
    limit: int = Query(default=200, ge=1, le=1000),
) -> Queue:
    """An area's open orders (none given: the city, for operators), escalated and late first, with SLA colours."""
    return await service.queue(
        session=session,
        settings=settings,
        user=user,
        community_id=community_id,
        street_id=street_id,
        district_id=district_id,
        limit=limit,
    )


@router.get("/caregivers", response_model=Caregivers)
async def area_caregivers(
    session: SessionDep,
    user: StaffUser,
    community_id: QueryId = None,
    street_id: QueryId = None,
    district_id: QueryId = None,
    everyone: bool = Query(default=False, description="include caregivers off shift"),
) -> Caregivers:
    """Caregivers of the providers serving the area, on shift unless ``everyone``, with what each is doing."""
    return await service.caregivers(
        session=session,
        user=user,
        community_id=community_id,
        street_id=street_id,
        district_id=district_id,
        everyone=everyone,
    )


@router.get("/figures", response_model=Figures)
async def area_figures(
    session: ReadSessionDep,
    user: StaffUser,
    community_id: QueryId = None,
    street_id: QueryId = None,
    district_id: QueryId = None,
    days: int = Query(default=14, ge=1, le=90),
) -> Figures:
    """Today's orders, median time to accept, completion rate and satisfaction, and each of the last ``days``."""
    return await service.figures(
        session=session, user=user, community_id=community_id, street_id=street_id, district_id=district_id, days=days
    )


@router.get("/city", response_model=City)
async def city(session: ReadSessionDep, user: OperatorUser) -> City:
    """The bureau's city-wide table by district: orders, response, beds, insurance cover, subsidy."""
    return await bureau.city(session=session, user=user)


@router.get("/city/export")
async def export_city(
    request: Request,
    session: ReadSessionDep,
    user: OperatorUser,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "xlsx",
) -> Response:
    """The city table as a spreadsheet (headers in Chinese unless the client prefers English)."""
    view = await bureau.city(session=session, user=user)
    rows = bureau.city_table(view, english=prefers_english(request))
    data, media_type = await compute(write_rows, rows, format, f"{view.day} 全市概况")
    name = f"eldercare-city-{view.day}.{format}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})
