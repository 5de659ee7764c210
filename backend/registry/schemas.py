"""Registry payloads: elders, providers, caregivers, service types."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from backend.core.money import Fen, YuanText, format_yuan
from backend.core.schemas import Body, Id, Location, PlaceIn, Uscc
from backend.policies.schemas import CoverPublic

ProviderKind = Literal["home_care", "day_care", "institution"]
Gender = Literal["female", "male"]
# Languages an elder is at home in and a caregiver speaks: 普通话, 苏州话.
Language = Literal["mandarin", "suzhounese"]


class ServiceTypePublic(BaseModel):
    code: str
    name_zh: str
    name_en: str
    default_minutes: int
    personal_care: bool = False
    caregivers_needed: int = 1  # 2: two caregivers serve together (the order waits until both accepted)
    government_price_fen: Fen = 0  # paid to the provider for an order within an elder's quota
    proof_required: list[str] = Field(default_factory=list)  # arrival_photo, departure_photo, confirmation

    @computed_field  # type: ignore[prop-decorator]
    @property
    def government_price_yuan(self) -> YuanText:
        return format_yuan(self.government_price_fen)


class ProviderCreate(Body):
    name: str = Field(min_length=1, max_length=128)
    kind: ProviderKind
    community_ids: list[Id] = Field(min_length=1, max_length=5000)
    service_types: list[str] = Field(min_length=1)
    location: PlaceIn
    uscc: Uscc | None = None


class ProviderPublic(BaseModel):
    id: int
    name: str
    kind: ProviderKind
    community_ids: list[int]
    service_types: list[str]
    location: Location
    active: bool
    uscc: str | None = None


class CaregiverCreate(Body):
    provider_id: Id
    name: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=3, max_length=32)
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=128)
    skills: list[str] = Field(default_factory=list)
    location: PlaceIn
    on_shift: bool = True
    gender: Gender | None = None
    languages: list[Language] = Field(default=["mandarin"], min_length=1, max_length=4)


class CaregiverUpdate(Body):
    """Her employer's change to a caregiver's record; fields left out stay as they are (null is refused). Skills are
    service-type codes, as when she was registered; the dispatcher's next decision sees them."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str | None = Field(default=None, min_length=3, max_length=32)
    skills: list[str] | None = Field(default=None, max_length=64, description="服务技能：服务项目代码")
    languages: list[Language] | None = Field(default=None, min_length=1, max_length=4, description="普通话 / 苏州话")


class CaregiverPublic(BaseModel):
    id: int
    provider_id: int
    user_id: int
    name: str
    phone: str  # whole or masked, by backend.access.personal.caregiver_disclosure
    skills: list[str]
    location: Location | None  # none when the viewer may not see where they are
    on_shift: bool
    gender: Gender | None
    languages: list[str]


class ShiftUpdate(Body):
    on_shift: bool
    location: PlaceIn | None = None


class ElderCreate(Body):
    name: str = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=1, max_length=32)
    phone: str = Field(min_length=3, max_length=32)
    community_id: Id
    address: str = Field(min_length=1, max_length=255)
    location: PlaceIn
    same_gender_care: bool = Field(default=False, description="助浴等贴身服务只派同性别护理员")
    preferred_caregiver_id: Id | None = Field(default=None, description="老人指定的护理员（优先派单）")
    language: Language | None = Field(default=None, description="老人习惯的语言（普通话 / 苏州话）")


class ElderPreferences(Body):
    """What the elder or family asked for; fields left out stay as they are, null clears a wish."""

    same_gender_care: bool | None = None
    preferred_caregiver_id: Id | None = None
    language: Language | None = None
    share_with_health: bool | None = Field(default=None, description="同意向卫健系统共享档案与服务记录（FHIR）")


class ElderPublic(BaseModel):
    id: int
    name: str
    id_number: str
    phone: str
    community_id: int
    address: str
    location: Location
    birth_date: str | None = None
    age: int | None = None
    gender: Gender
    same_gender_care: bool
    preferred_caregiver_id: int | None
    language: Language | None
    share_with_health: bool = True
    created_at: datetime
    # The elder's own accident cover (老年人意外伤害保险) valid today, on the hotline's screen.
    accident_cover: CoverPublic | None = None


class BlockCreate(Body):
    caregiver_id: Id
    reason: str | None = Field(default=None, max_length=200)


class BlockPublic(BaseModel):
    elder_id: int
    caregiver_id: int
    reason: str | None
    created_at: datetime
