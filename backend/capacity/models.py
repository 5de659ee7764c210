"""Beds (床位) of elder-care institutions, and the holds and admissions that fill them.

A bed's ``status`` changes only through ``holds.py`` and ``beds.py`` (hold, admit, release, expire,
discharge, out of service). The database keeps every bed with at most one live hold and at most one
occupant, and every elder in at most one bed: partial unique indexes, not application locks.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Date, Index
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, partial_index, required_timestamp_field, timestamp_field
from backend.core.money import Fen


class OperatorKind(StrEnum):
    public = "public"  # 公办
    public_private = "public_private"  # 公建民营
    social = "social"  # 社会办


class BedStatus(StrEnum):
    free = "free"
    held = "held"
    occupied = "occupied"
    out_of_service = "out_of_service"


class Benefit(StrEnum):
    """Public assistance the elder receives: the waiting list serves 特困 and 低保 elders first."""

    none = "none"
    low_income = "low_income"  # 低保
    extreme_poverty = "extreme_poverty"  # 特困


class WaitStatus(StrEnum):
    waiting = "waiting"
    offered = "offered"  # a bed is held for them until the hold's deadline
    placed = "placed"
    declined = "declined"  # the offered hold was released or lapsed
    left = "left"


class HoldStatus(StrEnum):
    active = "active"
    admitted = "admitted"
    released = "released"
    expired = "expired"


class Institution(SQLModel, table=True):
    """An elder-care institution (养老机构) or nursing home (护理院)."""

    __tablename__ = "institution"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    operator_kind: str = Field(max_length=16)
    community_id: int = Field(foreign_key="community.id", index=True)
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)  # its provider_admin
    licence_no: str = Field(max_length=64, unique=True)
    filing_no: str | None = Field(default=None, max_length=64, unique=True)  # 备案号 (filed since 2019)
    lat: float
    lon: float
    monthly_fee_fen: Fen | None = Field(default=None, sa_type=BigInteger)  # a bed's usual price, for families
    created_at: datetime = created_at_field()


class BedKind(SQLModel, table=True):
    """A kind of bed the bureau counts: nursing-type (护理型), ordinary, dementia care, or one it configures."""

    __tablename__ = "bed_kind"

    code: str = Field(primary_key=True, max_length=32)
    name_zh: str = Field(max_length=32)
    name_en: str = Field(max_length=64)
    nursing: bool = False  # counts toward the nursing-type share


class Bed(SQLModel, table=True):
    __tablename__ = "bed"
    __table_args__ = (Index("ix_bed_institution_kind_status", "institution_id", "kind", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id")
    room: str = Field(max_length=32)
    label: str = Field(max_length=48)  # e.g. "302-2"
    kind: str = Field(foreign_key="bed_kind.code", max_length=32)
    status: str = Field(default=BedStatus.free, max_length=16)
    updated_at: datetime = required_timestamp_field()


class BedHold(SQLModel, table=True):
    """A bed reserved for an elder until ``expires_at``: admitted, released, or lapsed."""

    __tablename__ = "bed_hold"
    __table_args__ = (
        partial_index("uq_bed_hold_bed_active", "bed_id", where="status = 'active'", unique=True),
        partial_index("uq_bed_hold_elder_active", "elder_id", where="status = 'active'", unique=True),
        partial_index("ix_bed_hold_active_expiry", "expires_at", where="status = 'active'"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bed_id: int = Field(foreign_key="bed.id")
    elder_id: int = Field(foreign_key="elder.id", index=True)
    institution_id: int = Field(foreign_key="institution.id")
    kind: str = Field(max_length=32)
    status: str = Field(default=HoldStatus.active, max_length=16)
    expires_at: datetime = required_timestamp_field()
    by: str = Field(max_length=64)
    reason: str | None = Field(default=None, max_length=255)
    created_at: datetime = created_at_field()
    closed_at: datetime | None = timestamp_field()


class Admission(SQLModel, table=True):
    """An elder living in a bed (入住), until discharged (出院/退住)."""

    __tablename__ = "admission"
    __table_args__ = (
        partial_index("uq_admission_bed_current", "bed_id", where="discharged_at IS NULL", unique=True),
        partial_index("uq_admission_elder_current", "elder_id", where="discharged_at IS NULL", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    bed_id: int = Field(foreign_key="bed.id", index=True)
    elder_id: int = Field(foreign_key="elder.id")
    institution_id: int = Field(foreign_key="institution.id", index=True)
    hold_id: int | None = Field(default=None, foreign_key="bed_hold.id")
    admitted_at: datetime = created_at_field()
    admitted_by: str = Field(max_length=64)
    # The institution's liability policy valid on the day of admission (None: uninsured, reported to the bureau).
    liability_policy_id: int | None = Field(default=None, foreign_key="insurance_policy.id")
    discharged_at: datetime | None = timestamp_field()
    discharged_by: str | None = Field(default=None, max_length=64)
    discharge_reason: str | None = Field(default=None, max_length=255)


class WaitingEntry(SQLModel, table=True):
    """An elder waiting for a bed of a kind at an institution (``institution:ID``) or anywhere in a district."""

    __tablename__ = "waiting_entry"
    __table_args__ = (
        partial_index(
            "uq_waiting_entry_live",
            "elder_id",
            "list_key",
            "kind",
            where="status IN ('waiting', 'offered')",
            unique=True,
        ),
        Index("ix_waiting_entry_queue", "list_key", "kind", "status", "priority", "joined_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    list_key: str = Field(max_length=32)  # "institution:12" or "district:3"
    kind: str = Field(foreign_key="bed_kind.code", max_length=32)
    benefit: str = Field(default=Benefit.none, max_length=16)
    disability_level: int = 0  # 0 (none) … 4 (total), as assessed
    priority: int = 0  # from the city's waiting-list weights when the elder joined; higher first
    status: str = Field(default=WaitStatus.waiting, max_length=16)
    hold_id: int | None = Field(default=None, foreign_key="bed_hold.id")
    note: str | None = Field(default=None, max_length=255)
    by: str = Field(max_length=64)
    joined_at: datetime = created_at_field()
    closed_at: datetime | None = timestamp_field()


class CapacitySnapshot(SQLModel, table=True):
    """An institution's beds of a kind by state at the end of a day (occupancy over time)."""

    __tablename__ = "capacity_snapshot"
    __table_args__ = (Index("uq_capacity_snapshot_day", "day", "institution_id", "kind", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_column=Column(Date, nullable=False))
    institution_id: int = Field(foreign_key="institution.id")
    kind: str = Field(max_length=32)
    total: int
    free: int
    held: int
    occupied: int
    out_of_service: int
