"""Read models of the staff's screens: an area's live queue, its caregivers, its figures, the city by district."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from backend.core.money import Fen, YuanText, format_yuan

Sla = Literal["ok", "warning", "late"]
BreachRisk = Literal["low", "medium", "high"]
CaregiverState = Literal["idle", "offered", "busy", "absent", "off_shift"]


class QueueItem(BaseModel):
    id: int
    status: str
    priority: str
    service_type: str
    service_name_zh: str
    service_name_en: str
    elder_id: int
    elder_name: str
    address: str
    lat: float
    lon: float
    community_id: int
    community_name: str
    caregiver_id: int | None
    caregiver_name: str | None
    escalation_reason: str | None
    window_start: datetime | None
    window_end: datetime | None
    created_at: datetime
    waiting_seconds: int  # since the order was made
    sla: Sla  # against the time allowed to accept (waiting) or to arrive (accepted, on the way)
    sla_due_at: datetime | None
    # The breach prediction (backend.dispatch.breach), from its last sweep: the SLA time it is likely to miss (none
    # while it is not), its risk (low, medium, high) and probability; none before the order was first scored.
    predicted_breach_at: datetime | None = None
    breach_risk: BreachRisk | None = None
    breach_probability: float | None = None
    breach_sla: Literal["accept", "arrive"] | None = None  # the time at stake: to be accepted, or to arrive


class Queue(BaseModel):
    area: str  # "city", "district:3", "street:12", "community:88"
    generated_at: datetime
    counts: dict[str, int]  # open orders by status
    late: int
    at_risk: int = 0  # open orders predicted to breach their SLA
    orders: list[QueueItem]  # escalated first, then late, warning, then by priority and age


class CaregiverRow(BaseModel):
    id: int
    name: str
    phone: str  # whole or masked, by backend.access.personal.caregiver_disclosure
    provider_id: int
    provider_name: str
    lat: float | None  # none when the viewer may not see where they are (off duty)
    lon: float | None
    state: CaregiverState
    request_id: int | None  # the order they hold or are offered


class Caregivers(BaseModel):
    area: str
    counts: dict[str, int]  # by state
    caregivers: list[CaregiverRow]


class DayFigures(BaseModel):
    day: date
    orders: int
    accepted: int
    completed: int
    cancelled: int
    escalated: int
    median_accept_seconds: int | None
    completion_rate: float | None  # of the day's orders that have ended (done or cancelled), the share done
    satisfaction: float | None  # mean rating (1–5) of the day's rated visits
    rated: int


class Figures(BaseModel):
    area: str
    today: DayFigures
    days: list[DayFigures] = Field(description="oldest first, today last")


class DistrictRow(BaseModel):
    district_id: int
    code: str
    name: str
    orders_today: int
    orders_30d: int
    median_accept_seconds_30d: int | None
    completion_rate_30d: float | None
    satisfaction_30d: float | None
    beds_total: int
    beds_free: int
    nursing_share: float | None
    social_share: float | None
    occupancy: float | None
    provider_cover_rate: float | None  # home-care providers with liability cover today
    institution_cover_rate: float | None
    elder_cover_rate: float | None  # entitled elders with accident cover
    subsidy_spent_fen: Fen  # this month's statements, government-paid
    subsidy_budget_fen: Fen | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def subsidy_spent_yuan(self) -> YuanText:
        return format_yuan(self.subsidy_spent_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def subsidy_budget_yuan(self) -> YuanText | None:
        return format_yuan(self.subsidy_budget_fen)


class City(BaseModel):
    day: date
    month: str
    districts: list[DistrictRow]
    totals: DistrictRow
