"""Work orders (服务工单), their history, and what happened at the door (上门服务记录)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, partial_index, required_timestamp_field, timestamp_field


class Status(StrEnum):
    new = "new"
    dispatching = "dispatching"
    offered = "offered"
    accepted = "accepted"
    en_route = "en_route"
    in_service = "in_service"
    completed = "completed"
    closed = "closed"
    cancelled = "cancelled"
    escalated = "escalated"


ACTIVE_STATUSES = frozenset({Status.accepted, Status.en_route, Status.in_service})
HOLDING = "status IN ('accepted', 'en_route', 'in_service')"  # the caregivers hold the order (SQL)


class Priority(StrEnum):
    normal = "normal"
    urgent = "urgent"
    emergency = "emergency"


class Payer(StrEnum):
    """Who pays for the visit: the government's purchased quota (public money) or the elder."""

    government = "government"
    self_paid = "self"


class ServiceRequest(SQLModel, table=True):
    __tablename__ = "service_request"
    __table_args__ = (
        Index("ix_service_request_community_status", "community_id", "status"),
        Index("ix_service_request_caregiver_updated", "assigned_caregiver_id", "updated_at"),  # today's load
        Index("ix_service_request_paid_by_created", "paid_by", "created_at"),  # providers' share of public money
        Index("uq_service_request_plan_visit", "plan_id", "window_start", unique=True),  # one visit per plan slot
        partial_index(
            "ix_service_request_partner_active",
            "partner_caregiver_id",
            where="status IN ('accepted', 'en_route', 'in_service')",
        ),
        partial_index(
            "ix_service_request_caregiver_active",
            "assigned_caregiver_id",
            where="status IN ('accepted', 'en_route', 'in_service')",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    community_id: int = Field(foreign_key="community.id")
    service_type: str = Field(foreign_key="service_type.code", max_length=32)
    priority: str = Field(default=Priority.normal, max_length=16)
    paid_by: str = Field(default=Payer.self_paid, max_length=16)
    status: str = Field(default=Status.new, max_length=16, index=True)
    window_start: datetime | None = timestamp_field()
    window_end: datetime | None = timestamp_field()
    notes: str | None = Field(default=None, max_length=1000)
    assigned_caregiver_id: int | None = Field(default=None, foreign_key="caregiver.id")
    # The second caregiver of a two-caregiver service (卧床助浴…); set with the first once both accepted.
    partner_caregiver_id: int | None = Field(default=None, foreign_key="caregiver.id")
    escalation_reason: str | None = Field(default=None, max_length=64)
    # When the current dispatch began (creation, or an operator's redispatch): the emergency clock and
    # "who was already asked" both count from here.
    dispatch_started_at: datetime | None = timestamp_field()
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    plan_id: int | None = Field(default=None, foreign_key="service_plan.id")  # a visit of a service plan
    created_at: datetime = created_at_field()
    updated_at: datetime = required_timestamp_field()


class RequestHistory(SQLModel, table=True):
    """One row per transition: who, when, why."""

    __tablename__ = "request_history"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    from_status: str | None = Field(default=None, max_length=16)
    status: str = Field(max_length=16)
    at: datetime = created_at_field()
    by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    by: str = Field(max_length=64)  # role or "system:dispatcher"
    reason: str | None = Field(default=None, max_length=255)


class Visit(SQLModel, table=True):
    """Check-in and check-out at the elder's door, with GPS proof."""

    __tablename__ = "visit"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", unique=True)
    caregiver_id: int = Field(foreign_key="caregiver.id", index=True)
    checkin_at: datetime = created_at_field()
    checkin_lat: float
    checkin_lon: float
    checkin_distance_m: float
    checkin_method: str = Field(default="gps", max_length=16)
    location_flagged: bool = False
    checkout_at: datetime | None = timestamp_field()
    notes: str | None = Field(default=None, max_length=2000)
    # The elder's (or family's) stars after the visit, 1–5; continuity of care counts well-rated visits.
    rating: int | None = None
    rating_comment: str | None = Field(default=None, max_length=500)
    rated_at: datetime | None = timestamp_field()
