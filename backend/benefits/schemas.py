"""Payloads of the entitlement API: categories, an elder's memberships, quota left, prices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from backend.core.input_errors import InputError
from backend.core.money import AmountsIn, Fen, YuanText, fen_field, format_yuan
from backend.core.schemas import Body, ServiceDay

MONTH_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"  # YYYY-MM, 2000-2099


class CategoryCreate(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "dementia",
                    "name_zh": "认知障碍",
                    "name_en": "Dementia",
                    "orders_per_month": 8,
                    "min_age": None,
                }
            ]
        }
    )

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str = Field(min_length=1, max_length=32)
    name_en: str = Field(min_length=1, max_length=64)
    orders_per_month: int = Field(ge=0, le=200)
    min_age: int | None = Field(default=None, ge=60, le=120)


class CategoryPublic(CategoryCreate):
    model_config = ConfigDict(json_schema_extra=None, extra="ignore")  # an answer, not a body

    active: bool


class CategoryUpdate(Body):
    """A new quota (e.g. for a new year), a new age, or a category retired (``active: false``)."""

    orders_per_month: int | None = Field(default=None, ge=0, le=200)
    min_age: int | None = Field(default=None, ge=60, le=120)
    active: bool | None = None


class BenefitCreate(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"category": "low_income", "valid_from": "2026-12-01", "evidence": "苏低保字 0123"}]
        }
    )

    category: str = Field(min_length=1, max_length=32)
    valid_from: ServiceDay
    valid_to: ServiceDay | None = None
    evidence: str | None = Field(default=None, max_length=128)

    @model_validator(mode="after")
    def _ordered(self) -> BenefitCreate:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise InputError("有效期止日不能早于起日", "valid_to must not be before valid_from")
        return self


class BenefitEnd(Body):
    valid_to: ServiceDay
    reason: str = Field(min_length=1, max_length=255)


class BenefitPublic(BaseModel):
    id: int
    elder_id: int
    category: str
    valid_from: date
    valid_to: date | None
    evidence: str | None
    by: str
    created_at: datetime
    end_reason: str | None


class Applying(BaseModel):
    """A category that applies to the elder in the month, and why."""

    code: str
    name_zh: str
    orders_per_month: int
    source: Literal["recorded", "age"]


class Prices(BaseModel):
    service_type: str
    government_fen: Fen  # what the government pays the provider when the order is within quota
    self_pay_min_fen: Fen | None  # the cheapest and dearest provider serving the elder's community
    self_pay_max_fen: Fen | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def government_yuan(self) -> YuanText:
        return format_yuan(self.government_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def self_pay_min_yuan(self) -> YuanText | None:
        return format_yuan(self.self_pay_min_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def self_pay_max_yuan(self) -> YuanText | None:
        return format_yuan(self.self_pay_max_fen)


class Entitlement(BaseModel):
    """What the operator reads to the elder before placing an order."""

    elder_id: int
    month: str
    categories: list[Applying]
    quota: int  # the highest quota of the categories that apply (they do not add up)
    used: int  # government-paid orders of the month, not cancelled
    remaining: int
    next_order_paid_by: Literal["government", "self"]
    prices: Prices | None = None


MAX_PRICE_YUAN = 100_000


class RateSet(AmountsIn):
    """A provider's self-pay price for a service: ``price_fen``, or ``price_yuan`` with at most two decimals."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"service_type": "meal", "price_yuan": "22.50"}]})

    service_type: str = Field(min_length=1, max_length=32)
    price_fen: Fen = fen_field(max_yuan=MAX_PRICE_YUAN)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def price_yuan(self) -> YuanText:
        return format_yuan(self.price_fen)


class GovernmentPrice(AmountsIn):
    model_config = ConfigDict(json_schema_extra={"examples": [{"government_price_yuan": "15.00"}]})

    government_price_fen: Fen = fen_field(max_yuan=MAX_PRICE_YUAN)


class MenuItem(BaseModel):
    code: str
    name: str  # Chinese, or English with Accept-Language: en
    free: bool  # her next order of it would be government-paid (within the month's quota)
    price_fen: Fen | None  # self-pay: the cheapest provider serving her community (null: none has set a price)
    minutes: int  # how long the visit usually takes
    caregivers_needed: int = 1
    available: bool = True  # some active provider serving her community offers it

    @computed_field  # type: ignore[prop-decorator]
    @property
    def price_yuan(self) -> YuanText | None:
        return format_yuan(self.price_fen)


class Menu(BaseModel):
    """The elder's app's order screen: quota left this month, who would pay, and every service she may order."""

    elder_id: int
    month: str
    quota: int
    used: int
    remaining: int
    next_order_paid_by: Literal["government", "self"]
    items: list[MenuItem]
