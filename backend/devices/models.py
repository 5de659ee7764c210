"""One-key devices (一键通) in elders' homes, and the alarms they send.

A device authenticates with its serial and a secret shown once at registration (only a hash is kept).
Each alarm carries the device's own id for it: the same alarm sent twice (a retry over a flaky line)
is one row, by a unique key, so it opens at most one order.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.core.crypto import Sealed
from backend.core.models import created_at_field, required_timestamp_field, timestamp_field


class Button(StrEnum):
    red = "red"  # emergency
    green = "green"  # help wanted: an operator calls back
    test = "test"  # a test call or heartbeat: the device is alive


class Device(SQLModel, table=True):
    __tablename__ = "device"

    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    serial: str = Field(max_length=64, unique=True)
    model: str = Field(max_length=64)
    # The phone line or SIM number, sealed at rest.
    sim: str | None = Field(default=None, sa_column=Column(Sealed("device.sim"), nullable=True))
    address: str | None = Field(default=None, max_length=255)  # where it is installed, if not the elder's address
    secret_hash: str = Field(max_length=128)
    active: bool = True
    installed_at: datetime = created_at_field()
    last_seen_at: datetime | None = timestamp_field(index=True)  # any alarm, test call or heartbeat
    dormant_since: datetime | None = timestamp_field()  # set when a dormant-device follow-up was opened


class DeviceAlarm(SQLModel, table=True):
    __tablename__ = "device_alarm"
    __table_args__ = (UniqueConstraint("device_id", "alarm_id", name="uq_device_alarm_once"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    alarm_id: str = Field(max_length=64)
    button: str = Field(max_length=8)
    at: datetime = required_timestamp_field()  # the device's clock
    received_at: datetime = created_at_field()
    request_id: int | None = Field(default=None, foreign_key="service_request.id")
    # A red press while the elder's emergency is still open joins it (recorded, told to the operator).
    absorbed: bool = False
