"""Sign-in and accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from backend.core.deps import SessionDep, SettingsDep
from backend.core.security import create_access_token
from backend.users import service
from backend.users.deps import AdminUser, CurrentUser
from backend.users.schemas import Token, UserCreate, UserPublic

public_router = APIRouter(tags=["auth"])
router = APIRouter(tags=["users"])


@public_router.post("/auth/token", response_model=Token)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, settings: SettingsDep
) -> Token:
    """Exchange username and password for a bearer token (OAuth2 password form)."""
    user = await service.authenticate(session=session, username=form.username, password=form.password)
    assert user.id is not None
    return Token(access_token=create_access_token(settings, user_id=user.id, role=user.role))


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
async def create_user(data: UserCreate, session: SessionDep, _admin: AdminUser) -> UserPublic:
    """Create an account with its role and scope (admins only)."""
    return await service.to_public(session, await service.create_user(session=session, data=data))


@router.get("/users/me", response_model=UserPublic)
async def me(session: SessionDep, user: CurrentUser) -> UserPublic:
    """The signed-in account."""
    return await service.to_public(session, user)
