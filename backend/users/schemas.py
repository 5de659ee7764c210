"""Account payloads."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.core.schemas import Body, Id
from backend.users.models import Role


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class AccountScope(Body):
    """What an account answers for: a community, street or district (staff), a provider, an elder."""

    display_name: str | None = Field(default=None, max_length=64)
    community_id: Id | None = None
    street_id: Id | None = None
    district_id: Id | None = None
    provider_id: Id | None = None
    elder_id: Id | None = None


class UserCreate(AccountScope):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=128)
    role: Role


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
    is_active: bool = True
    caregiver_id: int | None = None


class UserUpdate(AccountScope):
    """An admin's change to an account: its role and scope, whether it may sign in, a new password. Any change
    of these ends the account's current sign-ins (and sockets)."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=128)


class PasswordChange(Body):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)
