"""Caregivers' calendars: their weekly roster, and the time each booked visit blocks (travel included)."""

from __future__ import annotations

from datetime import datetime

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
