"""Complaint payloads: the text filed, answered or resolved, and the complaint as the routes show it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.core.schemas import Body


class Text(Body):
    text: str = Field(min_length=1, max_length=1000)


class ComplaintPublic(BaseModel):
    id: int
    request_id: int
    elder_id: int
    provider_id: int
    source: str
    text: str
    status: str
    by: str
    due_at: datetime
    created_at: datetime
    answer: str | None
    answered_at: datetime | None
    escalated_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
