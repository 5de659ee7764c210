"""Payloads of the day-care API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.core.input_errors import InputError
from backend.core.schemas import Body, Id, ServiceDay

MAX_DAYS = 93  # a quarter at most in one booking


class CentreCreate(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"provider_id": 9, "community_id": 12, "places": 30, "meal_places": 25, "transport_places": 8}]
        }
    )

    provider_id: Id
    community_id: Id
    places: int = Field(ge=1, le=1000)
    meal_places: int | None = Field(default=None, ge=0, le=1000)
    transport_places: int | None = Field(default=None, ge=0, le=1000)


class CentrePublic(CentreCreate):
    model_config = ConfigDict(json_schema_extra=None, extra="ignore")  # an answer, not a body

    id: int


class BookingCreate(Body):
    """Days at a centre: listed ``days``, or every ``weekdays`` (1 Monday … 7 Sunday) from ``start`` to ``end``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "centre_id": 2,
                    "elder_id": 7,
                    "weekdays": [1, 3, 5],
                    "start": "2026-12-01",
                    "end": "2026-12-31",
                    "meal": True,
                },
                {"centre_id": 2, "elder_id": 7, "days": ["2026-12-02"]},
            ]
        }
    )

    centre_id: Id
    elder_id: Id
    days: list[date] = Field(default_factory=list, max_length=MAX_DAYS)
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    start: ServiceDay | None = None
    end: ServiceDay | None = None
    meal: bool = False
    transport: bool = False

    @model_validator(mode="after")
    def _days(self) -> BookingCreate:
        if bool(self.days) == bool(self.weekdays):
            raise InputError(
                "请给出日期，或给出星期几及起止日期（二选一）", "give either days or weekdays with start and end"
            )
        if self.weekdays:
            if self.start is None or self.end is None or self.end < self.start:
                raise InputError("起始日期不能晚于结束日期", "weekdays need start <= end")
            if (self.end - self.start).days >= MAX_DAYS:
                raise InputError(f"一次最多 {MAX_DAYS} 天", f"at most {MAX_DAYS} days at once")
            if any(not 1 <= w <= 7 for w in self.weekdays):
                raise InputError("星期几为 1（周一）到 7（周日）", "weekdays are 1 (Monday) to 7 (Sunday)")
        return self


class BookingPublic(BaseModel):
    id: int
    centre_id: int
    elder_id: int
    day: date
    meal: bool
    transport: bool
    status: str
    attended_at: datetime | None


class DayPublic(BaseModel):
    day: date
    places: int
    booked: int
    free: int
    meals: int
    transport: int


class CentreDay(CentrePublic):
    """A centre of an area with one day's places."""

    name: str
    today: DayPublic


class RosterEntry(BookingPublic):
    """A booking on a centre's day list, with the elder's name for the check-in desk."""

    elder_name: str
