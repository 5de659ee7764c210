"""Notifications: what was sent to whom, by which channel, and whether it arrived.

In-app messages go out as events on the elder's channel at once. SMS and voice messages are queued here
and sent by a worker sweep through a pluggable sender, retried with a growing pause until they go or
run out of attempts. Every row is the record of one message to one person.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from backend.core.crypto import Sealed
from backend.core.models import created_at_field, partial_index, timestamp_field


class Channel(StrEnum):
    in_app = "in_app"
    sms = "sms"
    voice = "voice"


class SendStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (partial_index("ix_notification_pending_due", "next_attempt_at", where="status = 'pending'"),)

    id: int | None = Field(default=None, primary_key=True)
    elder_id: int = Field(foreign_key="elder.id", index=True)  # whom it is about
    family_member_id: int | None = Field(default=None, foreign_key="family_member.id")
    user_id: int | None = Field(default=None, foreign_key="user_account.id")  # the recipient's account, if any
    phone: str | None = Field(default=None, sa_column=Column(Sealed("notification.phone"), nullable=True))
    channel: str = Field(max_length=8)
    template: str = Field(max_length=32)
    language: str = Field(max_length=8)
    body: str = Field(max_length=500)
    params: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # the template's fields
    request_id: int | None = Field(default=None, foreign_key="service_request.id")
    status: str = Field(default=SendStatus.pending, max_length=8)
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp_field()
    sent_at: datetime | None = timestamp_field()
    error: str | None = Field(default=None, max_length=255)
    created_at: datetime = created_at_field()
