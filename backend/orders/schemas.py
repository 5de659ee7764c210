"""How an order's visit shows: shared by the order's API (``backend.requests``) and what reads visits below it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.orders.models import Confirmation, ProofItem, ProofKind


class ProofSummary(BaseModel):
    """A photo or signature of the visit, as the order shows it (the file itself: ``…/proofs/{id}/content``)."""

    id: int
    kind: ProofKind
    sha256: str
    taken_at: datetime
    distance_m: float | None = None  # from the elder's home, where the phone said it was


class VisitPublic(BaseModel):
    checkin_at: datetime
    checkin_distance_m: float
    checkin_accuracy_m: float | None = None
    location_flagged: bool
    checkout_at: datetime | None
    notes: str | None
    rating: int | None = None
    rating_comment: str | None = None
    confirmed_by: Confirmation | None = None  # the elder's signature, or the code she was sent
    confirmed_at: datetime | None = None
    proofs: list[ProofSummary] = Field(default_factory=list)
    proof_required: list[ProofItem] = Field(default_factory=list)  # what its service needs to be paid
    proof_missing: list[ProofItem] = Field(default_factory=list)  # of those, what the visit lacks
    min_minutes: float | None = None  # the least a visit of its service lasts to be paid (ELDERCARE_MIN_VISIT_SHARE)
    too_short: bool = False  # checked out sooner than that: settlement leaves it out (too_short)
