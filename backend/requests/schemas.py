"""Work order payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from backend.core.schemas import Body, Id, PlaceIn, ServiceTime
from backend.dispatch.schemas import ScoreTerm
from backend.emergency.schemas import LadderEntry
from backend.orders.models import ChosenPayer, Payer, Priority, ProofItem, ProofKind, Status
from backend.orders.schemas import VisitPublic


class RequestCreate(Body):
    elder_id: Id
    service_type: str = Field(min_length=1, max_length=32)
    priority: Priority = Priority.normal
    paid_by: ChosenPayer | None = Field(
        default=None,
        description="government: 政府购买服务 (409 quota_exhausted when the month's quota is used); self: 自费; "
        "omitted: government while the elder's quota lasts, then self. An emergency (priority emergency) is always "
        "the one-key emergency service's (shown as paid_by emergency: 一键通紧急救助, never the elder's quota)",
    )
    window_start: ServiceTime | None = None
    window_end: ServiceTime | None = None
    notes: str | None = Field(default=None, max_length=1000)


class HistoryEntry(BaseModel):
    status: Status
    from_status: Status | None
    at: datetime
    by: str
    reason: str | None


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


class ReasonBody(Body):
    reason: str | None = Field(default=None, max_length=200)


class AssignBody(Body):
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
    on_this_order: Literal["offered", "crew"] | None = Field(
        default=None,
        description="where the caregiver already stands on this order: offered (awaiting her reply) or crew "
        "(accepted); such a caregiver is not eligible, and that is not an exclusion",
    )


class DeviceTime(Body):
    at: ServiceTime | None = Field(
        default=None,
        description="when it happened on the phone (an action queued offline); default: when the server receives it",
    )


class CheckIn(DeviceTime, PlaceIn):
    """At the door: compared with the elder's home in WGS-84 (a phone's Amap position is not 500 m off her door)."""

    accuracy_m: float | None = Field(default=None, ge=0, le=100_000, description="the position's accuracy (m)")


class CheckOut(DeviceTime):
    notes: str | None = Field(default=None, max_length=2000)
    confirmation_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="the 6-digit code the elder was sent (POST …/confirmation-code) and tells the caregiver",
    )


class RatingBody(Body):
    stars: int = Field(ge=1, le=5, description="1–5 星")
    comment: str | None = Field(default=None, max_length=500)


class ProofPublic(BaseModel):
    """A photo or signature of a visit: what was uploaded, when and where (the file: ``…/content``)."""

    id: int
    request_id: int
    caregiver_id: int
    kind: ProofKind
    sha256: str
    content_type: str
    size_bytes: int
    taken_at: datetime
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    distance_m: float | None = None


class CodeRecipient(Body):
    family_member_id: Id | None = Field(
        default=None, description="send it to this family member of the elder instead of the elder herself"
    )


class CodeSent(BaseModel):
    sent_to: str  # masked: 138****0001
    expires_at: datetime


class ProofRequirement(Body):
    required: list[ProofItem] = Field(
        max_length=10, description="arrival_photo, departure_photo, confirmation (the elder's); [] for none"
    )


class ComingCaregiver(BaseModel):
    id: int
    name: str
    phone: str | None  # whole for the elder and her family while the visit is ahead or under way, else masked
    lead: bool  # the assigned caregiver (false: the partner of a two-caregiver service)


class ComingPublic(BaseModel):
    """Who is coming to the elder, and how far they are (the elder's and her family's app)."""

    request_id: int
    status: Status
    caregivers: list[ComingCaregiver] = Field(default_factory=list)
    distance_m: float | None = None  # accepted or en route: from the lead caregiver's last position to her home
    eta_minutes: int | None = None  # the platform's travel estimate over that distance
    position_at: datetime | None = None  # when that position was reported (null: not known, e.g. none today)
