"""The insurance business around the policies (``backend.policies``): expiry reminders, incidents and claims."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, required_timestamp_field, timestamp_field
from backend.core.money import Fen


class PolicyReminder(SQLModel, table=True):
    """A reminder that a policy ends soon, sent once per policy and lead time (30 and 7 days ahead)."""

    __tablename__ = "insurance_reminder"
    __table_args__ = (UniqueConstraint("policy_id", "days_ahead", name="uq_insurance_reminder_policy_days"),)

    id: int | None = Field(default=None, primary_key=True)
    policy_id: int = Field(foreign_key="insurance_policy.id", index=True)
    days_ahead: int
    ends_on: date = Field(sa_column=Column(Date, nullable=False))
    created_at: datetime = created_at_field()


class IncidentKind(StrEnum):
    fall = "fall"  # 跌倒
    injury = "injury"  # 受伤
    property_damage = "property_damage"  # 财产损失
    death = "death"  # 死亡
    other = "other"


class IncidentSetting(StrEnum):
    home_visit = "home_visit"  # during a caregiver's visit at home
    institution = "institution"  # while living in an institution
    elsewhere = "elsewhere"


class ClaimStatus(StrEnum):
    reported = "reported"
    documents = "documents"  # gathering the documents the insurer asks for
    submitted = "submitted"  # with the insurer
    approved = "approved"
    paid = "paid"
    rejected = "rejected"


class Incident(SQLModel, table=True):
    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    setting: str = Field(max_length=16)
    occurred_at: datetime = required_timestamp_field()
    description: str = Field(max_length=2000)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="service_request.id")
    admission_id: int | None = Field(default=None, foreign_key="admission.id")
    institution_id: int | None = Field(default=None, foreign_key="institution.id")
    provider_id: int | None = Field(default=None, foreign_key="provider.id")  # the visiting caregiver's
    reported_by: str = Field(max_length=64)
    reported_at: datetime = created_at_field()


class Claim(SQLModel, table=True):
    __tablename__ = "claim"
    __table_args__ = (UniqueConstraint("incident_id", "scheme", name="uq_claim_incident_scheme"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    scheme: str = Field(max_length=32)
    policy_id: int = Field(foreign_key="insurance_policy.id", index=True)
    status: str = Field(max_length=16, index=True)
    facts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    approved_fen: Fen | None = Field(default=None, sa_type=BigInteger)
    paid_fen: Fen | None = Field(default=None, sa_type=BigInteger)
    due_at: datetime | None = timestamp_field(index=True)  # when the current step should be done
    overdue_notified_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = required_timestamp_field()


class ClaimEvent(SQLModel, table=True):
    """The claim's audit trail: every step, who took it and when."""

    __tablename__ = "claim_event"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    status: str = Field(max_length=16)
    by: str = Field(max_length=64)
    note: str | None = Field(default=None, max_length=500)
    at: datetime = required_timestamp_field()
