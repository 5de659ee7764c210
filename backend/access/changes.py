"""Telling open sockets that someone's access changed, so they re-check it at once (within a second or two).

A changed grant (a consent withdrawn, a role or scope changed, an account deactivated, a password changed, a
sign-out, an offer closed) is an ``access.changed`` event on the internal channel ``user:ID``; every socket of
that user re-checks its subscriptions, and closes when the sign-in itself has ended. Clients cannot subscribe to
``user:`` channels: the event is for the server's own sockets.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.events import emit
from backend.registry.models import Caregiver

ACCESS_CHANGED = "access.changed"


def user_channel(user_id: int) -> str:
    """The internal channel of one account's sockets."""
    return f"user:{user_id}"


def access_changed(session: AsyncSession, user_ids: Iterable[int | None], *, reason: str) -> None:
    """After commit, every socket of these accounts re-checks what it may still see."""
    ids = sorted({i for i in user_ids if i is not None})
    if ids:
        emit(session, ACCESS_CHANGED, [user_channel(i) for i in ids], {"reason": reason})


async def caregivers_access_changed(session: AsyncSession, caregiver_ids: Iterable[int], *, reason: str) -> None:
    """The same, for caregivers named by their caregiver ids (an offer of theirs closed)."""
    wanted = sorted(set(caregiver_ids))
    if not wanted:
        return
    users = await session.execute(select(Caregiver.user_id).where(col(Caregiver.id).in_(wanted)))
    access_changed(session, users.scalars(), reason=reason)
