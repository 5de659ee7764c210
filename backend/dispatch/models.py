"""Offers (派单): the dispatcher's proposal of an order to one caregiver, with a deadline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, LargeBinary
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


class BreachWatch(SQLModel, table=True):
    """The latest SLA-breach prediction of an open order (``backend.dispatch.breach``), and what was done about it.

    ``flagged_at`` is set once, when the order was first found likely to breach: the operators were told then and
    its next dispatch rounds reach wider and offer it to more caregivers at once (``boosted``)."""

    __tablename__ = "breach_watch"

    request_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("service_request.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    scored_at: datetime = required_timestamp_field()
    probability: float
    risk: str = Field(max_length=8)  # low | medium | high
    method: str = Field(max_length=16)  # rule (before there is history) | model
    sla: str = Field(max_length=8)  # which time is at stake: accept | arrive
    sla_due_at: datetime | None = timestamp_field()
    predicted_accept_at: datetime | None = timestamp_field()
    predicted_arrival_at: datetime | None = timestamp_field()
    predicted_breach_at: datetime | None = timestamp_field()  # set while the order is likely to breach
    flagged_at: datetime | None = timestamp_field()
    flagged_sla: str | None = Field(default=None, max_length=8)  # the time the operators were told about
    boosted: bool = False
    snapshot_at: datetime | None = timestamp_field()  # the last snapshot kept for training


class BreachSnapshot(SQLModel, table=True):
    """What the sweep saw of an open order at one moment: the model's training data, labelled once the order's
    times have passed (accepted by its due? arrived by its due?)."""

    __tablename__ = "breach_snapshot"
    __table_args__ = (Index("ix_breach_snapshot_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(
        sa_column=Column(Integer, ForeignKey("service_request.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    at: datetime = required_timestamp_field()
    features: list[float] = Field(sa_column=Column(JSON, nullable=False))


class BreachModel(SQLModel, table=True):
    """A trained breach model (scikit-learn, serialised), its training time, sample count and held-out scores.
    The newest one is used."""

    __tablename__ = "breach_model"

    id: int | None = Field(default=None, primary_key=True)
    trained_at: datetime = required_timestamp_field()
    samples: int
    breaches: int
    features: list[str] = Field(sa_column=Column(JSON, nullable=False))
    scores: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
