"""Verified visits, their corrections, and the monthly settlement with providers (月度结算).

A visit is locked once checked out: it changes only by a correction with a reason code, approved by a
supervisor other than the one who asked; the correction keeps the visit as it was and as it became.

A settlement is a provider's statement for a month: one line per order its caregivers took, included
(verified: check-in and check-out proof, location not flagged) with its amount, or excluded with the
reason. Running a month again makes a new revision only when a line changed, and says what changed.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, partial_index, timestamp_field
from backend.core.money import Fen


class CorrectionReason(StrEnum):
    device_failure = "device_failure"  # 手机故障，无法签到签退
    forgot_checkout = "forgot_checkout"  # 忘记签退
    wrong_time = "wrong_time"  # 时间记录有误
    gps_error = "gps_error"  # 定位偏差
    other = "other"


class CorrectionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class VisitCorrection(SQLModel, table=True):
    __tablename__ = "visit_correction"
    __table_args__ = (
        partial_index("uq_visit_correction_pending", "visit_id", where="status = 'pending'", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    reason_code: str = Field(max_length=32)
    comment: str = Field(max_length=500)
    before: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the visit's fields as they were
    after: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the fields asked for
    status: str = Field(default=CorrectionStatus.pending, max_length=16)
    requested_by: str = Field(max_length=64)
    requested_by_user_id: int = Field(foreign_key="user_account.id")
    requested_at: datetime = created_at_field()
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = timestamp_field()
    decision_note: str | None = Field(default=None, max_length=500)


class SettlementStatus(StrEnum):
    draft = "draft"
    confirmed = "confirmed"  # by the provider
    approved = "approved"  # by the bureau
    paid = "paid"
    superseded = "superseded"  # a later revision replaced it


class LineKind(StrEnum):
    included = "included"
    excluded = "excluded"


class Exclusion(StrEnum):
    no_proof = "no_proof"  # no check-in and check-out
    gps_flagged = "gps_flagged"  # checked in far from the elder's home
    too_short = "too_short"  # shorter than a plausible share of the service's usual minutes
    cancelled = "cancelled"
    missing_proof = "missing_proof"  # a photo or the elder's confirmation that its service requires is missing


class Settlement(SQLModel, table=True):
    __tablename__ = "settlement"
    __table_args__ = (UniqueConstraint("provider_id", "month", "revision", name="uq_settlement_revision"),)

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    month: str = Field(max_length=7)  # YYYY-MM
    revision: int = 1
    status: str = Field(default=SettlementStatus.draft, max_length=16)
    included: int = 0
    excluded: int = 0
    government_fen: Fen = Field(default=0, sa_type=BigInteger)
    self_fen: Fen = Field(default=0, sa_type=BigInteger)
    # The one-key emergency service's (一键通紧急救助), outside the elders' quotas.
    emergency_fen: Fen = Field(default=0, sa_type=BigInteger)
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=64)
    confirmed_at: datetime | None = timestamp_field()
    confirmed_by: str | None = Field(default=None, max_length=64)
    approved_at: datetime | None = timestamp_field()
    approved_by: str | None = Field(default=None, max_length=64)
    paid_at: datetime | None = timestamp_field()
    paid_by: str | None = Field(default=None, max_length=64)


class SettlementLine(SQLModel, table=True):
    __tablename__ = "settlement_line"
    __table_args__ = (UniqueConstraint("settlement_id", "request_id", name="uq_settlement_line_request"),)

    id: int | None = Field(default=None, primary_key=True)
    settlement_id: int = Field(foreign_key="settlement.id", index=True)
    request_id: int = Field(foreign_key="service_request.id")
    elder_id: int
    caregiver_id: int
    district_id: int
    day: date = Field(sa_column=Column(Date, nullable=False))
    service_type: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=16)  # why excluded
    paid_by: str = Field(max_length=16)
    category: str | None = Field(default=None, max_length=32)  # the elder's quota category, government-paid
    amount_fen: Fen = Field(default=0, sa_type=BigInteger)  # the premium included
    holiday: str | None = Field(default=None, max_length=32)  # the public holiday the visit fell on (春节)
    premium_fen: Fen = Field(default=0, sa_type=BigInteger)  # paid for working it (ELDERCARE_HOLIDAY_PREMIUM_PERCENT)
    checkin_at: datetime | None = timestamp_field()
    checkout_at: datetime | None = timestamp_field()
    # The visit's proof: each kind with its first file's short hash (+ how many more), and who confirmed it.
    proof: str | None = Field(default=None, max_length=255)


class SubsidyBudget(SQLModel, table=True):
    """What a district may spend buying home-care orders in a month."""

    __tablename__ = "subsidy_budget"

    district_id: int = Field(foreign_key="district.id", primary_key=True)
    month: str = Field(primary_key=True, max_length=7)
    budget_fen: Fen = Field(sa_type=BigInteger)
