"""Roster and calendar payloads."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, model_validator

from backend.core.input_errors import InputError
from backend.core.schemas import Body
from backend.requests.models import Priority, Status


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
