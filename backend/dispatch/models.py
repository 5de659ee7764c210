"""Offers (派单): the dispatcher's proposal of an order to one caregiver, with a deadline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, partial_index, required_timestamp_field, timestamp_field


class OfferStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"
    released = "released"  # accepted, then given back (the caregiver called in sick before setting off)


class Offer(SQLModel, table=True):
    __tablename__ = "offer"
    __table_args__ = (
        # The database decides: one accepted offer per seat of an order, one pending offer per caregiver.
        partial_index("uq_offer_request_accepted", "request_id", "seat", where="status = 'accepted'", unique=True),
        partial_index("uq_offer_caregiver_pending", "caregiver_id", where="status = 'pending'", unique=True),
        partial_index("ix_offer_pending_expiry", "expires_at", where="status = 'pending'"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    caregiver_id: int = Field(foreign_key="caregiver.id", index=True)
    status: str = Field(default=OfferStatus.pending, max_length=16)
    rank: int = 1
    seat: int = 0  # which of the order's caregivers this is, once accepted (0, or 1 for a two-caregiver service)
    distance_m: float
    load: int = 0
    explanation: str = Field(max_length=500)
    explanation_en: str = Field(max_length=500)
    # The weighted score that ranked this caregiver (lower is better) and its terms, for the record.
    score: float | None = None
    breakdown: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = created_at_field()
    expires_at: datetime = required_timestamp_field()
    answered_at: datetime | None = timestamp_field()
