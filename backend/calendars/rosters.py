"""Rosters (排班): a caregiver's weekly working periods, and which of them she works on a given day.

On a public holiday (法定节假日) she works her roster of that weekday only if she works holidays
(``works_holidays``, off by default). On an adjusted working day (调休上班, a Saturday or Sunday worked) she works
her roster of that weekday and, unless she keeps to her own week (``works_adjusted_workdays``, on by default), her
roster of the weekday the day is worked as (``backend/calendars/holidays.py``). A caregiver without a roster is
available any time, holidays included.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.calendars.holidays import Day, day_info
from backend.calendars.models import CaregiverShift, DayKind
from backend.core.errors import Invalid
from backend.core.i18n import LOCAL_TZ
from backend.registry.models import Caregiver

Period = tuple[float, float]  # minutes after local midnight


def roster_weekdays(day: Day, *, works_holidays: bool, works_adjusted_workdays: bool) -> tuple[int, ...]:
    """The weekdays whose roster periods she works on this day (none: she is off)."""
    if day.kind is DayKind.holiday:
        return (day.weekday,) if works_holidays else ()
    if day.kind is DayKind.adjusted_workday and works_adjusted_workdays and day.works_as not in (None, day.weekday):
        return (day.weekday, day.works_as)
    return (day.weekday,)


def periods_on(day: Day, caregiver: Caregiver, shifts: list[CaregiverShift]) -> list[Period]:
    """Her roster's periods on this day, in time order (those of two weekdays merged where they overlap)."""
    weekdays = roster_weekdays(
        day, works_holidays=caregiver.works_holidays, works_adjusted_workdays=caregiver.works_adjusted_workdays
    )
    merged: list[Period] = []
    for start, end in sorted((float(s.start_minute), float(s.end_minute)) for s in shifts if s.weekday in weekdays):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def rostered(caregiver_id: Any, start: datetime, end: datetime, day: Day | None = None) -> ColumnElement[bool]:
    """True when the caregiver's roster covers [start, end) (local time, within one day), or they have no roster.

    ``caregiver_id`` is the caregiver id column of a query over caregivers (their holiday settings are read from the
    same row); ``day``: what kind of day the span's local day is (None: a plain day of the week).
    """
    local_start, local_end = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    first = local_start.hour * 60 + local_start.minute
    last = first + max(0, round((local_end - local_start).total_seconds() / 60))

    def covers(weekday: int | None) -> ColumnElement[bool]:
        return exists().where(
            col(CaregiverShift.caregiver_id) == caregiver_id,
            col(CaregiverShift.weekday) == weekday,
            col(CaregiverShift.start_minute) <= first,
            col(CaregiverShift.end_minute) >= min(last, 24 * 60),
        )

    weekday = local_start.isoweekday()
    own = covers(weekday)
    if day is not None and day.kind is DayKind.holiday:
        own = and_(col(Caregiver.works_holidays).is_(True), own)
    elif day is not None and day.kind is DayKind.adjusted_workday and day.works_as not in (None, weekday):
        own = or_(own, and_(col(Caregiver.works_adjusted_workdays).is_(True), covers(day.works_as)))
    no_roster = ~exists().where(col(CaregiverShift.caregiver_id) == caregiver_id)
    return or_(own, no_roster)


async def working_periods(
    session: AsyncSession, staff: list[Caregiver], midnight: datetime
) -> dict[str, tuple[Caregiver, Period | None]]:
    """The day's working periods of each caregiver, keyed ``"{id}:{n}"``: (caregiver, (from, to) in minutes).

    A period is one of her roster's periods that day (``periods_on``), starting no earlier than the end of an
    absence; a caregiver without a roster works any time (None); one absent all day, or not rostered, has none.
    """
    rows = (
        await session.execute(select(CaregiverShift).where(col(CaregiverShift.caregiver_id).in_([c.id for c in staff])))
    ).scalars()
    rosters: dict[int, list[CaregiverShift]] = {}
    for shift in rows:
        rosters.setdefault(shift.caregiver_id, []).append(shift)
    day = await day_info(session, midnight.date())
    day_end = midnight + timedelta(days=1)
    periods: dict[str, tuple[Caregiver, Period | None]] = {}
    for c in staff:
        assert c.id is not None
        if c.absent_until is not None and c.absent_until >= day_end:
            continue
        back = max(0.0, (c.absent_until - midnight).total_seconds() / 60) if c.absent_until else 0.0
        if c.id not in rosters:
            periods[f"{c.id}:0"] = (c, (back, 24 * 60.0) if back else None)
            continue
        for n, (start, end) in enumerate(periods_on(day, c, rosters[c.id])):
            if end > back:
                periods[f"{c.id}:{n}"] = (c, (max(start, back), end))
    return periods


async def roster(session: AsyncSession, caregiver_id: int) -> list[CaregiverShift]:
    """A caregiver's weekly roster, Monday first."""
    rows = await session.execute(
        select(CaregiverShift)
        .where(col(CaregiverShift.caregiver_id) == caregiver_id)
        .order_by(col(CaregiverShift.weekday), col(CaregiverShift.start_minute))
    )
    return list(rows.scalars())


async def set_roster(
    session: AsyncSession, caregiver_id: int, shifts: list[tuple[int, int, int]]
) -> list[CaregiverShift]:
    """Replace the roster with (weekday, start minute, end minute) periods (422 when two overlap)."""
    ordered = sorted(shifts)
    for (day, _start, end), (next_day, next_start, _end) in pairwise(ordered):
        if day == next_day and next_start < end:
            raise Invalid("同一天的排班时段重叠", code="overlapping_shifts", message_en="Two shifts on one day overlap")
    await session.execute(delete(CaregiverShift).where(col(CaregiverShift.caregiver_id) == caregiver_id))
    session.add_all(
        CaregiverShift(caregiver_id=caregiver_id, weekday=day, start_minute=start, end_minute=end)
        for day, start, end in ordered
    )
    await session.flush()
    return await roster(session, caregiver_id)


async def set_special_days(
    *, session: AsyncSession, caregiver: Caregiver, works_holidays: bool, works_adjusted_workdays: bool
) -> Caregiver:
    """Whether she works public holidays, and adjusted working days as the weekday they make up."""
    caregiver.works_holidays = works_holidays
    caregiver.works_adjusted_workdays = works_adjusted_workdays
    session.add(caregiver)
    await session.flush()
    return caregiver
