"""Calendar routes: a caregiver's weekly shifts, and her calendar over a span."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from backend.access.deps import AdminUser, CurrentUser, RosterKeeper, StaffUser, VisibleCaregiver
from backend.access.personal import sees_caregiver_whole
from backend.calendars import agenda, holidays, rosters
from backend.calendars.models import CaregiverShift
from backend.calendars.schemas import (
    CalendarPublic,
    DayPublic,
    HolidayIn,
    HolidayYearPublic,
    RosterIn,
    RosterPublic,
    ShiftIn,
    ShiftPublic,
)
from backend.core.deps import SessionDep
from backend.core.i18n import prefers_english
from backend.core.paging import Paged
from backend.core.schemas import FIRST_DAY, LAST_DAY, PathId, ServiceDay, ServiceTime

router = APIRouter(tags=["calendars"])


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _public(shifts: list[CaregiverShift]) -> list[ShiftPublic]:
    return [ShiftPublic(weekday=s.weekday, start=_hhmm(s.start_minute), end=_hhmm(s.end_minute)) for s in shifts]


def _periods(shifts: list[ShiftIn]) -> list[tuple[int, int, int]]:
    return [(s.weekday, s.start.hour * 60 + s.start.minute, s.end.hour * 60 + s.end.minute) for s in shifts]


@router.get("/caregivers/{caregiver_id}/shifts", response_model=list[ShiftPublic])
async def get_shifts(
    caregiver_id: PathId, session: SessionDep, _caregiver: VisibleCaregiver, page: Paged
) -> list[ShiftPublic]:
    """The caregiver's weekly roster (排班); empty: available whenever on shift."""
    return _public(page.of(await rosters.roster(session, caregiver_id)))


@router.put("/caregivers/{caregiver_id}/shifts", response_model=list[ShiftPublic])
async def set_shifts(
    caregiver_id: PathId, body: list[ShiftIn], session: SessionDep, _caregiver: RosterKeeper
) -> list[ShiftPublic]:
    """Replace the roster: admins, or the caregiver's provider admin. Visits booked for later respect it."""
    return _public(await rosters.set_roster(session, caregiver_id, _periods(body)))


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


@router.get("/caregivers/{caregiver_id}/roster", response_model=RosterPublic)
async def get_roster(caregiver_id: PathId, session: SessionDep, caregiver: VisibleCaregiver) -> RosterPublic:
    """Her roster: the weekly periods, and whether she works public holidays and adjusted working days (调休)."""
    return RosterPublic(
        caregiver_id=caregiver_id,
        shifts=_public(await rosters.roster(session, caregiver_id)),
        works_holidays=caregiver.works_holidays,
        works_adjusted_workdays=caregiver.works_adjusted_workdays,
    )


@router.put("/caregivers/{caregiver_id}/roster", response_model=RosterPublic)
async def set_roster(
    caregiver_id: PathId, body: RosterIn, session: SessionDep, caregiver: RosterKeeper
) -> RosterPublic:
    """Replace her roster and its holiday settings: admins, or her provider's admin (422 ``overlapping_shifts``)."""
    shifts = await rosters.set_roster(session, caregiver_id, _periods(body.shifts))
    await rosters.set_special_days(
        session=session,
        caregiver=caregiver,
        works_holidays=body.works_holidays,
        works_adjusted_workdays=body.works_adjusted_workdays,
    )
    return RosterPublic(
        caregiver_id=caregiver_id,
        shifts=_public(shifts),
        works_holidays=caregiver.works_holidays,
        works_adjusted_workdays=caregiver.works_adjusted_workdays,
    )


def _day(day: holidays.Day) -> DayPublic:
    return DayPublic(
        day=day.day,
        weekday=day.weekday,
        kind=day.kind,
        source=day.source,
        name_zh=day.name_zh,
        name_en=day.name_en,
        works_as=day.works_as,
        note=day.note,
    )


CalendarDate = Annotated[ServiceDay, Path(description="YYYY-MM-DD")]


@router.get("/holidays", response_model=HolidayYearPublic)
async def list_holidays(
    http: Request,
    session: SessionDep,
    _user: StaffUser,
    year: Annotated[int, Query(ge=FIRST_DAY.year, le=LAST_DAY.year, description="e.g. 2027")],
) -> HolidayYearPublic:
    """The year's public holidays (法定节假日) and adjusted working days (调休上班), each with where it came from; a
    year neither the chinese-calendar package nor the bureau knows yet says so (its weekends are all it has)."""
    known = await holidays.year_of(session, year)
    notice = None
    if not known.published:
        notice = (
            f"No arrangement for {year} yet: Saturdays and Sundays are off and no public holiday is known. Enter the "
            "State Council's arrangement (PUT /api/v1/holidays/{date}, or eldercare holidays import FILE)."
            if prefers_english(http)
            else f"尚未录入 {year} 年的放假安排：目前只按周六、周日休息计算，没有法定节假日。请按国务院办公厅通知录入"
            "（PUT /api/v1/holidays/{日期}，或 eldercare holidays import 文件）。"
        )
    return HolidayYearPublic(
        year=year,
        published=known.published,
        chinese_calendar=known.library,
        entered=known.entered,
        notice=notice,
        days=[_day(d) for d in known.days],
    )


@router.put("/holidays/{day}", response_model=DayPublic)
async def set_holiday(day: CalendarDate, body: HolidayIn, session: SessionDep, user: AdminUser) -> DayPublic:
    """Enter the bureau's word on a day, over the chinese-calendar package (admins; 422
    ``kind_does_not_fit_weekday``: a workday is Monday–Friday, a weekend or adjusted working day Saturday or Sunday)."""
    entry = holidays.Entry(day, body.kind, body.name_zh, body.name_en, body.works_as, body.note)
    return _day(await holidays.set_entry(session=session, entry=entry, user_id=user.id))


@router.delete("/holidays/{day}", response_model=DayPublic)
async def remove_holiday(day: CalendarDate, session: SessionDep, _user: AdminUser) -> DayPublic:
    """Drop the bureau's entry for a day (admins; 404 ``no_calendar_entry``): the day as the package or the week has
    it."""
    return _day(await holidays.remove_entry(session=session, day=day))
