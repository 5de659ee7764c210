"""Payload pieces shared by several domains."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Location(BaseModel):
    """A WGS-84 point, as phones report it."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
