"""Payloads of the device API: registration and alarms (docs/contract.md, "One-key devices")."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.core.schemas import Body, Id, ServiceTime
from backend.devices.models import Button


class DeviceCreate(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"elder_id": 7, "serial": "YJT-2026-000187", "model": "安康通 AK-3", "sim": "1440012345678"}]
        }
    )

    elder_id: Id
    serial: str = Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    model: str = Field(min_length=1, max_length=64)
    sim: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=255)


class DevicePublic(BaseModel):
    id: int
    elder_id: int
    serial: str
    model: str
    sim: str | None
    address: str | None
    active: bool
    installed_at: datetime
    last_seen_at: datetime | None
    dormant_since: datetime | None


class DeviceRegistered(DevicePublic):
    """The registration answer: the secret is shown this once (the platform keeps only its hash)."""

    secret: str


class AlarmIn(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"alarm_id": "A-000187-20261129-0001", "button": "red", "at": "2026-11-29T10:24:05+08:00"}]
        }
    )

    alarm_id: str = Field(min_length=1, max_length=64)
    button: Button
    at: ServiceTime


class AlarmResult(BaseModel):
    alarm_id: str
    button: Button
    duplicate: bool  # the same alarm_id was received before: nothing new happened
    request_id: int | None = None  # the emergency order a red alarm opened (or joined)
    absorbed: bool = False  # red while the elder's emergency was still open: joined to it, no new order
    follow_up_id: int | None = None  # the operator's callback a green alarm asked for


class DormantShare(BaseModel):
    district_id: int
    district_name: str
    devices: int
    dormant: int
    share: float | None
