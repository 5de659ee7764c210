"""Payload pieces shared by several domains."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, Field

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class Location(BaseModel):
    """A WGS-84 point, as phones report it."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
