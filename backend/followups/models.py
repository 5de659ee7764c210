"""Follow-ups (跟进/回访): work for operators and community staff that is not a visit by a caregiver.

A green button press asks an operator to call the elder back; a dormant device asks the community to
check it is plugged in and reachable. Each has a deadline and an outcome, and at most one is open per
device and kind, by a unique key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field, partial_index, required_timestamp_field, timestamp_field


class FollowUpKind(StrEnum):
    help_call = "help_call"  # green button: call the elder back and arrange what they need
    dormant_device = "dormant_device"  # no heartbeat for too long: visit, check the device
    satisfaction_call = "satisfaction_call"  # 回访: call the elder after a visit, record their satisfaction


class FollowUpStatus(StrEnum):
    open = "open"
    done = "done"


class FollowUp(SQLModel, table=True):
    __tablename__ = "follow_up"
    __table_args__ = (
        partial_index("uq_follow_up_open_device", "device_id", "kind", where="status = 'open'", unique=True),
        partial_index("uq_follow_up_open_request", "request_id", "kind", where="status = 'open'", unique=True),
        partial_index("ix_follow_up_open_due", "community_id", "due_at", where="status = 'open'"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    elder_id: int = Field(foreign_key="elder.id", index=True)
    community_id: int = Field(foreign_key="community.id")
    device_id: int | None = Field(default=None, foreign_key="device.id")
    request_id: int | None = Field(default=None, foreign_key="service_request.id")
    status: str = Field(default=FollowUpStatus.open, max_length=16)
    reason: str = Field(max_length=255)
    due_at: datetime = required_timestamp_field()
    created_at: datetime = created_at_field()
    done_at: datetime | None = timestamp_field()
    done_by: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=500)
