"""Account payloads."""

from __future__ import annotations

from pydantic import BaseModel, Field

from backend.core.schemas import Id
from backend.users.models import Role


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=128)
    role: Role
    display_name: str | None = Field(default=None, max_length=64)
    community_id: Id | None = None
    street_id: Id | None = None
    district_id: Id | None = None
    provider_id: Id | None = None
    elder_id: Id | None = None


class UserPublic(BaseModel):
    id: int
    username: str
    role: Role
    display_name: str | None
    community_id: int | None
    street_id: int | None
    district_id: int | None
    provider_id: int | None
    elder_id: int | None
    caregiver_id: int | None = None
