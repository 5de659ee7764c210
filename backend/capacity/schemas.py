"""Payloads of the capacity API: institutions, beds, holds, admissions (docs/contract.md, "Institutions and beds",
"Holds and admissions")."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from backend.capacity.models import Benefit, OperatorKind
from backend.core.input_errors import InputError
from backend.core.money import AmountsIn, Fen, YuanText, fen_field, format_yuan
from backend.core.schemas import Body, Id, Location, PlaceIn

MAX_MONTHLY_FEE_YUAN = 1_000_000


class InstitutionCreate(AmountsIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "姑苏区颐养院",
                    "operator_kind": "public_private",
                    "community_id": 12,
                    "location": {"lat": 31.31, "lon": 120.62},
                    "licence_no": "苏民养32050800123",
                    "filing_no": "苏姑民养备2020001",
                    "provider_id": 4,
                    "monthly_fee_yuan": "4200.00",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=128)
    operator_kind: OperatorKind
    community_id: Id
    location: PlaceIn
    licence_no: str = Field(min_length=1, max_length=64)
    filing_no: str | None = Field(default=None, min_length=1, max_length=64, description="备案号, if filed")
    provider_id: Id | None = None  # whose provider_admin runs it
    monthly_fee_fen: Fen | None = fen_field(max_yuan=MAX_MONTHLY_FEE_YUAN, default=None)


class InstitutionPublic(BaseModel):
    id: int
    name: str
    operator_kind: OperatorKind
    community_id: int
    provider_id: int | None
    licence_no: str
    filing_no: str | None = None
    location: Location
    monthly_fee_fen: Fen | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def monthly_fee_yuan(self) -> YuanText | None:
        return format_yuan(self.monthly_fee_fen)


class BedKindCreate(Body):
    """A kind of bed the bureau counts (e.g. ``hospice`` 安宁疗护床位)."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str = Field(min_length=1, max_length=32)
    name_en: str = Field(min_length=1, max_length=64)
    nursing: bool = False  # counts toward the nursing-type share


class BedsCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"room": "3-201", "kind": "nursing", "count": 4}]})

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


class InstitutionCounts(Counts):
    """An institution of an area with its live bed counts."""

    institution: InstitutionPublic


class FreeBeds(BaseModel):
    """An institution with free beds of the kind asked for, and how far it is."""

    institution_id: int
    name: str
    operator_kind: OperatorKind
    location: Location
    distance_m: float
    free: int
    monthly_fee_fen: Fen | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def monthly_fee_yuan(self) -> YuanText | None:
        return format_yuan(self.monthly_fee_fen)


class HoldCreate(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"elder_id": 7, "institution_id": 3, "kind": "nursing", "reason": "术后需长期护理"}]
        }
    )

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


class ReasonBody(Body):
    reason: str | None = Field(default=None, max_length=255)


class TransferBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"bed_id": 118, "reason": "转入护理型床位"}]})

    bed_id: Id
    reason: str | None = Field(default=None, max_length=200)


class AdmissionPublic(BaseModel):
    id: int
    bed_id: int
    elder_id: int
    institution_id: int
    admitted_at: datetime
    discharged_at: datetime | None
    liability_policy_id: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cover_warning(self) -> str | None:
        """Said when the institution had no valid liability cover on the day of admission."""
        return None if self.liability_policy_id else "该机构入住当日无有效综合责任保险，已报告民政部门"


class WaitingCreate(Body):
    """Join a waiting list: an institution's (``institution_id``) or a whole district's (``district_id``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"elder_id": 7, "kind": "nursing", "district_id": 2, "benefit": "low_income", "disability_level": 3}
            ]
        }
    )

    elder_id: Id
    kind: str = Field(min_length=1, max_length=32)
    institution_id: Id | None = None
    district_id: Id | None = None
    benefit: Benefit = Benefit.none
    disability_level: int = Field(default=0, ge=0, le=4)
    note: str | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _one_list(self) -> WaitingCreate:
        if (self.institution_id is None) == (self.district_id is None):
            raise InputError("机构与区县须且只须给出一个", "give exactly one of institution_id and district_id")
        return self


class WaitingPublic(BaseModel):
    id: int
    elder_id: int
    list_key: str
    kind: str
    benefit: Benefit
    disability_level: int
    priority: int
    status: str
    hold_id: int | None
    joined_at: datetime
    position: int | None = None  # 1 = next to be offered a bed (waiting entries only)


class AreaCapacity(Counts):
    """Beds of an area (a community, street, district, or the city), with the shares the bureau reports."""

    area: str  # "city", "district:3", "street:12", "community:88"
    institutions: int = 0
    nursing_share: float | None = None  # nursing-type beds (护理型 and dementia care) / all
    social_share: float | None = None  # beds run by social operators / all
    occupancy: float | None = None  # occupied / in service


class DayCounts(Counts):
    """An area's beds at the end of one day."""

    day: date
    occupancy: float | None = None
