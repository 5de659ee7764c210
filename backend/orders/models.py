"""Work orders (服务工单), their history, what happened at the door (上门服务记录) and its proof (上门凭证)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import Index, UniqueConstraint
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
# A two-caregiver visit whose other seat is dispatched again (its caregiver called in sick or went to an emergency):
# the caregiver who stays on it still holds it, and sets off once the crew is complete.
REFILLING_STATUSES = frozenset({Status.dispatching, Status.offered, Status.escalated})
HOLDING = "status IN ('accepted', 'en_route', 'in_service')"  # the caregivers hold the order (SQL)


class Priority(StrEnum):
    normal = "normal"
    urgent = "urgent"
    emergency = "emergency"


class Payer(StrEnum):
    """Who pays for the visit: the government's purchased quota (public money), the elder, or, for an emergency,
    the one-key emergency service (一键通紧急救助: public money outside any elder's quota)."""

    government = "government"
    self_paid = "self"
    emergency = "emergency"


ChosenPayer = Literal[Payer.government, Payer.self_paid]  # what an order or a plan may ask for: never emergency


class ServiceRequest(SQLModel, table=True):
    __tablename__ = "service_request"
    __table_args__ = (
        Index("ix_service_request_community_status", "community_id", "status"),
        Index("ix_service_request_caregiver_updated", "assigned_caregiver_id", "updated_at"),  # today's load
        Index("ix_service_request_partner_updated", "partner_caregiver_id", "updated_at"),  # and as a crew's second
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
        partial_index(
            "ix_service_request_waiting", "created_at", where="waiting_since IS NOT NULL AND status = 'dispatching'"
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
    # Dispatching with nobody free now but someone busy who could take it: since when it waits for her. The
    # caregiver who becomes free wakes it (``backend.dispatch.waiting``); the sweeps leave it to her meanwhile.
    waiting_since: datetime | None = timestamp_field()
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
    checkin_accuracy_m: float | None = None  # what the phone said of its position's accuracy
    checkin_method: str = Field(default="gps", max_length=16)
    location_flagged: bool = False
    checkout_at: datetime | None = timestamp_field()
    # The elder's confirmation that she was served: her signature on the phone, or the code she was sent by SMS.
    confirmed_by: str | None = Field(default=None, max_length=16)  # Confirmation
    confirmed_at: datetime | None = timestamp_field()
    notes: str | None = Field(default=None, max_length=2000)
    # The elder's (or family's) stars after the visit, 1–5; continuity of care counts well-rated visits.
    rating: int | None = None
    rating_comment: str | None = Field(default=None, max_length=500)
    rated_at: datetime | None = timestamp_field()


class ProofKind(StrEnum):
    """What a caregiver's phone uploads as proof of a visit."""

    arrival_photo = "arrival_photo"  # 到达照片: at the door, before the service
    departure_photo = "departure_photo"  # 离开照片: the service done
    signature = "signature"  # 老人签名: the elder signs on the phone's screen


class ProofItem(StrEnum):
    """What a service type may require of its visits (``service_type.proof_required``)."""

    arrival_photo = "arrival_photo"
    departure_photo = "departure_photo"
    confirmation = "confirmation"  # the elder's signature, or the SMS code she was sent


class Confirmation(StrEnum):
    signature = "signature"
    code = "code"


class VisitProof(SQLModel, table=True):
    """One photo or signature taken during a visit; the bytes are in the file store under ``storage_key``
    (content-addressed: ``proofs/<sha256>``), the hash proves they never changed."""

    __tablename__ = "visit_proof"
    # One row per content and kind of an order (a retried upload finds it); also the index of an order's proofs.
    __table_args__ = (UniqueConstraint("request_id", "kind", "sha256", name="uq_visit_proof_content"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id")
    caregiver_id: int = Field(foreign_key="caregiver.id", index=True)
    kind: str = Field(max_length=16)  # ProofKind
    sha256: str = Field(max_length=64)  # hex
    content_type: str = Field(max_length=32)  # from the file's own first bytes, not the client's word
    size_bytes: int
    storage_key: str = Field(max_length=128)
    taken_at: datetime = required_timestamp_field()  # the phone's time, within device-time bounds
    lat: float | None = None  # where the phone was (WGS-84)
    lon: float | None = None
    accuracy_m: float | None = None
    distance_m: float | None = None  # from the elder's home
    created_at: datetime = created_at_field()


class ConfirmationCode(SQLModel, table=True):
    """The one-time code last sent to the elder (or a family member) to confirm an order's visit: only its keyed
    hash is kept; a new code replaces it."""

    __tablename__ = "confirmation_code"

    request_id: int = Field(foreign_key="service_request.id", primary_key=True)
    code_hash: str = Field(max_length=64)  # keyed HMAC (backend.core.crypto.blind) of the order and the code
    sent_to: str = Field(max_length=32)  # the phone, masked (138****0001)
    family_member_id: int | None = Field(default=None, foreign_key="family_member.id")
    expires_at: datetime = required_timestamp_field()
    used_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
