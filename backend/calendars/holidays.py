"""Public holidays and adjusted working days (法定节假日与调休): what kind of day a date is in mainland China.

Sources, the first that knows a date wins:

1. the bureau's entries (table ``calendar_day``, ``PUT /api/v1/holidays/{day}`` or ``eldercare holidays import``);
2. the chinese-calendar package, for the years it ships (2004–2026 in 1.11; it refuses later years);
3. otherwise Saturdays and Sundays off, and the year is "not yet published": the State Council publishes each
   year's arrangement in November or December, and the bureau enters it.

An adjusted working day (调休上班, a Saturday or Sunday worked) is worked as a weekday (``works_as``): the one the
bureau names, else for the package's years the weekday of the day off in lieu (调休放假) it pays for, else Monday.

Lookups are cached per database session (one request, one task's unit of work): the bureau's entries of a year are
read once per session, and a write in the session drops them, so no process keeps a stale calendar.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.calendars.models import CalendarDay, DayKind, DaySource
from backend.core.db import utcnow
from backend.core.errors import Invalid, NotFound

MONDAY, FRIDAY = 1, 5
# The package's names, in Chinese as the State Council's notices write them.
FESTIVALS_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
}
ENTERED = ("kind", "name_zh", "name_en", "works_as", "note", "updated_by_user_id", "updated_at")
_CACHE = "calendars.days"  # session.info: {year: {day: Day}} of the bureau's entries


@dataclass(frozen=True)
class Day:
    """One date of the working calendar: its kind, the festival it belongs to, and where that was learnt."""

    day: date
    kind: DayKind
    source: DaySource
    name_zh: str | None = None
    name_en: str | None = None
    works_as: int | None = None  # an adjusted working day: the weekday it is worked as (1–5)
    note: str | None = None

    @property
    def weekday(self) -> int:
        """ISO weekday: 1 Monday … 7 Sunday."""
        return self.day.isoweekday()


def plain_day(day: date, source: DaySource = DaySource.weekends) -> Day:
    """A day as the plain week has it: Monday to Friday worked, Saturday and Sunday off."""
    return Day(day, DayKind.workday if day.isoweekday() <= FRIDAY else DayKind.weekend, source)


@functools.cache
def library_years() -> tuple[int, int]:
    """The first and last year the chinese-calendar package knows."""
    known = chinese_calendar.holidays.keys()
    return min(known).year, max(known).year


@functools.cache
def _library_works_as() -> dict[date, int]:
    """Each of the package's adjusted working days → the weekday of the day off in lieu it pays for: a festival's
    adjusted working days and its days off in lieu (those within 40 days of each other), paired in date order."""
    worked: defaultdict[str, list[date]] = defaultdict(list)
    off: defaultdict[str, list[date]] = defaultdict(list)
    for day, name in chinese_calendar.workdays.items():
        worked[name].append(day)
    for day, name in chinese_calendar.in_lieu_days.items():
        off[name].append(day)
    pairs: dict[date, int] = {}
    near = timedelta(days=40)
    for name, days in worked.items():
        for day in days:
            mine = sorted(d for d in days if abs(d - day) <= near)
            lieu = sorted(d for d in off[name] if abs(d - day) <= near)
            n = mine.index(day)
            if n < len(lieu):
                pairs[day] = lieu[n].isoweekday()
    return pairs


def library_day(day: date) -> Day | None:
    """What the chinese-calendar package says of a date; None for a year it does not know."""
    first, last = library_years()
    if not first <= day.year <= last:
        return None
    if (name := chinese_calendar.holidays.get(day)) is not None:
        return Day(day, DayKind.holiday, DaySource.chinese_calendar, FESTIVALS_ZH.get(name, name), name)
    if (name := chinese_calendar.workdays.get(day)) is not None:
        works_as = _library_works_as().get(day, MONDAY)
        zh = FESTIVALS_ZH.get(name, name)
        return Day(day, DayKind.adjusted_workday, DaySource.chinese_calendar, zh, name, works_as)
    return plain_day(day, DaySource.chinese_calendar)


def _entry(row: CalendarDay) -> Day:
    kind = DayKind(row.kind)
    works_as = None
    if kind is DayKind.adjusted_workday:
        known = library_day(row.day)
        fallback = known.works_as if known is not None and known.works_as else MONDAY
        works_as = row.works_as or fallback
    return Day(row.day, kind, DaySource.override, row.name_zh, row.name_en, works_as, row.note)


async def _entries(session: AsyncSession, year: int) -> dict[date, Day]:
    """The bureau's entries of a year, read once per session."""
    cache: dict[int, dict[date, Day]] = session.info.setdefault(_CACHE, {})
    if year not in cache:
        rows = await session.execute(
            select(CalendarDay).where(
                col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31)
            )
        )
        cache[year] = {row.day: _entry(row) for row in rows.scalars()}
    return cache[year]


def _forget(session: AsyncSession) -> None:
    session.info.pop(_CACHE, None)


async def day_info(session: AsyncSession, day: date) -> Day:
    """What kind of day ``day`` is, its festival, and where that was learnt (the bureau, the package, the week)."""
    entry = (await _entries(session, day.year)).get(day)
    return entry or library_day(day) or plain_day(day)


