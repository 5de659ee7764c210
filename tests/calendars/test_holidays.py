"""What kind of day a date is: the bureau's entries first, then chinese-calendar, then plain weekends; and what plans
and rosters do on such days."""

from __future__ import annotations

from datetime import date

import pytest

from backend.calendars.holidays import (
    Entry,
    check_entry,
    day_info,
    day_kind,
    days_between,
    is_public_holiday,
    library_day,
    plain_day,
    remove_entry,
    set_entry,
    year_of,
)
from backend.calendars.models import CaregiverShift, DayKind, DaySource
from backend.calendars.rosters import periods_on, roster_weekdays
from backend.core.errors import Invalid
from backend.core.runtime import Runtime
from backend.plans.models import ServicePlan
from backend.plans.service import runs_on
from backend.registry.models import Caregiver

pytestmark = pytest.mark.unit

NATIONAL_DAY = date(2026, 10, 1)  # Thursday, 国庆节
SUNDAY_WORKED = date(2026, 9, 20)  # 调休上班, pays for Tuesday 10-06
SATURDAY_WORKED = date(2026, 10, 10)  # 调休上班, pays for Wednesday 10-07
SATURDAY_OFF = date(2026, 10, 3)  # a Saturday inside the National Day break


def test_chinese_calendar_knows_2026() -> None:
    day = library_day(NATIONAL_DAY)
    assert day is not None
    assert (day.kind, day.source, day.name_zh, day.name_en) == (
        DayKind.holiday,
        DaySource.chinese_calendar,
        "国庆节",
        "National Day",
    )
    assert library_day(SATURDAY_OFF).kind is DayKind.holiday  # type: ignore[union-attr]
    worked = [library_day(d) for d in (SUNDAY_WORKED, SATURDAY_WORKED)]
    assert [(d.kind, d.name_zh, d.works_as) for d in worked if d] == [
        (DayKind.adjusted_workday, "国庆节", 2),
        (DayKind.adjusted_workday, "国庆节", 3),
    ]
    assert library_day(date(2026, 10, 9)).kind is DayKind.workday  # type: ignore[union-attr]
    assert library_day(date(2026, 10, 11)).kind is DayKind.weekend  # type: ignore[union-attr]


def test_beyond_the_package_only_weekends_are_known() -> None:
    assert library_day(date(2027, 2, 8)) is None  # chinese-calendar 1.11 refuses 2027
    assert plain_day(date(2027, 2, 8)) == plain_day(date(2027, 2, 8), DaySource.weekends)
    assert plain_day(date(2027, 2, 8)).kind is DayKind.workday
    assert plain_day(date(2027, 2, 6)).kind is DayKind.weekend


def _plan(weekdays: list[int], *, skip: bool = True, follow: bool = True) -> ServicePlan:
    return ServicePlan(
        elder_id=1,
        provider_id=1,
        service_type="meal",
        weekdays=weekdays,
        minute_of_day=660,
        starts_on=date(2026, 1, 1),
        skip_holidays=skip,
        follow_adjusted_workdays=follow,
    )


WEEKDAYS = [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("plan", "day", "visit"),
    [
        (_plan(WEEKDAYS), NATIONAL_DAY, False),  # a public holiday: skipped
        (_plan(WEEKDAYS, skip=False), NATIONAL_DAY, True),  # unless the plan does not skip them
        (_plan([6]), SATURDAY_OFF, False),  # a weekend day inside the break is the holiday's
        (_plan(WEEKDAYS), SATURDAY_WORKED, True),  # a Monday–Friday plan runs on every working day
        (_plan(WEEKDAYS, follow=False), SATURDAY_WORKED, False),  # unless it keeps to its weekdays
        (_plan([3]), SATURDAY_WORKED, True),  # the day is worked as Wednesday: Wednesday's visit is made up
        (_plan([2]), SATURDAY_WORKED, False),
        (_plan([2]), SUNDAY_WORKED, True),  # worked as Tuesday
        (_plan([6]), SATURDAY_WORKED, True),  # a Saturday plan keeps its Saturday
        (_plan(WEEKDAYS), date(2026, 10, 9), True),  # a plain Friday
        (_plan(WEEKDAYS), date(2026, 10, 11), False),  # a plain Sunday
    ],
)
def test_a_plan_on_special_days(plan: ServicePlan, day: date, visit: bool) -> None:
    known = library_day(day)
    assert known is not None
    assert runs_on(plan, known) is visit


def _shifts(*periods: tuple[int, int, int]) -> list[CaregiverShift]:
    return [CaregiverShift(caregiver_id=1, weekday=w, start_minute=s, end_minute=e) for w, s, e in periods]


