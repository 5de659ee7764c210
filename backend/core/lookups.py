"""Loading rows by id with the contract's refusals (docs/contract.md, "Errors": 404 unknown, 403 outside)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import Conflict, Invalid, NotFound

T = TypeVar("T")


async def get_or_404(session: AsyncSession, model: type[T], ident: Any, *, what: str, what_en: str) -> T:
    """The row, or 404 ``<what_en>_not_found`` for an unknown id."""
    row = await session.get(model, ident)
    if row is None:
        raise NotFound(f"{what}不存在：{ident}", code=f"{what_en}_not_found", message_en=f"Unknown {what_en} {ident}")
    return row


async def referenced(session: AsyncSession, model: type[T], ident: Any, *, what: str, what_en: str) -> T:
    """A row named in a request body, or 422 ``unknown_<what_en>``."""
    row = await session.get(model, ident)
    if row is None:
        raise Invalid(f"{what}不存在：{ident}", code=f"unknown_{what_en}", message_en=f"Unknown {what_en} {ident}")
    return row


async def referenced_by(session: AsyncSession, key: Any, ident: Any, *, what: str, what_en: str) -> None:
    """The row a foreign key column (``User.provider_id``) names exists, or 422 ``unknown_<what_en>``: checked
    through the key's own target, so a table's module need not import the class of the table it points at."""
    (foreign,) = key.property.columns[0].foreign_keys
    target = foreign.column
    if await session.scalar(select(target).where(target == ident)) is None:
        raise Invalid(f"{what}不存在：{ident}", code=f"unknown_{what_en}", message_en=f"Unknown {what_en} {ident}")


async def insert_unique(session: AsyncSession, row: T, conflict: Conflict) -> T:
    """Insert a row in a savepoint; ``conflict`` (409) when a unique key is taken, the transaction intact."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise conflict from exc
    return row
