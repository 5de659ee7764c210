"""Who is served and who serves: elders, providers, caregivers, the service catalogue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, event, true
from sqlmodel import Field, SQLModel

from backend.core.crypto import Sealed
from backend.core.geo import h3_cells
from backend.core.models import created_at_field, required_timestamp_field, timestamp_field
from backend.core.money import Fen


class ServiceType(SQLModel, table=True):
    __tablename__ = "service_type"

    code: str = Field(primary_key=True, max_length=32)
    name_zh: str = Field(max_length=32)
    name_en: str = Field(max_length=64)
    default_minutes: int = 60
    # Intimate care (bathing, toileting): an elder may ask for a caregiver of their own gender.
    personal_care: bool = False
    # How many caregivers serve together at the door (2 for bed bathing: one lifts, one washes).
    caregivers_needed: int = 1
    # What the government pays a provider for one order bought for an entitled elder.
    government_price_fen: Fen = Field(default=0, sa_type=BigInteger)
    # What proof each visit needs to be paid (backend.orders.models.ProofItem): arrival_photo, departure_photo,
    # confirmation. None required by default; a visit without it is still checked out, but not settled.
    proof_required: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


# The sealing and blind-index contexts of an elder's numbers (backend.core.crypto).
ELDER_ID_NUMBER, ELDER_PHONE = "elder.id_number", "elder.phone"


class Elder(SQLModel, table=True):
    __tablename__ = "elder"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    # Sealed at rest (AES-GCM, backend.core.crypto); found again by their keyed blind indexes.
    id_number: str = Field(sa_column=Column(Sealed(ELDER_ID_NUMBER), nullable=False))
    id_number_index: str = Field(max_length=32, unique=True)
    phone: str = Field(sa_column=Column(Sealed(ELDER_PHONE), nullable=False))  # E.164
    phone_index: str = Field(max_length=32, index=True)
    birth_date: date  # from the ID number: ages and age categories are counted without opening it
    community_id: int = Field(foreign_key="community.id", index=True)
    address: str = Field(max_length=255)
    lat: float
    lon: float
    gender: str = Field(max_length=8)  # from the resident ID number
    same_gender_care: bool = False  # personal care only by a caregiver of the elder's gender
    # Soft wishes the dispatcher weighs: a caregiver the elder asked for, the language they are at home in.
    preferred_caregiver_id: int | None = Field(
        default=None,  # caregiver → user_account → elder → caregiver: a cycle, so the key is added after the tables
        sa_column=Column(Integer, ForeignKey("caregiver.id", use_alter=True), nullable=True),
    )
    language: str | None = Field(default=None, max_length=16)  # mandarin | suzhounese
    # Her consent to the health system's FHIR export of her file, orders and visits (backend/fhir).
    share_with_health: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    created_at: datetime = created_at_field()


class Provider(SQLModel, table=True):
    __tablename__ = "provider"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    kind: str = Field(max_length=16)  # home_care | day_care | institution
    lat: float
    lon: float
    active: bool = True
    uscc: str | None = Field(default=None, max_length=18, unique=True)  # 统一社会信用代码 (GB 32100-2015)
    created_at: datetime = created_at_field()


class ProviderCommunity(SQLModel, table=True):
    """A community in a provider's service area."""

    __tablename__ = "provider_community"

    provider_id: int = Field(foreign_key="provider.id", primary_key=True)
    community_id: int = Field(foreign_key="community.id", primary_key=True, index=True)


class ProviderService(SQLModel, table=True):
    """A service type in a provider's catalogue."""

    __tablename__ = "provider_service"

    provider_id: int = Field(foreign_key="provider.id", primary_key=True)
    service_type: str = Field(foreign_key="service_type.code", primary_key=True, max_length=32)


class Caregiver(SQLModel, table=True):
    __tablename__ = "caregiver"

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", unique=True)
    name: str = Field(max_length=64)
    phone: str = Field(sa_column=Column(Sealed("caregiver.phone"), nullable=False))  # sealed at rest
    lat: float
    lon: float
    on_shift: bool = True
    absent_until: datetime | None = timestamp_field()  # called in sick: unavailable until then
    located_at: datetime | None = timestamp_field()  # when the phone last reported lat/lon (none: the home base)
    # Where they are, as H3 cells (kept in step with lat/lon on every write): the dispatcher's spatial index.
    h3_r8: str = Field(default="", max_length=16, index=True)
    h3_r6: str = Field(default="", max_length=16, index=True)
    gender: str | None = Field(default=None, max_length=8)
    languages: list[str] = Field(default_factory=lambda: ["mandarin"], sa_column=Column(JSON, nullable=False))
    # Her roster on special days (backend/calendars/rosters.py): a public holiday is off unless she works them; an
    # adjusted working day (调休上班) is worked, as the weekday it makes up, unless she keeps to her week.
    works_holidays: bool = False
    works_adjusted_workdays: bool = True
    created_at: datetime = created_at_field()


class CaregiverSkill(SQLModel, table=True):
    __tablename__ = "caregiver_skill"

    caregiver_id: int = Field(foreign_key="caregiver.id", primary_key=True)
    service_type: str = Field(foreign_key="service_type.code", primary_key=True, max_length=32, index=True)


class CaregiverAbsence(SQLModel, table=True):
    """A sick call or leave (请假): the caregiver was unavailable from ``starts_at`` until ``ends_at``.

    ``Caregiver.absent_until`` is what the dispatcher asks; these rows are its history, for her calendar. A report
    while she is already away moves the open absence's end; starting a shift early cuts it short.
    """

    __tablename__ = "caregiver_absence"
    __table_args__ = (Index("ix_caregiver_absence_caregiver_span", "caregiver_id", "starts_at", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True)
    caregiver_id: int = Field(foreign_key="caregiver.id")
    starts_at: datetime = required_timestamp_field()  # when it was reported
    ends_at: datetime = required_timestamp_field()
    reason: str | None = Field(default=None, max_length=200)  # her own words: shown whole only to her and her employer
    reported_by: str = Field(max_length=32)  # the reporter's role: caregiver, operator, provider_admin, admin
    created_at: datetime = created_at_field()


class BlockedCaregiver(SQLModel, table=True):
    """A caregiver an elder (or their family) asked never to be sent again."""

    __tablename__ = "blocked_caregiver"

    elder_id: int = Field(foreign_key="elder.id", primary_key=True)
    caregiver_id: int = Field(foreign_key="caregiver.id", primary_key=True)
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()


def placed(lat: float, lon: float) -> dict[str, Any]:
    """A caregiver's position and its H3 cells, for bulk inserts (which skip the model's own placing)."""
    fine, coarse = h3_cells(lat, lon)
    return {"lat": lat, "lon": lon, "h3_r8": fine, "h3_r6": coarse}


@event.listens_for(Caregiver, "before_insert")
@event.listens_for(Caregiver, "before_update")
def _place_caregiver(_mapper: object, _connection: object, caregiver: Caregiver) -> None:
    caregiver.h3_r8, caregiver.h3_r6 = h3_cells(caregiver.lat, caregiver.lon)
