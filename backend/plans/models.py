"""Recurring service plans (服务计划): what an elder gets every week, and from which provider."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field


class ServicePlan(SQLModel, table=True):
    """E.g. meal help every weekday at 11:00, bathing every Tuesday at 15:00, from one provider."""

    __tablename__ = "service_plan"

    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    service_type: str = Field(foreign_key="service_type.code", max_length=32)
    weekdays: list[int] = Field(sa_column=Column(JSON, nullable=False))  # ISO: 1 Monday … 7 Sunday
    minute_of_day: int  # local start of the window, minutes after midnight
    window_minutes: int = 60
    paid_by: str = Field(default="government", max_length=16)
    starts_on: date
    ends_on: date | None = None
    skip_holidays: bool = True  # no visit on a public holiday (法定节假日)
    follow_adjusted_workdays: bool = True  # an adjusted working day (调休上班) also runs as the weekday it makes up
    active: bool = True
    notes: str | None = Field(default=None, max_length=500)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = created_at_field()
