"""What a socket needs to know to open, asked for in batches across sockets.

A phone or dashboard opening its socket needs its account (is the sign-in still good?), the right to its channel
(a caregiver's own channel, a community its staff cover) and where its channel stands (the sequence to replay
from). Twenty thousand phones coming back after a network blink ask for these together: each kind of lookup goes to
the database in one query per batch (``backend.core.batching``), and a community's place in the tree is never
asked twice. Only what is clearly allowed is decided here; anything else (a refusal, with its reason and its audit
line; an elder's file; another kind of channel) goes through the access layer's full check.
"""

from __future__ import annotations

import weakref

from sqlmodel import col, select

from backend.access.scope import CHANNEL, CITYWIDE
from backend.areas.service import community_area
from backend.core.batching import Batcher
from backend.core.events import ChannelCursor
from backend.core.runtime import Runtime
from backend.core.schemas import MAX_ID
from backend.registry.models import Caregiver
from backend.users.models import Role, User


class Lookups:
    """The batched lookups of one runtime's sockets."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.users: Batcher[int, User] = Batcher(self._users)
        self.caregivers: Batcher[int, tuple[int | None, int]] = Batcher(self._caregivers)
        self.cursors: Batcher[str, int] = Batcher(self._cursors)

    async def _users(self, ids: list[int]) -> dict[int, User]:
        async with self.runtime.sessions() as session:
            rows = await session.execute(select(User).where(col(User.id).in_(ids)))
            return {user.id: user for user in rows.scalars() if user.id is not None}

    async def _caregivers(self, ids: list[int]) -> dict[int, tuple[int | None, int]]:
        """Each caregiver's account and provider."""
        async with self.runtime.sessions() as session:
            rows = await session.execute(
                select(Caregiver.id, Caregiver.user_id, Caregiver.provider_id).where(col(Caregiver.id).in_(ids))
            )
            return {row[0]: (row[1], row[2]) for row in rows.all()}

    async def _cursors(self, channels: list[str]) -> dict[str, int]:
        async with self.runtime.sessions() as session:
            rows = await session.execute(
                select(ChannelCursor.channel, ChannelCursor.last_seq).where(col(ChannelCursor.channel).in_(channels))
            )
            return {row[0]: row[1] for row in rows.all()}

    async def last_seq(self, channel: str) -> int:
        """The newest sequence number of a channel (0 when it has none)."""
        return await self.cursors.get(channel) or 0

    async def clearly_allowed(self, user: User, channel: str) -> bool:
        """True when the user may follow the channel by what is known without a check of its own: a caregiver's
        own channel, a community within the staff's area (or any, for city staff). False: ask the access layer."""
        match = CHANNEL.fullmatch(channel)
        if match is None or int(match["id"]) > MAX_ID:
            return False
        kind, ident = match["kind"], int(match["id"])
        if kind == "caregiver" and user.role == Role.caregiver:
            found = await self.caregivers.get(ident)
            return found is not None and found[0] == user.id
        if kind == "community" and (user.role in CITYWIDE or user.role == Role.community_staff):
            async with self.runtime.sessions() as session:  # connects only when the tree is not known yet
                area = await community_area(session, ident)
            if area is None:
                return False
            street, district = area
            return (
                user.role in CITYWIDE
                or ident == user.community_id
                or user.street_id == street
                or (user.district_id == district)
            )
        return False


_LOOKUPS: weakref.WeakKeyDictionary[Runtime, Lookups] = weakref.WeakKeyDictionary()


def lookups(runtime: Runtime) -> Lookups:
    """The runtime's batched lookups (made on first use)."""
    found = _LOOKUPS.get(runtime)
    if found is None:
        found = _LOOKUPS[runtime] = Lookups(runtime)
    return found
