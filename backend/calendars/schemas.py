"""Roster payloads."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, model_validator


class ShiftIn(BaseModel):
    """A weekly working period, local time: weekday 1 (Monday) … 7 (Sunday), start before end."""

    weekday: int = Field(ge=1, le=7)
    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _order(self) -> ShiftIn:
        if self.end <= self.start:
            raise ValueError("a shift ends after it starts (overnight shifts are two entries)")
        return self


class ShiftPublic(BaseModel):
    weekday: int
    start: str
    end: str
