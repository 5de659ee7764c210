"""Caregivers' calendars: their weekly roster, the time each booked visit blocks (travel included), and the
bureau's entries in the public holiday calendar (法定节假日与调休)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, partial_index, required_timestamp_field


class CaregiverBooking(SQLModel, table=True):
    """A span of a caregiver's time held by one order, from setting off to the end of the service.

    On PostgreSQL an exclusion constraint (migration ``caregiver bookings``) refuses two active
    bookings of one caregiver that overlap: the database, not the application, keeps calendars whole.
    """

    __tablename__ = "caregiver_booking"
    __table_args__ = (
        partial_index("uq_caregiver_booking_request_active", "request_id", "caregiver_id", where="active", unique=True),
        Index("ix_caregiver_booking_caregiver_span", "caregiver_id", "starts_at", "ends_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    caregiver_id: int = Field(foreign_key="caregiver.id")
    request_id: int = Field(foreign_key="service_request.id")
    starts_at: datetime = required_timestamp_field()  # when they set off
    ends_at: datetime = required_timestamp_field()  # when the service should be over
    active: bool = True  # false once the order is cancelled
    created_at: datetime = created_at_field()


class CaregiverShift(SQLModel, table=True):
    """A weekly working period of a caregiver's roster (排班), local time, e.g. Monday 08:00–17:00."""

    __tablename__ = "caregiver_shift"
    __table_args__ = (Index("uq_caregiver_shift_start", "caregiver_id", "weekday", "start_minute", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    caregiver_id: int = Field(foreign_key="caregiver.id")
    weekday: int  # ISO: 1 Monday … 7 Sunday
    start_minute: int  # minutes after local midnight
    end_minute: int  # after start_minute, at most 24:00


class DayKind(StrEnum):
    """What kind of day a date is in mainland China's working calendar."""

    workday = "workday"  # Monday to Friday, no holiday
    weekend = "weekend"  # Saturday or Sunday, not worked
    holiday = "holiday"  # 法定节假日: a day of a public holiday's break (春节, 国庆节, …), weekends in it included
    adjusted_workday = "adjusted_workday"  # 调休上班: a Saturday or Sunday worked to make up a weekday of a break


class DaySource(StrEnum):
    """Where the platform learnt what kind of day a date is, first that knows."""

    override = "override"  # entered by the bureau (table ``calendar_day``)
    chinese_calendar = "chinese_calendar"  # the chinese-calendar package's data (the years it ships)
    weekends = "weekends"  # nobody knows the year's arrangement yet: Saturdays and Sundays off


class CalendarDay(SQLModel, table=True):
    """The bureau's word on one day, over what the chinese-calendar package says (or for a year it does not know
    yet): the State Council publishes each year's arrangement in November or December."""

    __tablename__ = "calendar_day"

    day: date = Field(primary_key=True)
    kind: str = Field(max_length=16)  # a DayKind
    name_zh: str | None = Field(default=None, max_length=32)  # 春节
    name_en: str | None = Field(default=None, max_length=64)  # Spring Festival
    works_as: int | None = None  # an adjusted working day: the weekday worked (1 Monday … 5 Friday)
    note: str | None = Field(default=None, max_length=200)
    updated_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    updated_at: datetime = required_timestamp_field()
