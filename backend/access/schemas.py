"""What the audit trail shows: everything to admins; to an elder, who read or changed her file and when."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor_user_id: int | None
    actor_username: str
    actor_role: str
    action: str
    subject: str | None
    fields: list[str]
    outcome: str
    client: str
    request_id: str
    detail: str | None


class AccessLogEntry(BaseModel):
    """One access to an elder's file, as she may see it: when, who (role and name), what."""

    at: datetime
    actor_role: str
    actor_name: str
    action: str
    fields: list[str]
