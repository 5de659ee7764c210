"""Sign-in, renewal and sign-out; accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from backend.access.deps import AdminUser, CurrentSignIn, CurrentUser
from backend.core.db import utcnow
from backend.core.deps import RuntimeDep, SessionDep, SettingsDep
from backend.core.errors import Unauthorized
from backend.core.schemas import PathId
from backend.core.security import create_access_token
from backend.users import service
from backend.users.schemas import PasswordChange, Token, UserCreate, UserPublic, UserUpdate

public_router = APIRouter(tags=["auth"])
router = APIRouter(tags=["users"])


@public_router.post("/auth/token", response_model=Token)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, runtime: RuntimeDep
) -> Token:
    """Exchange username and password for a bearer token (OAuth2 password form).

    The token is short-lived (``ELDERCARE_ACCESS_TOKEN_MINUTES``); renew it while in use with
    ``POST /api/v1/auth/refresh``. 401 ``bad_credentials``; 429 ``too_many_attempts`` with ``Retry-After``
    after repeated failures."""
    user = await service.sign_in(session=session, runtime=runtime, username=form.username, password=form.password)
    assert user.id is not None
    token = create_access_token(runtime.settings, user_id=user.id, role=user.role, version=user.token_version)
    return Token(access_token=token)


@router.post("/auth/refresh", response_model=Token)
async def refresh(signed: CurrentSignIn, settings: SettingsDep) -> Token:
    """A fresh token for a signed-in session that is still in use; 401 ``session_expired`` once the sign-in is
    older than ``ELDERCARE_SESSION_MAX_HOURS`` (then sign in with the password again)."""
    user, claims = signed
    if utcnow().timestamp() - claims.auth_time > settings.session_max_hours * 3600:
        raise Unauthorized("登录时间过长，请重新登录", code="session_expired", message_en="Sign in again")
    assert user.id is not None
    token = create_access_token(
        settings, user_id=user.id, role=user.role, version=user.token_version, auth_time=claims.auth_time
    )
    return Token(access_token=token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(session: SessionDep, user: CurrentUser) -> None:
    """Sign out: every token of this account, on every device, stops working; open sockets are closed."""
    await service.sign_out(session=session, user=user)


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
async def create_user(data: UserCreate, session: SessionDep, settings: SettingsDep, _admin: AdminUser) -> UserPublic:
    """Create an account with its role and scope (admins only)."""
    return await service.to_public(session, await service.create_user(session=session, data=data, settings=settings))


@router.get("/users/me", response_model=UserPublic)
async def me(session: SessionDep, user: CurrentUser) -> UserPublic:
    """The signed-in account."""
    return await service.to_public(session, user)


@router.post("/users/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(data: PasswordChange, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> None:
    """Change one's own password (the current one is asked for); other sign-ins of the account end."""
    await service.change_password(session=session, settings=settings, user=user, data=data)


@router.patch("/users/{user_id}", response_model=UserPublic)
async def update_user(
    user_id: PathId, data: UserUpdate, session: SessionDep, settings: SettingsDep, _admin: AdminUser
) -> UserPublic:
    """Change an account's role, scope, activity (``is_active: false`` deactivates) or password (admins): its
    current sign-ins end at once, open sockets included."""
    user = await service.update_user(session=session, settings=settings, user_id=user_id, data=data)
    return await service.to_public(session, user)
