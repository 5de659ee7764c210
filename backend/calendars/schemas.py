"""Roster and calendar payloads."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, model_validator

from backend.calendars.models import DayKind, DaySource
from backend.core.input_errors import InputError
from backend.core.schemas import Body
from backend.orders.models import Priority, Status


class ShiftIn(Body):
    """A weekly working period, local time: weekday 1 (Monday) … 7 (Sunday), start before end."""

    weekday: int = Field(ge=1, le=7)
    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _order(self) -> ShiftIn:
        if self.end <= self.start:
            raise InputError(
                "班次结束须晚于开始（跨夜班次请分成两段）",
                "a shift ends after it starts (overnight shifts are two entries)",
            )
        return self


class ShiftPublic(BaseModel):
    weekday: int
    start: str
    end: str


class RosterIn(Body):
    """Her whole roster: the weekly periods, and what she does on public holidays and adjusted working days."""

    shifts: list[ShiftIn] = Field(max_length=70)
    works_holidays: bool = Field(default=False, description="Works her roster on public holidays (法定节假日)")
    works_adjusted_workdays: bool = Field(
        default=True,
        description="On an adjusted working day (调休上班) also works her roster of the weekday it is worked as",
    )


class RosterPublic(BaseModel):
    caregiver_id: int
    shifts: list[ShiftPublic]
    works_holidays: bool
    works_adjusted_workdays: bool


class HolidayIn(Body):
    """The bureau's word on one day (the State Council's arrangement for the year, or a local change)."""

    kind: DayKind = Field(description="holiday, adjusted_workday (a Saturday or Sunday worked), workday or weekend")
    name_zh: str | None = Field(default=None, max_length=32, description="e.g. 春节")
    name_en: str | None = Field(default=None, max_length=64, description="e.g. Spring Festival")
    works_as: int | None = Field(
        default=None, ge=1, le=5, description="An adjusted working day: the weekday it is worked as (default Monday)"
    )
    note: str | None = Field(default=None, max_length=200)


class DayPublic(BaseModel):
    """One day of the working calendar, and where the platform learnt what kind it is."""

    day: dt.date
    weekday: int  # ISO: 1 Monday … 7 Sunday
    kind: DayKind
    source: DaySource  # override (the bureau's), chinese_calendar, or weekends (the year is not known yet)
    name_zh: str | None
    name_en: str | None
    works_as: int | None
    note: str | None


class HolidayYearPublic(BaseModel):
    """A year's public holidays and adjusted working days, and the bureau's entries."""

    year: int
    published: bool  # the year's arrangement is known: the chinese-calendar package has it, or the bureau entered it
    chinese_calendar: bool  # the chinese-calendar package knows the year
    entered: int  # the bureau's entries in the year
    notice: str | None  # what to do when the year is not known yet
    days: list[DayPublic]


class CalendarBooking(BaseModel):
    """A visit booked into the caregiver's time: the order, and the elder as a caregiver greets her (no address,
    phone or full name: those come with the order itself, to those who may see it)."""

    request_id: int
    service_type: str
    service_name: str
    priority: Priority
    status: Status  # the order's: accepted, en_route, in_service, completed, …
    starts_at: dt.datetime  # the booked span: from setting off …
    ends_at: dt.datetime  # … to the end of the service (cut short at check-out)
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    elder_name: str  # 「王奶奶」
    community_id: int
    area: str  # "{street} {community}"


class CalendarShift(BaseModel):
    """One day's period of the weekly roster (排班)."""

    weekday: int  # ISO: 1 Monday … 7 Sunday
    day_kind: DayKind  # workday, weekend, holiday (worked only by those who work holidays), adjusted_workday
    starts_at: dt.datetime
    ends_at: dt.datetime


class CalendarAbsence(BaseModel):
    """A sick call or leave (请假): the reason only to the caregiver, her provider's admin and admins."""

    starts_at: dt.datetime  # when it was reported
    ends_at: dt.datetime  # until when (earlier when she started a shift before)
    reason: str | None
    reported_by: str  # the reporter's role


class CalendarPublic(BaseModel):
    """A caregiver's calendar over [start, end): what overlaps the span, earliest first."""

    caregiver_id: int
    start: dt.datetime
    end: dt.datetime
    on_shift: bool
    rostered: bool  # has a weekly roster (false: available whenever on shift)
    bookings: list[CalendarBooking]
    shifts: list[CalendarShift]
    absences: list[CalendarAbsence]
