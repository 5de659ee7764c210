"""Administrative tree payloads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from backend.core.schemas import Body, Id, PlaceIn


class AreaPublic(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    lat: float
    lon: float


class StreetPublic(AreaPublic):
    district_id: int


class CommunityPublic(AreaPublic):
    street_id: int
    district_id: int


class AreaCreate(Body):
    code: str = Field(min_length=2, max_length=12, pattern=r"^[0-9A-Za-z-]+$")
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["district", "county_city"] = "district"
    location: PlaceIn


class StreetCreate(Body):
    district_id: Id
    code: str = Field(min_length=2, max_length=12, pattern=r"^[0-9A-Za-z-]+$")
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["street", "town"] = "street"
    location: PlaceIn


class CommunityCreate(Body):
    street_id: Id
    code: str = Field(min_length=2, max_length=16, pattern=r"^[0-9A-Za-z-]+$")
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["community", "village"] = "community"
    location: PlaceIn
