"""One row per access to a person's data, or per refusal. Append-only: PostgreSQL refuses updates and deletes
(a trigger, see the migration), but for the retention sweep's deletes of rows past the retention period."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field


class Outcome(StrEnum):
    ok = "ok"  # read or changed
    refused = "refused"  # a permission refusal
    failed = "failed"  # a failed sign-in


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_subject_at", "subject", "at"),
        Index("ix_audit_event_actor_at", "actor_user_id", "at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    at: datetime = created_at_field()
    # Who: the account as it was then (an account may later be renamed or deactivated).
    actor_user_id: int | None = None
    actor_username: str = Field(default="", max_length=64)
    actor_role: str = Field(default="", max_length=32)
    action: str = Field(max_length=48, index=True)  # e.g. elder.read, elder.update, auth.sign_in_failed
    subject: str | None = Field(default=None, max_length=48)  # e.g. elder:12
    fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    outcome: str = Field(default=Outcome.ok.value, max_length=16)
    client: str = Field(default="", max_length=64)
    request_id: str = Field(default="", max_length=64)
    detail: str | None = Field(default=None, max_length=255)  # masked: never a phone or ID number in clear
