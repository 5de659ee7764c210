"""Follow-up payloads: a callback or check as the routes show it, and the outcome that closes it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.core.schemas import Body


class FollowUpPublic(BaseModel):
    id: int
    kind: str
    elder_id: int
    community_id: int
    device_id: int | None
    request_id: int | None
    status: str
    reason: str
    due_at: datetime
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    outcome: str | None


class Outcome(Body):
    outcome: str = Field(min_length=1, max_length=500)
