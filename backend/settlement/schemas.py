"""Payloads of visit corrections and monthly settlements."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backend.benefits.schemas import MONTH_PATTERN
from backend.core.schemas import Id, ServiceTime
from backend.settlement.models import CorrectionReason


class CorrectionCreate(BaseModel):
    """What should change in a checked-out visit, and why (a reason code and a comment)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reason_code": "forgot_checkout",
                    "comment": "护理员离开时忘记签退，老人家属电话确认 11:40 离开",
                    "checkout_at": "2026-11-28T11:40:00+08:00",
                }
            ]
        }
    )

    reason_code: CorrectionReason
    comment: str = Field(min_length=1, max_length=500)
    checkin_at: ServiceTime | None = None
    checkout_at: ServiceTime | None = None
    notes: str | None = Field(default=None, max_length=2000)
    location_flagged: bool | None = None


class Decision(BaseModel):
    note: str | None = Field(default=None, max_length=500)


class CorrectionPublic(BaseModel):
    id: int
    visit_id: int
    request_id: int
    reason_code: str
    comment: str
    before: dict[str, Any]
    after: dict[str, Any]
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class SettlementRun(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"provider_id": 4, "month": "2026-11"}]})

    provider_id: Id
    month: str = Field(pattern=MONTH_PATTERN)


class MonthRun(BaseModel):
    month: str = Field(pattern=MONTH_PATTERN)


class Subtotal(BaseModel):
    key: str  # a category code ("self" for self-paid), or a district id
    orders: int
    yuan: int


class LinePublic(BaseModel):
    request_id: int
    elder_id: int
    caregiver_id: int
    district_id: int
    day: date
    service_type: str
    kind: str
    reason: str | None
    paid_by: str
    category: str | None
    amount_yuan: int
    checkin_at: datetime | None
    checkout_at: datetime | None
    proof: str | None = None  # arrival_photo:1a2b3c4d departure_photo:5e6f7a8b confirmed:code


class LineChange(BaseModel):
    request_id: int
    before: LinePublic | None
    after: LinePublic | None


class Difference(BaseModel):
    """What changed against the previous revision (none on the first run)."""

    previous_id: int | None
    added: list[LineChange] = Field(default_factory=list)
    removed: list[LineChange] = Field(default_factory=list)
    changed: list[LineChange] = Field(default_factory=list)
    government_yuan_delta: int = 0
    self_yuan_delta: int = 0
    emergency_yuan_delta: int = 0


class SettlementPublic(BaseModel):
    id: int
    provider_id: int
    provider_name: str
    month: str
    revision: int
    status: str
    included: int
    excluded: int
    government_yuan: int
    self_yuan: int
    emergency_yuan: int = Field(default=0, description="emergencies, paid by the one-key emergency service (一键通)")
    by_category: list[Subtotal]
    by_district: list[Subtotal]
    created_at: datetime
    created_by: str
    confirmed_at: datetime | None
    confirmed_by: str | None
    approved_at: datetime | None
    approved_by: str | None
    paid_at: datetime | None
    paid_by: str | None


class RunResult(BaseModel):
    """A run: the month's current statement, whether this run changed it, and how."""

    settlement: SettlementPublic
    changed: bool
    difference: Difference


class BudgetSet(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"district_id": 2, "month": "2026-12", "budget_yuan": 1800000}]}
    )

    district_id: Id
    month: str = Field(pattern=MONTH_PATTERN)
    budget_yuan: int = Field(ge=0, le=10_000_000_000)


class DistrictSubsidy(BaseModel):
    """Government money spent buying orders in a district in a month (latest statements), against its budget."""

    district_id: int
    district_name: str
    month: str
    spent_yuan: int
    orders: int
    budget_yuan: int | None
    share: float | None  # spent / budget