async def day_kind(session: AsyncSession, day: date) -> DayKind:
    """workday, weekend, holiday (法定节假日) or adjusted_workday (调休上班)."""
    return (await day_info(session, day)).kind


async def is_public_holiday(session: AsyncSession, day: date) -> bool:
    """True on a day of a public holiday's break (settlement's holiday visits)."""
    return (await day_kind(session, day)) is DayKind.holiday


async def days_between(session: AsyncSession, start: date, end: date) -> list[Day]:
    """Every day from ``start`` to ``end`` inclusive (a month of settlement lines: one query a year)."""
    return [await day_info(session, start + timedelta(days=n)) for n in range((end - start).days + 1)]


@dataclass(frozen=True)
class Year:
    """A year's special days, and whether its arrangement is known (from the package, or entered by the bureau)."""

    year: int
    library: bool  # the chinese-calendar package knows the year
    entered: int  # the bureau's entries in the year
    days: list[Day]

    @property
    def published(self) -> bool:
        return self.library or self.entered > 0


async def year_of(session: AsyncSession, year: int) -> Year:
    """The year's holidays, adjusted working days and the bureau's entries, in date order."""
    entries = await _entries(session, year)
    first, last = library_years()
    special: dict[date, Day] = {}
    if first <= year <= last:
        for day in (*chinese_calendar.holidays, *chinese_calendar.workdays):
            if day.year == year and (known := library_day(day)) is not None:
                special[day] = known
    special.update(entries)
    return Year(year, first <= year <= last, len(entries), [special[d] for d in sorted(special)])


def check_entry(day: date, kind: DayKind, works_as: int | None) -> None:
    """422 when the kind does not fit the weekday, or a weekday to work as is given for a day not worked so."""
    weekend = day.isoweekday() > FRIDAY
    if (kind is DayKind.workday and weekend) or (kind in (DayKind.weekend, DayKind.adjusted_workday) and not weekend):
        raise Invalid(
            f"{day} 是周{'一二三四五六日'[day.isoweekday() - 1]}，不能记为 {kind.value}"
            "（工作日为周一至周五；周末、调休上班为周六或周日）",
            code="kind_does_not_fit_weekday",
            message_en=f"{day} is a {day:%A}: {kind.value} does not fit it (workday: Monday to Friday; weekend and "
            "adjusted_workday: Saturday or Sunday)",
        )
    if works_as is not None and kind is not DayKind.adjusted_workday:
        raise Invalid(
            "只有调休上班日可以指定按周几上班",
            code="works_as_without_adjusted_workday",
            message_en="works_as is for an adjusted working day only",
        )
    if works_as is not None and not MONDAY <= works_as <= FRIDAY:
        raise Invalid("按周几上班应为 1–5（周一至周五）", code="invalid_works_as", message_en="works_as is 1–5")


@dataclass(frozen=True)
class Entry:
    """The bureau's word on a day, as entered or imported."""

    day: date
    kind: DayKind
    name_zh: str | None = None
    name_en: str | None = None
    works_as: int | None = None
    note: str | None = None


async def set_entries(*, session: AsyncSession, entries: list[Entry], user_id: int | None) -> list[Day]:
    """Enter (or replace) the bureau's word on each day (422 when a kind does not fit its weekday)."""
    for entry in entries:
        check_entry(entry.day, entry.kind, entry.works_as)
    now = utcnow()
    for entry in entries:
        fresh = CalendarDay(
            day=entry.day,
            kind=entry.kind.value,
            name_zh=entry.name_zh,
            name_en=entry.name_en,
            works_as=entry.works_as,
            note=entry.note,
            updated_by_user_id=user_id,
            updated_at=now,
        )
        row = await session.get(CalendarDay, entry.day)
        if row is None:
            try:
                async with session.begin_nested():  # another admin may enter the same day at the same moment
                    session.add(fresh)
                    await session.flush()
                continue
            except IntegrityError:
                row = await session.get(CalendarDay, entry.day, populate_existing=True)
                assert row is not None
        for name in ENTERED:
            setattr(row, name, getattr(fresh, name))
    await session.flush()
    _forget(session)
    return [await day_info(session, entry.day) for entry in entries]


async def set_entry(*, session: AsyncSession, entry: Entry, user_id: int | None) -> Day:
    """Enter (or replace) the bureau's word on one day; the day as it now reads."""
    return (await set_entries(session=session, entries=[entry], user_id=user_id))[0]


async def remove_entry(*, session: AsyncSession, day: date) -> Day:
    """Drop the bureau's word on a day (404 ``no_calendar_entry``); the day as the package or the week has it."""
    row = await session.get(CalendarDay, day)
    if row is None:
        raise NotFound(f"{day} 没有录入的节假日安排", code="no_calendar_entry", message_en=f"No entry for {day}")
    await session.delete(row)
    await session.flush()
    _forget(session)
    return await day_info(session, day)


async def clear_years(*, session: AsyncSession, years: set[int]) -> int:
    """Drop every entry of these years (an import that replaces them); how many were dropped."""
    dropped = 0
    for year in sorted(years):
        done = await session.execute(
            delete(CalendarDay).where(
                col(CalendarDay.day) >= date(year, 1, 1), col(CalendarDay.day) <= date(year, 12, 31)
            )
        )
        dropped += int(getattr(done, "rowcount", 0) or 0)
    _forget(session)
    return dropped
