"""What the record of messages sent shows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class NotificationPublic(BaseModel):
    id: int
    family_member_id: int | None
    channel: str
    template: str
    language: str
    body: str
    phone: str | None
    request_id: int | None
    status: str
    attempts: int
    sent_at: datetime | None
    error: str | None
    created_at: datetime
