"""Calendar routes: a caregiver's weekly shifts, and her calendar over a span."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from backend.access.deps import CurrentUser, RosterKeeper, VisibleCaregiver
from backend.access.personal import sees_caregiver_whole
from backend.calendars import agenda, service
from backend.calendars.models import CaregiverShift
from backend.calendars.schemas import CalendarPublic, ShiftIn, ShiftPublic
from backend.core.deps import SessionDep
from backend.core.i18n import prefers_english
from backend.core.paging import Paged
from backend.core.schemas import PathId, ServiceTime

router = APIRouter(tags=["calendars"])


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _public(shifts: list[CaregiverShift]) -> list[ShiftPublic]:
    return [ShiftPublic(weekday=s.weekday, start=_hhmm(s.start_minute), end=_hhmm(s.end_minute)) for s in shifts]


@router.get("/caregivers/{caregiver_id}/shifts", response_model=list[ShiftPublic])
async def get_shifts(
    caregiver_id: PathId, session: SessionDep, _caregiver: VisibleCaregiver, page: Paged
) -> list[ShiftPublic]:
    """The caregiver's weekly roster (排班); empty: available whenever on shift."""
    return _public(page.of(await service.roster(session, caregiver_id)))


@router.put("/caregivers/{caregiver_id}/shifts", response_model=list[ShiftPublic])
async def set_shifts(
    caregiver_id: PathId, body: list[ShiftIn], session: SessionDep, _caregiver: RosterKeeper
) -> list[ShiftPublic]:
    """Replace the roster: admins, or the caregiver's provider admin. Visits booked for later respect it."""
    periods = [(s.weekday, s.start.hour * 60 + s.start.minute, s.end.hour * 60 + s.end.minute) for s in body]
    return _public(await service.set_roster(session, caregiver_id, periods))


@router.get("/caregivers/{caregiver_id}/calendar", response_model=CalendarPublic)
async def get_calendar(
    caregiver_id: PathId,
    http: Request,
    session: SessionDep,
    user: CurrentUser,
    caregiver: VisibleCaregiver,
    start: Annotated[ServiceTime | None, Query(description="起 / from (default: today 00:00 Suzhou)")] = None,
    end: Annotated[ServiceTime | None, Query(description="止（不含）/ until, exclusive (default: start + 7 d)")] = None,
) -> CalendarPublic:
    """The caregiver's calendar over [start, end), at most 31 days (422 ``invalid_range``, ``range_too_long``): her
    booked visits, her roster's shifts and her absences (请假), within the same scope as her record."""
    return await agenda.calendar(
        session=session,
        caregiver=caregiver,
        start=start,
        end=end,
        reasons=sees_caregiver_whole(user, caregiver),
        english=prefers_english(http),
    )
