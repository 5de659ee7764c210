"""Day-care centres (日间照料中心): places per day, elders' bookings, attendance.

A centre's day has a counter row; a booking takes a place with one conditional ``UPDATE … SET booked =
booked + 1 WHERE booked < places``, so concurrent bookings can never put more elders into a day than it
has places (and the same for meals and transport), whatever the number of API processes.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Date, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, partial_index, timestamp_field


class BookingStatus(StrEnum):
    booked = "booked"
    attended = "attended"
    cancelled = "cancelled"


class DayCareCentre(SQLModel, table=True):
    __tablename__ = "day_care_centre"

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="provider.id", unique=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    places: int  # elders a day
    meal_places: int | None = None  # lunches a day (None: no meals)
    transport_places: int | None = None  # seats on the shuttle a day (None: no shuttle)


class DayCareDay(SQLModel, table=True):
    """How many places of a centre's day are taken."""

    __tablename__ = "day_care_day"
    __table_args__ = (
        UniqueConstraint("centre_id", "day", name="uq_day_care_day_centre_day"),
        CheckConstraint("booked >= 0 AND meals >= 0 AND transport >= 0", name="counts_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="day_care_centre.id")
    day: date = Field(sa_column=Column(Date, nullable=False))
    booked: int = 0
    meals: int = 0
    transport: int = 0


class DayCareBooking(SQLModel, table=True):
    __tablename__ = "day_care_booking"
    __table_args__ = (
        partial_index(
            "uq_day_care_booking_live", "centre_id", "elder_id", "day", where="status != 'cancelled'", unique=True
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="day_care_centre.id", index=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    day: date = Field(sa_column=Column(Date, nullable=False))
    meal: bool = False
    transport: bool = False
    status: str = Field(default=BookingStatus.booked, max_length=16)
    by: str = Field(max_length=64)
    created_at: datetime = created_at_field()
    attended_at: datetime | None = timestamp_field()
    cancelled_at: datetime | None = timestamp_field()
