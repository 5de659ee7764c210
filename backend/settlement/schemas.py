"""Payloads of visit corrections and monthly settlements."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from backend.benefits.schemas import MONTH_PATTERN
from backend.core.money import AmountsIn, Fen, YuanText, fen_field, format_yuan
from backend.core.schemas import Body, Id, ServiceTime
from backend.settlement.models import CorrectionReason


class CorrectionCreate(Body):
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


class Decision(Body):
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


class SettlementRun(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"provider_id": 4, "month": "2026-11"}]})

    provider_id: Id
    month: str = Field(pattern=MONTH_PATTERN)


class MonthRun(Body):
    month: str = Field(pattern=MONTH_PATTERN)


class Subtotal(BaseModel):
    key: str  # a category code ("self" for self-paid), or a district id
    orders: int
    fen: Fen

    @computed_field  # type: ignore[prop-decorator]
    @property
    def yuan(self) -> YuanText:
        return format_yuan(self.fen)


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
    amount_fen: Fen  # the holiday premium included
    holiday: str | None = None  # the public holiday the visit fell on (春节), if it did
    premium_fen: Fen = 0  # paid for working a public holiday
    checkin_at: datetime | None
    checkout_at: datetime | None
    proof: str | None = None  # arrival_photo:1a2b3c4d departure_photo:5e6f7a8b confirmed:code

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount_yuan(self) -> YuanText:
        return format_yuan(self.amount_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def premium_yuan(self) -> YuanText:
        return format_yuan(self.premium_fen)


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
    government_fen_delta: Fen = 0
    self_fen_delta: Fen = 0
    emergency_fen_delta: Fen = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def government_yuan_delta(self) -> YuanText:
        return format_yuan(self.government_fen_delta)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def self_yuan_delta(self) -> YuanText:
        return format_yuan(self.self_fen_delta)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def emergency_yuan_delta(self) -> YuanText:
        return format_yuan(self.emergency_fen_delta)


class SettlementPublic(BaseModel):
    id: int
    provider_id: int
    provider_name: str
    month: str
    revision: int
    status: str
    included: int
    excluded: int
    government_fen: Fen
    self_fen: Fen
    emergency_fen: Fen = Field(default=0, description="emergencies, paid by the one-key emergency service (一键通)")
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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def government_yuan(self) -> YuanText:
        return format_yuan(self.government_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def self_yuan(self) -> YuanText:
        return format_yuan(self.self_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def emergency_yuan(self) -> YuanText:
        return format_yuan(self.emergency_fen)


class RunResult(BaseModel):
    """A run: the month's current statement, whether this run changed it, and how."""

    settlement: SettlementPublic
    changed: bool
    difference: Difference


class BudgetSet(AmountsIn):
    """A district's budget for a month: ``budget_fen``, or ``budget_yuan`` with at most two decimals."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"district_id": 2, "month": "2026-12", "budget_yuan": "1800000.00"}]}
    )

    district_id: Id
    month: str = Field(pattern=MONTH_PATTERN)
    budget_fen: Fen = fen_field(max_yuan=10_000_000_000)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def budget_yuan(self) -> YuanText:
        return format_yuan(self.budget_fen)


class DistrictSubsidy(BaseModel):
    """Government money spent buying orders in a district in a month (latest statements), against its budget."""

    district_id: int
    district_name: str
    month: str
    spent_fen: Fen
    orders: int
    budget_fen: Fen | None
    share: float | None  # spent / budget

    @computed_field  # type: ignore[prop-decorator]
    @property
    def spent_yuan(self) -> YuanText:
        return format_yuan(self.spent_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def budget_yuan(self) -> YuanText | None:
        return format_yuan(self.budget_fen)
