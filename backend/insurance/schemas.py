"""Payloads of the insurance API (policies of the three schemes: docs/contract.md, "Insurance")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from backend.core.input_errors import InputError
from backend.core.money import AmountsIn, Fen, YuanText, fen_field, format_yuan
from backend.core.schemas import Body, Id, ServiceDay, ServiceTime
from backend.insurance.models import ClaimStatus, IncidentKind
from backend.policies.models import InsuredType, Payer, Scheme

MAX_LIMIT_YUAN = 100_000_000


# Before amounts were in fen, a policy's limits were given as ``limit_per_event`` and ``limit_per_year`` (yuan).
LEGACY_LIMITS = {"limit_per_event": "limit_per_event_yuan", "limit_per_year": "limit_per_year_yuan"}


class PolicyCreate(AmountsIn):
    """A policy of one of the three schemes, dates inclusive (Suzhou days); each amount as ``<name>_fen`` or
    ``<name>_yuan`` (at most two decimals; the limits also as ``limit_per_event``/``limit_per_year`` in yuan, as
    before amounts were in fen)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scheme": "home_care_liability",
                    "insured_type": "provider",
                    "insured_id": 4,
                    "insurer": "中国人民财产保险股份有限公司苏州市分公司",
                    "number": "PZBM202632050000123",
                    "starts_on": "2026-01-01",
                    "ends_on": "2026-12-31",
                    "limit_per_event_yuan": "300000.00",
                    "limit_per_year_yuan": "3000000.00",
                    "premium_yuan": "1250.50",
                    "payer": "government",
                }
            ]
        }
    )

    scheme: Scheme
    insured_type: InsuredType
    insured_id: Id
    insurer: str = Field(min_length=1, max_length=64)
    number: str = Field(min_length=1, max_length=64)
    starts_on: ServiceDay
    ends_on: ServiceDay
    limit_per_event_fen: Fen = fen_field(max_yuan=MAX_LIMIT_YUAN, positive=True)
    limit_per_year_fen: Fen = fen_field(max_yuan=MAX_LIMIT_YUAN, positive=True)
    premium_fen: Fen | None = fen_field(max_yuan=MAX_LIMIT_YUAN, default=None)
    payer: Payer

    @model_validator(mode="before")
    @classmethod
    def _legacy_limits(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(old in data for old in LEGACY_LIMITS):
            data = dict(data)
            for old, new in LEGACY_LIMITS.items():
                if old in data:
                    data.setdefault(new, data.pop(old))
        return data

    @model_validator(mode="after")
    def _ordered(self) -> PolicyCreate:
        if self.ends_on < self.starts_on:
            raise InputError("保险止期不能早于起期", "ends_on must not be before starts_on")
        if self.limit_per_year_fen < self.limit_per_event_fen:
            raise InputError("年度限额不能低于每次事故限额", "limit_per_year must be at least limit_per_event")
        return self


class PolicyPublic(PolicyCreate):
    model_config = ConfigDict(json_schema_extra=None, extra="ignore")  # an answer, not a body

    id: int
    status: str
    insured_name: str
    valid_today: bool
    created_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def limit_per_event_yuan(self) -> YuanText:
        return format_yuan(self.limit_per_event_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def limit_per_year_yuan(self) -> YuanText:
        return format_yuan(self.limit_per_year_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def premium_yuan(self) -> YuanText | None:
        return format_yuan(self.premium_fen)


class CancelBody(Body):
    reason: str = Field(min_length=1, max_length=255)


class ReminderPublic(BaseModel):
    id: int
    policy_id: int
    days_ahead: int
    ends_on: date
    created_at: datetime
    scheme: Scheme
    insured_type: InsuredType
    insured_id: int
    insured_name: str


class RowError(BaseModel):
    line: int
    reason: str


class ImportReport(BaseModel):
    """What an import found and did: nothing is written from a file with errors unless ``good_rows`` was asked."""

    rows: int
    imported: int
    errors: list[RowError]


class IncidentCreate(Body):
    """What happened, to whom, when; on a home visit give the order, in an institution it is found by itself."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "fall",
                    "occurred_at": "2026-11-28T10:20:00+08:00",
                    "description": "助浴时老人在浴室滑倒，右腕疼痛，已送苏大附一院",
                    "elder_id": 7,
                    "request_id": 1204,
                }
            ]
        }
    )

    kind: IncidentKind
    occurred_at: ServiceTime
    description: str = Field(min_length=1, max_length=2000)
    elder_id: Id
    request_id: Id | None = None


class SchemeFinding(BaseModel):
    """A scheme the incident falls under, and the policy that answers (None: no valid cover that day)."""

    scheme: Scheme
    insured_id: int
    policy_id: int | None


class IncidentPublic(BaseModel):
    id: int
    kind: str
    setting: str
    occurred_at: datetime
    description: str
    elder_id: int
    request_id: int | None
    admission_id: int | None
    institution_id: int | None
    provider_id: int | None
    reported_by: str
    reported_at: datetime


class ClaimEventPublic(BaseModel):
    status: str
    by: str
    note: str | None
    at: datetime


class ClaimPublic(BaseModel):
    id: int
    incident_id: int
    scheme: str
    policy_id: int
    status: str
    facts: dict[str, Any]
    approved_fen: Fen | None
    paid_fen: Fen | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    history: list[ClaimEventPublic] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def approved_yuan(self) -> YuanText | None:
        return format_yuan(self.approved_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def paid_yuan(self) -> YuanText | None:
        return format_yuan(self.paid_fen)


class IncidentReport(BaseModel):
    incident: IncidentPublic
    schemes: list[SchemeFinding]
    claims: list[ClaimPublic]


class ClaimAdvance(AmountsIn):
    """A claim's next step; approving and paying take the amount (``amount_fen``, or ``amount_yuan``)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"to": "approved", "amount_yuan": "12000.50", "note": "按医疗发票核定"}]}
    )

    to: ClaimStatus
    amount_fen: Fen | None = fen_field(max_yuan=MAX_LIMIT_YUAN, default=None)
    note: str | None = Field(default=None, max_length=500)


class Rate(BaseModel):
    total: int
    covered: int
    rate: float | None  # covered / total


class ClaimCount(BaseModel):
    scheme: str
    status: str
    count: int
    approved_fen: Fen
    paid_fen: Fen

    @computed_field  # type: ignore[prop-decorator]
    @property
    def approved_yuan(self) -> YuanText:
        return format_yuan(self.approved_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def paid_yuan(self) -> YuanText:
        return format_yuan(self.paid_fen)


class CoverStatistics(BaseModel):
    """The bureau's view of the three schemes in an area on a day."""

    area: str
    day: date
    providers: Rate  # active home-care providers serving the area, with valid home-care liability cover
    institutions: Rate  # institutions of the area with valid institution liability cover
    elders: Rate  # entitled elders of the area (a category applies) with their own accident cover
    claims: list[ClaimCount]