def test_a_roster_on_special_days() -> None:
    holiday, worked = library_day(NATIONAL_DAY), library_day(SATURDAY_WORKED)
    assert holiday is not None and worked is not None
    assert roster_weekdays(holiday, works_holidays=False, works_adjusted_workdays=True) == ()
    assert roster_weekdays(holiday, works_holidays=True, works_adjusted_workdays=True) == (4,)
    assert roster_weekdays(worked, works_holidays=False, works_adjusted_workdays=True) == (6, 3)
    assert roster_weekdays(worked, works_holidays=False, works_adjusted_workdays=False) == (6,)
    # Her Saturday morning and her Wednesday day, merged where they overlap; Thursday's is not hers that day.
    roster = _shifts((6, 480, 720), (3, 600, 1020), (4, 0, 1440))
    keen = Caregiver(provider_id=1, user_id=1, name="甲", phone="x", lat=0, lon=0)
    assert periods_on(worked, keen, roster) == [(480.0, 1020.0)]
    assert periods_on(holiday, keen, roster) == []
    own_week = Caregiver(provider_id=1, user_id=1, name="乙", phone="x", lat=0, lon=0, works_adjusted_workdays=False)
    assert periods_on(worked, own_week, roster) == [(480.0, 720.0)]
    # A plain day: her periods as rostered, one after another (the planner gives each its own route).
    plain = library_day(date(2026, 10, 17))
    assert plain is not None and plain.kind is DayKind.weekend
    assert periods_on(plain, keen, _shifts((6, 720, 900), (6, 480, 720))) == [(480.0, 720.0), (720.0, 900.0)]


def test_entries_that_do_not_fit_their_day_are_refused() -> None:
    monday, saturday = date(2027, 2, 8), date(2027, 2, 6)
    check_entry(monday, DayKind.holiday, None)
    check_entry(saturday, DayKind.adjusted_workday, 5)
    for day, kind, works_as, code in (
        (monday, DayKind.adjusted_workday, None, "kind_does_not_fit_weekday"),
        (monday, DayKind.weekend, None, "kind_does_not_fit_weekday"),
        (saturday, DayKind.workday, None, "kind_does_not_fit_weekday"),
        (monday, DayKind.holiday, 1, "works_as_without_adjusted_workday"),
        (saturday, DayKind.adjusted_workday, 6, "invalid_works_as"),
    ):
        with pytest.raises(Invalid) as refused:
            check_entry(day, kind, works_as)
        assert refused.value.code == code, (day, kind, works_as)


async def test_the_bureau_s_entry_comes_first_and_is_seen_at_once(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        assert await is_public_holiday(session, NATIONAL_DAY)
        around = await days_between(session, date(2026, 9, 30), date(2026, 10, 2))
        assert [d.kind for d in around] == [DayKind.workday, DayKind.holiday, DayKind.holiday]
        # Said a working day by the bureau (a made-up change): seen in the same session at once.
        await set_entry(session=session, entry=Entry(NATIONAL_DAY, DayKind.workday, note="测试"), user_id=None)
        changed = await day_info(session, NATIONAL_DAY)
        assert (changed.kind, changed.source, changed.note) == (DayKind.workday, DaySource.override, "测试")
        assert (await year_of(session, 2026)).entered == 1
        back = await remove_entry(session=session, day=NATIONAL_DAY)
        assert (back.kind, back.source) == (DayKind.holiday, DaySource.chinese_calendar)
        await session.rollback()


async def test_a_year_nobody_knows_is_weekends_until_entered(runtime: Runtime) -> None:
    day = date(2031, 2, 3)  # a Monday of a year neither the package nor the suite enters
    async with runtime.sessions() as session:
        assert await day_kind(session, day) is DayKind.workday
        unknown = await year_of(session, 2031)
        assert (unknown.published, unknown.library, unknown.days) == (False, False, [])
        await set_entry(
            session=session,
            entry=Entry(date(2031, 2, 8), DayKind.adjusted_workday, "春节", "Spring Festival"),
            user_id=None,
        )
        await set_entry(session=session, entry=Entry(day, DayKind.holiday, "春节", "Spring Festival"), user_id=None)
        await session.commit()
    try:
        async with runtime.sessions() as other:  # another request, another run: reads the entries afresh
            assert await is_public_holiday(other, day)
            entered = await year_of(other, 2031)
            assert entered.published and entered.entered == 2 and not entered.library
            assert [(d.day, d.kind, d.works_as) for d in entered.days] == [
                (day, DayKind.holiday, None),
                (date(2031, 2, 8), DayKind.adjusted_workday, 1),  # no weekday named, none known: Monday
            ]
    finally:
        async with runtime.unit_of_work() as session:
            for entered_day in (day, date(2031, 2, 8)):
                await remove_entry(session=session, day=entered_day)
