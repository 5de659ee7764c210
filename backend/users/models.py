"""Accounts and roles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from backend.core.models import created_at_field


class Role(StrEnum):
    admin = "admin"
    operator = "operator"
    community_staff = "community_staff"
    provider_admin = "provider_admin"
    caregiver = "caregiver"
    elder = "elder"
    family = "family"  # an elder's family member, seeing what the elder's consent allows


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=32)
    display_name: str | None = Field(default=None, max_length=64)
    # Scope: staff of a community, or of a whole street or district.
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    street_id: int | None = Field(default=None, foreign_key="street.id")
    district_id: int | None = Field(default=None, foreign_key="district.id")
    provider_id: int | None = Field(default=None, foreign_key="provider.id", index=True)
    elder_id: int | None = Field(default=None, foreign_key="elder.id", index=True)
    is_active: bool = True
    # Every token carries the version it was issued under: sign-out, a new password, deactivation or a change
    # of role or scope raises it, which ends every token (and socket) issued before.
    token_version: int = 0
    created_at: datetime = created_at_field()

    @property
    def actor(self) -> str:
        """How every history and record names this person: role and account id (``caregiver:12``), one id for
        one person across order histories, claims, corrections and the audit trail."""
        return f"{self.role}:{self.id}"
