"""Accounts: sign-in, creation, the first admin."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.models import Community, District, Street
from backend.core.config import Settings
from backend.core.errors import Conflict, Invalid, Unauthorized
from backend.core.lookups import insert_unique, referenced
from backend.core.security import hash_password, verify_password
from backend.registry.models import Caregiver, Elder, Provider
from backend.users.models import Role, User
from backend.users.schemas import UserCreate, UserPublic

log = logging.getLogger(__name__)


async def authenticate(*, session: AsyncSession, username: str, password: str) -> User:
    """The active user with these credentials, or 401."""
    user = (await session.execute(select(User).where(col(User.username) == username))).scalar_one_or_none()
    # argon2 is deliberately slow: run it off the event loop so sockets keep flowing.
    matches = user is not None and await anyio.to_thread.run_sync(verify_password, password, user.password_hash)
    if user is None or not user.is_active or not matches:
        raise Unauthorized("用户名或密码错误", code="bad_credentials", message_en="Wrong username or password")
    return user


async def add_user(*, session: AsyncSession, username: str, password: str, role: Role, **scope: Any) -> User:
    """Store a new account; 409 when the username is taken."""
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    user = User(username=username, password_hash=password_hash, role=role.value, **scope)
    taken = Conflict(f"用户名已存在：{username}", code="username_taken", message_en="Username taken")
    return await insert_unique(session, user, taken)


async def create_user(*, session: AsyncSession, data: UserCreate) -> User:
    """Create an account with the scope its role needs (422 when a scope is missing or unknown)."""
    if data.role == Role.caregiver:
        raise Invalid(
            "护理员账号请通过 POST /api/v1/caregivers 创建",
            code="use_caregiver_endpoint",
            message_en="Create caregiver accounts with POST /api/v1/caregivers",
        )
    if data.community_id is not None:
        await referenced(session, Community, data.community_id, what="社区", what_en="community")
    if data.street_id is not None:
        await referenced(session, Street, data.street_id, what="街道", what_en="street")
    if data.district_id is not None:
        await referenced(session, District, data.district_id, what="区", what_en="district")
    if data.provider_id is not None:
        await referenced(session, Provider, data.provider_id, what="服务组织", what_en="provider")
    if data.elder_id is not None:
        await referenced(session, Elder, data.elder_id, what="老人", what_en="elder")
    needs = {
        Role.community_staff: data.community_id or data.street_id or data.district_id,
        Role.provider_admin: data.provider_id,
        Role.elder: data.elder_id,
    }
    if data.role in needs and not needs[data.role]:
        raise Invalid(
            "该角色需要指定管辖范围",
            code="scope_required",
            message_en=f"Role {data.role} needs community_id/street_id/district_id, provider_id or elder_id",
        )
    return await add_user(
        session=session,
        username=data.username,
        password=data.password,
        role=data.role,
        display_name=data.display_name,
        community_id=data.community_id,
        street_id=data.street_id,
        district_id=data.district_id,
        provider_id=data.provider_id,
        elder_id=data.elder_id,
    )


async def ensure_admin(*, session: AsyncSession, settings: Settings) -> str | None:
    """Create user ``admin`` on first start; returns the password when it had to be generated."""
    exists = (await session.execute(select(User.id).where(col(User.username) == "admin"))).first()
    if exists:
        return None
    password, generated = settings.admin_password, None
    if password is None:
        password = "admin" if settings.embedded and settings.is_sqlite else secrets.token_urlsafe(12)
        generated = password if password != "admin" else None
    session.add(
        User(username="admin", password_hash=hash_password(password), role=Role.admin.value, display_name="管理员")
    )
    await session.flush()
    if generated:
        log.warning("created user admin with the generated password %s (set ELDERCARE_ADMIN_PASSWORD)", generated)
    return generated


async def to_public(session: AsyncSession, user: User) -> UserPublic:
    """The account as shown to its owner or an admin."""
    caregiver_id = None
    if user.role == Role.caregiver:
        caregiver_id = (await session.execute(select(Caregiver.id).where(col(Caregiver.user_id) == user.id))).scalar()
    return UserPublic.model_validate(user, from_attributes=True).model_copy(update={"caregiver_id": caregiver_id})
