"""Roster routes: a caregiver's weekly shifts."""

from __future__ import annotations

from fastapi import APIRouter

from backend.access.deps import RosterKeeper, VisibleCaregiver
from backend.calendars import service
from backend.calendars.models import CaregiverShift
from backend.calendars.schemas import ShiftIn, ShiftPublic
from backend.core.deps import SessionDep
from backend.core.schemas import PathId

router = APIRouter(tags=["calendars"])


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _public(shifts: list[CaregiverShift]) -> list[ShiftPublic]:
    return [ShiftPublic(weekday=s.weekday, start=_hhmm(s.start_minute), end=_hhmm(s.end_minute)) for s in shifts]


@router.get("/caregivers/{caregiver_id}/shifts", response_model=list[ShiftPublic])
async def get_shifts(caregiver_id: PathId, session: SessionDep, _caregiver: VisibleCaregiver) -> list[ShiftPublic]:
    """The caregiver's weekly roster (排班); empty: available whenever on shift."""
    return _public(await service.roster(session, caregiver_id))


@router.put("/caregivers/{caregiver_id}/shifts", response_model=list[ShiftPublic])
async def set_shifts(
    caregiver_id: PathId, body: list[ShiftIn], session: SessionDep, _caregiver: RosterKeeper
) -> list[ShiftPublic]:
    """Replace the roster: admins, or the caregiver's provider admin. Visits booked for later respect it."""
    periods = [(s.weekday, s.start.hour * 60 + s.start.minute, s.end.hour * 60 + s.end.minute) for s in body]
    return _public(await service.set_roster(session, caregiver_id, periods))
