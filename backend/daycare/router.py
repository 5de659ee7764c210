"""Day-care HTTP routes: centres, bookings (days or weekdays), cancellation, attendance, daily places."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.core.deps import SessionDep
from backend.core.schemas import PathId
from backend.daycare import service
from backend.daycare.schemas import BookingCreate, BookingPublic, CentreCreate, CentrePublic, DayPublic
from backend.users.deps import CurrentUser

router = APIRouter(prefix="/day-care", tags=["day care"])


@router.post("/centres", status_code=status.HTTP_201_CREATED, response_model=CentrePublic)
async def create_centre(data: CentreCreate, session: SessionDep, user: CurrentUser) -> CentrePublic:
    """Give a day-care provider its daily places, lunches and shuttle seats."""
    centre = await service.create_centre(session=session, user=user, data=data)
    return CentrePublic.model_validate(centre, from_attributes=True)


@router.get("/centres/{centre_id}/days", response_model=list[DayPublic])
async def centre_days(
    centre_id: PathId,
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
    session: SessionDep,
    _user: CurrentUser,
) -> list[DayPublic]:
    """Each day's places: taken and free (at most 93 days)."""
    return await service.days_of(session=session, centre_id=centre_id, start=start, end=end)


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
