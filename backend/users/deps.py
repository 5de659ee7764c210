"""Who is calling: the bearer token's user, their role, their caregiver record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.config import Settings
from backend.core.deps import SessionDep, SettingsDep
from backend.core.errors import Forbidden, Unauthorized
from backend.core.security import decode_access_token
from backend.registry.models import Caregiver
from backend.users.models import Role, User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def user_from_token(session: AsyncSession, settings: Settings, token: str | None) -> User:
    """The active user a token names, or 401."""
    if not token:
        raise Unauthorized("请先登录", code="not_authenticated", message_en="Not authenticated")
    user = await session.get(User, decode_access_token(settings, token))
    if user is None or not user.is_active:
        raise Unauthorized("账号不存在或已停用", code="invalid_token", message_en="Unknown or inactive user")
    return user


async def get_current_user(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User:
    """The signed-in user of this request."""
    return await user_from_token(session, settings, token)


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only these roles through (403 otherwise)."""
    allowed = {r.value for r in roles}

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden("无权执行此操作", code="role_forbidden", message_en="Your role may not do this")
        return user

    return check


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
StaffUser = Annotated[User, Depends(require_roles(Role.admin, Role.operator, Role.community_staff))]
# Those who may move an order by hand (the state machine's rights for assign and redispatch).
OperatorUser = Annotated[User, Depends(require_roles(Role.admin, Role.operator))]


async def get_current_caregiver(session: SessionDep, user: CurrentUser) -> Caregiver:
    """The caregiver record of the signed-in caregiver (403 for other roles)."""
    if user.role != Role.caregiver:
        raise Forbidden("仅护理员可用", code="caregiver_only", message_en="Caregivers only")
    caregiver = (await session.execute(select(Caregiver).where(col(Caregiver.user_id) == user.id))).scalar_one_or_none()
    if caregiver is None:
        raise Forbidden("账号未关联护理员", code="caregiver_only", message_en="No caregiver record for this account")
    return caregiver


CurrentCaregiver = Annotated[Caregiver, Depends(get_current_caregiver)]
