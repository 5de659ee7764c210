"""Accounts: sign-in, creation, the first admin."""

from __future__ import annotations

import functools
import logging
import secrets
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.changes import access_changed
from backend.access.scope import caregiver_of
from backend.areas.models import Community, District, Street
from backend.audit import service as audit
from backend.audit.models import Outcome
from backend.core.config import WELL_KNOWN_SECRETS, Settings
from backend.core.context import current
from backend.core.errors import Conflict, Invalid, TooManyRequests, Unauthorized
from backend.core.lookups import get_or_404, insert_unique, referenced, referenced_by
from backend.core.runtime import Runtime
from backend.core.security import hash_password, verify_password
from backend.users.models import Role, User
from backend.users.schemas import PasswordChange, UserCreate, UserPublic, UserUpdate

log = logging.getLogger(__name__)


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown usernames against, so they take as long to refuse as wrong passwords."""
    return hash_password(secrets.token_urlsafe(16))


async def sign_in(*, session: AsyncSession, runtime: Runtime, username: str, password: str) -> User:
    """The active user with these credentials; 401 otherwise, 429 after too many failures.

    Failures are counted per account and per client address (``login_limit_per_*``); once a limit is reached
    every attempt is refused, the right password included, until the window moves on. Unknown usernames are
    checked against a dummy hash (no timing difference), every failure is in the audit trail, and production
    refuses well-known passwords (the demo's among them) even when they match.
    """
    settings = runtime.settings
    context = current()
    address = context.client if context else ""
    rules = [
        (settings.login_limit_per_account, f"login:account:{username.strip().lower()[:64]}"),
        (settings.login_limit_per_address, f"login:address:{address}"),
    ]
    try:
        await runtime.throttle.check(rules)
    except TooManyRequests:
        await audit.record_apart(
            runtime, action="auth.sign_in_throttled", outcome=Outcome.refused, detail=f"username={username[:64]}"
        )
        raise
    user = (await session.execute(select(User).where(col(User.username) == username))).scalar_one_or_none()
    # argon2 is deliberately slow: run it off the event loop so sockets keep flowing.
    stored = user.password_hash if user is not None else _dummy_hash()
    matches = await anyio.to_thread.run_sync(verify_password, password, stored)
    failure = None
    if user is None:
        failure = "unknown_user"
    elif not matches:
        failure = "wrong_password"
    elif not user.is_active:
        failure = "inactive_account"
    elif settings.production and password in WELL_KNOWN_SECRETS:
        failure = "well_known_password"
    if failure is not None:
        await runtime.throttle.fail(rules)
        await audit.record_apart(
            runtime,
            action="auth.sign_in_failed",
            subjects=[f"user:{user.id}" if user is not None else None],
            outcome=Outcome.failed,
            detail=f"username={username[:64]} reason={failure}",
        )
        raise Unauthorized("用户名或密码错误", code="bad_credentials", message_en="Wrong username or password")
    assert user is not None
    await runtime.throttle.clear(*rules[0])
    if context is not None:
        context.sign_in(user_id=user.id, username=user.username, role=user.role)
    await audit.record(session, action="auth.sign_in", subjects=[f"user:{user.id}"])
    return user


async def add_user(*, session: AsyncSession, username: str, password: str, role: Role, **scope: Any) -> User:
    """Store a new account; 409 when the username is taken."""
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    user = User(username=username, password_hash=password_hash, role=role.value, **scope)
    taken = Conflict(f"用户名已存在：{username}", code="username_taken", message_en="Username taken")
    return await insert_unique(session, user, taken)


def refuse_well_known(settings: Settings, password: str) -> None:
    """422 ``weak_password`` in production for a password anybody would try first (the demo's among them)."""
    if settings.production and password in WELL_KNOWN_SECRETS:
        raise Invalid(
            "该密码过于常见（或为演示密码），请换一个",
            code="weak_password",
            message_en="A well-known password: choose another",
        )


async def create_user(*, session: AsyncSession, data: UserCreate, settings: Settings | None = None) -> User:
    """Create an account with the scope its role needs (422 when a scope is missing or unknown)."""
    if settings is not None:
        refuse_well_known(settings, data.password)
    if data.role == Role.caregiver:
        raise Invalid(
            "护理员账号请通过 POST /api/v1/caregivers 创建",
            code="use_caregiver_endpoint",
            message_en="Create caregiver accounts with POST /api/v1/caregivers",
        )
    await _check_scope(session, data)
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


async def _check_scope(session: AsyncSession, data: UserCreate | User) -> None:
    """The scope an account's role needs is given and known (422 otherwise)."""
    if data.community_id is not None:
        await referenced(session, Community, data.community_id, what="社区", what_en="community")
    if data.street_id is not None:
        await referenced(session, Street, data.street_id, what="街道", what_en="street")
    if data.district_id is not None:
        await referenced(session, District, data.district_id, what="区", what_en="district")
    if data.provider_id is not None:
        await referenced_by(session, User.provider_id, data.provider_id, what="服务组织", what_en="provider")
    if data.elder_id is not None:
        await referenced_by(session, User.elder_id, data.elder_id, what="老人", what_en="elder")
    needs = {
        Role.community_staff: data.community_id or data.street_id or data.district_id,
        Role.provider_admin: data.provider_id,
        Role.elder: data.elder_id,
    }
    if data.role in needs and not needs[Role(data.role)]:
        raise Invalid(
            "该角色需要指定管辖范围",
            code="scope_required",
            message_en=f"Role {data.role} needs community_id/street_id/district_id, provider_id or elder_id",
        )


def end_sign_ins(session: AsyncSession, user: User, *, reason: str) -> None:
    """Every token (and socket) issued to the account so far stops working."""
    user.token_version += 1
    access_changed(session, [user.id], reason=reason)


async def sign_out(*, session: AsyncSession, user: User) -> None:
    """Sign out: the account's tokens, on every device, stop working (sockets close within a second or two)."""
    end_sign_ins(session, user, reason="signed_out")
    await audit.record(session, action="auth.sign_out", subjects=[f"user:{user.id}"])
    await session.flush()


async def change_password(*, session: AsyncSession, settings: Settings, user: User, data: PasswordChange) -> None:
    """The account's own new password, given the current one (401); other sign-ins end."""
    if not await anyio.to_thread.run_sync(verify_password, data.current_password, user.password_hash):
        raise Unauthorized("当前密码错误", code="bad_credentials", message_en="The current password is wrong")
    refuse_well_known(settings, data.new_password)
    user.password_hash = await anyio.to_thread.run_sync(hash_password, data.new_password)
    end_sign_ins(session, user, reason="password_changed")
    await audit.record(session, action="user.password_changed", subjects=[f"user:{user.id}"])
    await session.flush()


async def update_user(*, session: AsyncSession, settings: Settings, user_id: int, data: UserUpdate) -> User:
    """An admin changes an account's role, scope, activity or password; its sign-ins end (404 unknown)."""
    user = await get_or_404(session, User, user_id, what="账号", what_en="user")
    changes = data.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    for name, value in changes.items():
        if value is None and name in ("role", "is_active"):
            raise Invalid(f"{name} 不能为空", code="invalid_value", message_en=f"{name} may not be null")
        setattr(user, name, value.value if isinstance(value, Role) else value)
    if user.role == Role.caregiver.value and "role" in changes:
        raise Invalid("不能把账号改为护理员", code="use_caregiver_endpoint", message_en="Register caregivers instead")
    await _check_scope(session, user)
    if password is not None:
        refuse_well_known(settings, password)
        user.password_hash = await anyio.to_thread.run_sync(hash_password, password)
    if set(changes) - {"display_name"} or password is not None:
        end_sign_ins(session, user, reason="account_changed")
    await audit.record(
        session,
        action="user.update",
        subjects=[f"user:{user.id}"],
        fields=[*changes, *(["password"] if password else [])],
    )
    await session.flush()
    return user


async def ensure_admin(*, session: AsyncSession, settings: Settings) -> str | None:
    """Create user ``admin`` on first start; returns the password when it had to be generated."""
    exists = (await session.execute(select(User.id).where(col(User.username) == "admin"))).first()
    if exists:
        return None
    password, generated = settings.admin_password, None
    if password is None:
        local_demo = settings.embedded and settings.is_sqlite and not settings.production
        password = "admin" if local_demo else secrets.token_urlsafe(12)
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
    caregiver = await caregiver_of(session, user)
    caregiver_id = caregiver.id if caregiver is not None else None
    return UserPublic.model_validate(user, from_attributes=True).model_copy(update={"caregiver_id": caregiver_id})
