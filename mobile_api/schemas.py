"""Payloads of the caregiver and elder app."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.core.schemas import Location
from backend.dispatch.schemas import ScoreTerm
from backend.requests.schemas import RequestPublic


class OfferPublic(BaseModel):
    id: int
    request_id: int
    status: str
    expires_at: datetime
    explanation: str
    distance_m: float
    breakdown: list[ScoreTerm] = Field(default_factory=list)
    service_type: str
    priority: str
    window_start: datetime | None
    window_end: datetime | None


class DeclineBody(BaseModel):
    reason: str | None = Field(default=None, max_length=200)


class Destination(BaseModel):
    """Where to go, shown to the caregiver who holds the order."""

    elder_name: str
    address: str
    location: Location
    phone: str


class AssignmentPublic(RequestPublic):
    destination: Destination | None = None
