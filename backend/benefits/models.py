"""Entitlements (政府购买服务): the categories of elders the government buys home-care orders for, and prices.

Each category buys a number of work orders a month. An elder belongs to a category from the day staff
record it (with the evidence: a 低保 certificate, an ability assessment per GB/T 42195-2022, …) until
it ends, or, for an age category (``min_age``), by their birth date alone. Where several apply the
highest quota counts; they do not add up. Quotas and prices are configuration, seeded with defaults.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Date
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, partial_index
from backend.core.money import Fen


class BenefitCategory(SQLModel, table=True):
    __tablename__ = "benefit_category"
    __table_args__ = (CheckConstraint("orders_per_month >= 0", name="quota_not_negative"),)

    code: str = Field(primary_key=True, max_length=32)
    name_zh: str = Field(max_length=32)
    name_en: str = Field(max_length=64)
    orders_per_month: int
    min_age: int | None = None  # elders of this age or older belong without being recorded
    active: bool = True


class ElderBenefit(SQLModel, table=True):
    """An elder's membership of a category over a period (``valid_to`` None: until ended)."""

    __tablename__ = "elder_benefit"
    __table_args__ = (
        partial_index("uq_elder_benefit_open", "elder_id", "category", where="valid_to IS NULL", unique=True),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period_ordered"),
    )

    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    category: str = Field(foreign_key="benefit_category.code", max_length=32)
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    valid_to: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    evidence: str | None = Field(default=None, max_length=128)  # certificate or assessment number
    by: str = Field(max_length=64)
    created_at: datetime = created_at_field()
    end_reason: str | None = Field(default=None, max_length=255)


class ProviderRate(SQLModel, table=True):
    """What a provider charges an elder who pays for a service themself (自费价格), per order."""

    __tablename__ = "provider_rate"
    __table_args__ = (CheckConstraint("price_fen >= 0", name="price_not_negative"),)

    provider_id: int = Field(foreign_key="provider.id", primary_key=True)
    service_type: str = Field(foreign_key="service_type.code", primary_key=True, max_length=32)
    price_fen: Fen = Field(sa_type=BigInteger)
