"""Day-care HTTP routes: centres, bookings (days or weekdays), cancellation, attendance, daily places."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.access.deps import CurrentUser
from backend.core.deps import SessionDep
from backend.core.paging import Paged, Whole
from backend.core.schemas import MAX_ID, PathId, QueryId
from backend.daycare import service
from backend.daycare.schemas import (
    BookingCreate,
    BookingPublic,
    CentreCreate,
    CentreDay,
    CentrePublic,
    DayPublic,
    RosterEntry,
)

router = APIRouter(prefix="/day-care", tags=["day care"])


@router.post("/centres", status_code=status.HTTP_201_CREATED, response_model=CentrePublic)
async def create_centre(data: CentreCreate, session: SessionDep, user: CurrentUser) -> CentrePublic:
    """Give a day-care provider its daily places, lunches and shuttle seats."""
    centre = await service.create_centre(session=session, user=user, data=data)
    return CentrePublic.model_validate(centre, from_attributes=True)


@router.get("/centres", response_model=list[CentreDay])
async def list_centres(
    session: SessionDep,
    user: CurrentUser,
    page: Whole,
    community_id: QueryId = None,
    street_id: QueryId = None,
    district_id: QueryId = None,
    day: Annotated[date | None, Query(description="default: today in Suzhou")] = None,
) -> list[CentreDay]:
    """The centres of a community, street or district (none: the city, for operators) with the day's places."""
    found = await service.area_centres(
        session=session, user=user, community_id=community_id, street_id=street_id, district_id=district_id, day=day
    )
    return page.of(found)


@router.get("/centres/{centre_id}/bookings", response_model=list[RosterEntry])
async def centre_roster(
    centre_id: PathId, session: SessionDep, user: CurrentUser, page: Whole, day: Annotated[date | None, Query()] = None
) -> list[RosterEntry]:
    """Who is booked on a day (default: today), by name, for the check-in desk: the centre and its area's staff."""
    rows = await service.roster(session=session, user=user, centre_id=centre_id, day=day, page=page)
    return [
        RosterEntry(**BookingPublic.model_validate(b, from_attributes=True).model_dump(), elder_name=name)
        for b, name in rows
    ]


@router.get("/bookings", response_model=list[BookingPublic])
async def elder_bookings(
    session: SessionDep,
    user: CurrentUser,
    elder_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
    page: Whole,
) -> list[BookingPublic]:
    """An elder's day-care bookings from ``start`` to ``end`` (at most 93 days), cancelled ones included."""
    made = await service.elder_bookings(session=session, user=user, elder_id=elder_id, start=start, end=end)
    return [BookingPublic.model_validate(b, from_attributes=True) for b in page.of(made)]


@router.get("/centres/{centre_id}/days", response_model=list[DayPublic])
async def centre_days(
    centre_id: PathId,
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
    session: SessionDep,
    _user: CurrentUser,
    page: Paged,
) -> list[DayPublic]:
    """Each day's places: taken and free (at most 93 days)."""
    return page.of(await service.days_of(session=session, centre_id=centre_id, start=start, end=end))


@router.post("/bookings", status_code=status.HTTP_201_CREATED, response_model=list[BookingPublic])
async def book(data: BookingCreate, session: SessionDep, user: CurrentUser) -> list[BookingPublic]:
    """Book days (or every chosen weekday of a period), all or none (409 ``day_full``)."""
    made = await service.book(session=session, user=user, data=data)
    return [BookingPublic.model_validate(b, from_attributes=True) for b in made]


@router.post("/bookings/{booking_id}/cancel", response_model=BookingPublic)
async def cancel(booking_id: PathId, session: SessionDep, user: CurrentUser) -> BookingPublic:
    """Give the day's place back."""
    return BookingPublic.model_validate(
        await service.cancel(session=session, user=user, booking_id=booking_id), from_attributes=True
    )


@router.post("/bookings/{booking_id}/attend", response_model=BookingPublic)
async def attend(booking_id: PathId, session: SessionDep, user: CurrentUser) -> BookingPublic:
    """The elder arrived at the centre today (签到)."""
    return BookingPublic.model_validate(
        await service.attend(session=session, user=user, booking_id=booking_id), from_attributes=True
    )
