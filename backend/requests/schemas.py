"""Work order payloads."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.core.schemas import Id
from backend.dispatch.schemas import ScoreTerm
from backend.requests.models import Payer, Priority, Status


class RequestCreate(BaseModel):
    elder_id: Id
    service_type: str = Field(min_length=1, max_length=32)
    priority: Priority = Priority.normal
    paid_by: Payer | None = Field(
        default=None,
        description="government: 政府购买服务 (409 quota_exhausted when the month's quota is used); self: 自费; "
        "omitted: government while the elder's quota lasts, then self",
    )
    window_start: datetime | None = None
    window_end: datetime | None = None
    notes: str | None = Field(default=None, max_length=1000)


class HistoryEntry(BaseModel):
    status: Status
    from_status: Status | None
    at: datetime
    by: str
    reason: str | None


class VisitPublic(BaseModel):
    checkin_at: datetime
    checkin_distance_m: float
    location_flagged: bool
    checkout_at: datetime | None
    notes: str | None
    rating: int | None = None
    rating_comment: str | None = None


class LadderEntry(BaseModel):
    """A rung of an emergency's escalation ladder: when it ran, how it ended, who acted."""

    code: str
    status: str
    started_at: datetime | None
    due_at: datetime | None
    ended_at: datetime | None
    acted_by: str | None
    note: str | None


class RequestPublic(BaseModel):
    id: int
    status: Status
    elder_id: int
    community_id: int
    service_type: str
    priority: Priority
    paid_by: Payer
    window_start: datetime | None
    window_end: datetime | None
    notes: str | None
    assigned_caregiver_id: int | None
    partner_caregiver_id: int | None = None  # the second caregiver of a two-caregiver service
    caregivers_needed: int = 1
    crew: list[int] = Field(default_factory=list)  # who holds time for it so far, first to join first
    escalation_reason: str | None
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry] = Field(default_factory=list)
    ladder: list[LadderEntry] = Field(default_factory=list)  # emergencies: every rung, who acted and when
    visit: VisitPublic | None = None


class ReasonBody(BaseModel):
    reason: str | None = Field(default=None, max_length=200)


class AssignBody(BaseModel):
    caregiver_id: Id
    reason: str | None = Field(default=None, max_length=200)


class CandidatePublic(BaseModel):
    caregiver_id: int
    provider_id: int
    name: str
    distance_m: float
    load: int
    rank: int
    score: float
    explanation: str
    breakdown: list[ScoreTerm]


class Exclusion(BaseModel):
    code: str
    reason: str


class NearbyCaregiverPublic(BaseModel):
    caregiver_id: int
    provider_id: int
    name: str
    distance_m: float
    eligible: bool
    excluded_by: list[Exclusion]


class CheckIn(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CheckOut(BaseModel):
    notes: str | None = Field(default=None, max_length=2000)


class RatingBody(BaseModel):
    stars: int = Field(ge=1, le=5, description="1–5 星")
    comment: str | None = Field(default=None, max_length=500)
