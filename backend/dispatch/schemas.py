"""Dispatch payloads: score breakdowns, offers as the dispatcher sees them, provider fairness."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from backend.core.schemas import Body, ServiceTime, UtcTime


class ScoreTerm(BaseModel):
    """One objective's part of a caregiver's score (cost in minutes; negative is a bonus)."""

    code: str
    value: float
    cost: float
    text: str


def score_terms(breakdown: Sequence[dict[str, Any]] | None, *, english: bool) -> list[ScoreTerm]:
    """A stored breakdown in the reader's language."""
    return [
        ScoreTerm(code=t["code"], value=t["value"], cost=round(t["cost"], 2), text=t["en"] if english else t["zh"])
        for t in breakdown or []
    ]


class OfferRecord(BaseModel):
    """An offer of an order, for the dispatcher: who, how it ranked and why, and how it ended."""

    id: int
    caregiver_id: int
    caregiver_name: str
    status: str
    rank: int
    score: float | None
    distance_m: float
    explanation: str
    breakdown: list[ScoreTerm]
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None


class ProviderSharePublic(BaseModel):
    provider_id: int
    name: str
    orders: int
    share: float
    fair_share: float
    gap_points: float
    caregivers: int
    rating: float | None


class FairnessPublic(BaseModel):
    """Providers' shares of government-paid orders and their spread (Gini of share / fair share)."""

    since: datetime
    orders: int
    gini: float
    providers: list[ProviderSharePublic]


class AbsenceBody(Body):
    reason: str | None = Field(default=None, max_length=200)
    until: ServiceTime | None = Field(default=None, description="Unavailable until (default: the end of today)")


class AbsencePublic(BaseModel):
    """The caregiver is off shift; these orders went back to the dispatcher."""

    caregiver_id: int
    on_shift: bool
    absent_until: UtcTime
    redispatched: list[int]
