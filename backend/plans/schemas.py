"""Service plan payloads."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from backend.core.schemas import Body, Id, ServiceDay, UtcTime
from backend.orders.models import ChosenPayer, Payer

Weekday = Annotated[int, Field(ge=1, le=7)]


class PlanCreate(Body):
    provider_id: Id
    service_type: str = Field(min_length=1, max_length=32)
    weekdays: list[Weekday] = Field(min_length=1, max_length=7, description="ISO weekdays: 1 Monday … 7 Sunday")
    time: dt.time = Field(description="Local start of the window, e.g. 11:00")
    window_minutes: int = Field(default=60, ge=15, le=480)
    paid_by: ChosenPayer = Payer.government
    starts_on: ServiceDay | None = None
    ends_on: ServiceDay | None = None
    skip_holidays: bool = Field(default=True, description="No visit on a public holiday (法定节假日)")
    follow_adjusted_workdays: bool = Field(
        default=True,
        description="On an adjusted working day (调休上班) also a visit when the plan runs on the weekday it is worked "
        "as (a Monday–Friday plan: always)",
    )
    notes: str | None = Field(default=None, max_length=500)


class PlanPublic(BaseModel):
    id: int
    elder_id: int
    provider_id: int
    service_type: str
    weekdays: list[int]
    time: str
    window_minutes: int
    paid_by: Payer
    starts_on: date
    ends_on: date | None
    skip_holidays: bool
    follow_adjusted_workdays: bool
    active: bool
    notes: str | None
    created_at: datetime


class DayBody(Body):
    day: ServiceDay
    provider_id: Id | None = None
    seconds: float = Field(default=10.0, gt=0, le=300, description="The planner's time limit per provider")


class GeneratedPublic(BaseModel):
    day: date
    created: list[int]


class PlannedVisitPublic(BaseModel):
    request_id: int
    arrival: UtcTime
    departure: UtcTime


class PlannedRoutePublic(BaseModel):
    caregiver_id: int
    visits: list[PlannedVisitPublic]


class DayPlanPublic(BaseModel):
    day: date
    planned: int
    routes: list[PlannedRoutePublic]
    to_dispatcher: list[int]
