"""The policies of the three elder-benefit insurance schemes (三项惠老保险).

A policy is valid on a day when it is ``active`` and the day lies within ``starts_on`` … ``ends_on``
(both inclusive, Suzhou dates). Policies are never edited into validity: a wrong one is cancelled and
a new one registered, so what the dispatcher relied on on any day can be told afterwards.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, Date, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, timestamp_field
from backend.core.money import Fen


class Scheme(StrEnum):
    institution_liability = "institution_liability"  # 养老机构综合责任保险
    home_care_liability = "home_care_liability"  # 居家养老服务责任保险
    elder_accident = "elder_accident"  # 老年人意外伤害保险


class InsuredType(StrEnum):
    institution = "institution"
    provider = "provider"
    elder = "elder"


# Who each scheme insures.
INSURED_BY_SCHEME = {
    Scheme.institution_liability: InsuredType.institution,
    Scheme.home_care_liability: InsuredType.provider,
    Scheme.elder_accident: InsuredType.elder,
}


class Payer(StrEnum):
    government = "government"
    provider = "provider"
    institution = "institution"
    elder = "elder"


class PolicyStatus(StrEnum):
    active = "active"
    cancelled = "cancelled"


class InsurancePolicy(SQLModel, table=True):
    __tablename__ = "insurance_policy"
    __table_args__ = (
        UniqueConstraint("insurer", "number", name="uq_insurance_policy_insurer_number"),
        CheckConstraint("ends_on >= starts_on", name="period_ordered"),
        CheckConstraint("limit_per_event_fen > 0 AND limit_per_year_fen >= limit_per_event_fen", name="limits_ordered"),
        Index("ix_insurance_policy_insured", "insured_type", "insured_id", "scheme"),
        Index("ix_insurance_policy_ends_on", "ends_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scheme: str = Field(max_length=32)
    insured_type: str = Field(max_length=16)
    insured_id: int
    insurer: str = Field(max_length=64)
    number: str = Field(max_length=64)
    starts_on: date = Field(sa_column=Column(Date, nullable=False))
    ends_on: date = Field(sa_column=Column(Date, nullable=False))
    limit_per_event_fen: Fen = Field(sa_type=BigInteger)
    limit_per_year_fen: Fen = Field(sa_type=BigInteger)
    premium_fen: Fen | None = Field(default=None, sa_type=BigInteger)
    payer: str = Field(max_length=16)
    status: str = Field(default=PolicyStatus.active, max_length=16)
    by: str = Field(max_length=64)
    created_at: datetime = created_at_field()
    cancelled_at: datetime | None = timestamp_field()
    cancel_reason: str | None = Field(default=None, max_length=255)
