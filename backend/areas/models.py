"""The administrative tree: district (区/县级市) → street (街道/镇) → community (社区/村)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class District(SQLModel, table=True):
    __tablename__ = "district"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True)
    name: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # district | county_city
    lat: float
    lon: float


class Street(SQLModel, table=True):
    __tablename__ = "street"

    id: int | None = Field(default=None, primary_key=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    code: str = Field(max_length=12, unique=True)
    name: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # street | town
    lat: float
    lon: float


class Community(SQLModel, table=True):
    __tablename__ = "community"

    id: int | None = Field(default=None, primary_key=True)
    street_id: int = Field(foreign_key="street.id", index=True)
    district_id: int = Field(foreign_key="district.id", index=True)
    code: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # community | village
    lat: float
    lon: float
