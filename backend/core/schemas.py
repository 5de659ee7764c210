"""Payload pieces shared by several domains."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from backend.core.geo import Crs, to_wgs84
from backend.core.i18n import LOCAL_TZ
from backend.core.input_errors import InputError

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]

# Days and times the platform deals in: a year-1 visit or a year-9999 policy is a typo, refused as 422.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _service_day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InputError(f"应在 {FIRST_DAY} 至 {LAST_DAY} 之间", f"must be between {FIRST_DAY} and {LAST_DAY}")
    return value


def _service_time(value: datetime) -> datetime:
    """In range, and in UTC: a time given as ``+08:00`` is answered back as every other time is, with ``Z``; one
    given without a zone is Suzhou's (``backend.core.db.local_aware``)."""
    value = _utc(value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ))
    _service_day(value.date())
    return value


def _utc(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


ServiceDay = Annotated[date, AfterValidator(_service_day)]
ServiceTime = Annotated[datetime, AfterValidator(_service_time)]
# A time in an answer that was worked out in Suzhou time (the end of today, a planned arrival): answered in UTC.
UtcTime = Annotated[datetime, AfterValidator(_utc)]


class Body(BaseModel):
    """A request body: a field the platform does not know is refused (422 ``extra_forbidden``), not ignored, so a
    misspelt ``same_gender_care`` or a field of a newer client never passes for a change that was made."""

    model_config = ConfigDict(extra="forbid")


class Location(BaseModel):
    """A WGS-84 point, as phones report it."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


def _uscc(value: str) -> str:
    try:
        return str(uscc.validate(value))
    except ValidationError as exc:
        raise InputError(
            "统一社会信用代码无效（应为 18 位，末位为校验码）",
            "not a valid unified social credit code (18 characters, the last a check character)",
        ) from exc


# A unified social credit code (统一社会信用代码, GB 32100-2015), its check character verified; stored compact.
Uscc = Annotated[
    str,
    Field(min_length=18, max_length=24, description="统一社会信用代码 (18 characters with its check character)"),
    AfterValidator(_uscc),
]

CRS_DESCRIPTION = (
    "the coordinate system of lat/lon: wgs84 (GPS, the browser), gcj02 (Amap, Tencent), bd09 (Baidu); stored as WGS-84"
)


class PlaceIn(Location):
    """A point as a client sends it, in any of China's map datums; WGS-84 once read (``crs`` is then ``wgs84``)."""

    model_config = ConfigDict(extra="forbid")

    crs: Crs = Field(default="wgs84", description=CRS_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _a_stored_point(cls, data: object) -> object:
        # A point the platform already holds (seed data, the services) is WGS-84.
        return data.model_dump() if isinstance(data, Location) and not isinstance(data, PlaceIn) else data

    @model_validator(mode="after")
    def _as_wgs84(self) -> PlaceIn:
        if self.crs != "wgs84":
            self.lat, self.lon = to_wgs84(self.lat, self.lon, self.crs)
            self.crs = "wgs84"
        return self
