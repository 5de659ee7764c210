"""Payloads of the capacity API (contract v1: institutions, beds, holds, admissions)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.capacity.models import OperatorKind
from backend.core.schemas import Id, Location


class InstitutionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    operator_kind: OperatorKind
    community_id: Id
    location: Location
    licence_no: str = Field(min_length=1, max_length=64)
    provider_id: Id | None = None  # whose provider_admin runs it
    monthly_fee_yuan: int | None = Field(default=None, ge=0, le=1_000_000)


class InstitutionPublic(BaseModel):
    id: int
    name: str
    operator_kind: OperatorKind
    community_id: int
    provider_id: int | None
    licence_no: str
    location: Location
    monthly_fee_yuan: int | None


class BedsCreate(BaseModel):
    room: str = Field(min_length=1, max_length=32)
    kind: str = Field(min_length=1, max_length=32)
    count: int = Field(default=1, ge=1, le=500)


class BedPublic(BaseModel):
    id: int
    institution_id: int
    room: str
    label: str
    kind: str
    status: str


class Counts(BaseModel):
    total: int = 0
    free: int = 0
    held: int = 0
    occupied: int = 0
    out_of_service: int = 0


class Capacity(Counts):
    institution_id: int
    by_kind: dict[str, Counts] = Field(default_factory=dict)


class FreeBeds(BaseModel):
    """An institution with free beds of the kind asked for, and how far it is."""

    institution_id: int
    name: str
    operator_kind: OperatorKind
    location: Location
    distance_m: float
    free: int
    monthly_fee_yuan: int | None


class HoldCreate(BaseModel):
    elder_id: Id
    institution_id: Id
    kind: str = Field(min_length=1, max_length=32)
    reason: str | None = Field(default=None, max_length=255)


class HoldPublic(BaseModel):
    id: int
    bed_id: int
    elder_id: int
    institution_id: int
    kind: str
    status: str
    expires_at: datetime


class ReasonBody(BaseModel):
    reason: str | None = Field(default=None, max_length=255)


class AdmissionPublic(BaseModel):
    id: int
    bed_id: int
    elder_id: int
    institution_id: int
    admitted_at: datetime
    discharged_at: datetime | None
