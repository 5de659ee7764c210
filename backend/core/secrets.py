"""Secrets the platform makes for itself and keeps in the database, shared by every process."""

from __future__ import annotations

import logging
import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

log = logging.getLogger(__name__)


class PlatformSecret(SQLModel, table=True):
    __tablename__ = "platform_secret"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


async def platform_secret(session: AsyncSession, name: str) -> str:
    """The stored secret ``name``, made at random the first time (the first process to ask wins)."""
    existing = await session.get(PlatformSecret, name)
    if existing is not None:
        return existing.value
    try:
        async with session.begin_nested():
            session.add(PlatformSecret(name=name, value=secrets.token_urlsafe(48)))
    except IntegrityError:
        pass  # another process made it first
    stored = await session.get(PlatformSecret, name, populate_existing=True)
    assert stored is not None
    return stored.value
