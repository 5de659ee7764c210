"""The outbox: events written in the same transaction as the change, relayed after commit.

A change writes one ``OutboxEvent`` naming its channels. After the commit, the relay (one at a
time, under a PostgreSQL advisory lock) gives each event a per-channel sequence number, stores it
in ``ChannelEvent`` for replay, and publishes it on the bus. Nothing is pushed for a change that
rolled back, and nothing is lost when the bus blinks: replay reads the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Integer,
    String,
    UniqueConstraint,
    column,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from backend.core.db import after_commit, utcnow
from backend.core.masking import mask_values
from backend.core.models import partial_index, required_timestamp_field, timestamp_field

RELAY_LOCK_KEY = 7_020_611  # pg advisory lock id of the relay


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_event"
    __table_args__ = (partial_index("ix_outbox_event_pending", "id", where="relayed_at IS NULL"),)

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(max_length=64)
    channels: list[str] = Field(sa_column=Column(JSON, nullable=False))
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = required_timestamp_field()
    relayed_at: datetime | None = timestamp_field()


class ChannelEvent(SQLModel, table=True):
    __tablename__ = "channel_event"
    __table_args__ = (UniqueConstraint("channel", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=64)
    seq: int
    event: str = Field(max_length=64)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = required_timestamp_field()


class ChannelCursor(SQLModel, table=True):
    __tablename__ = "channel_cursor"

    channel: str = Field(primary_key=True, max_length=64)
    last_seq: int = 0


@dataclass(frozen=True)
class Message:
    """One event as a subscriber receives it."""

    channel: str
    seq: int
    event: str
    data: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        """The WebSocket frame of the contract (docs/contract.md, "Real-time (WebSocket)")."""
        return {"type": "event", "channel": self.channel, "seq": self.seq, "event": self.event, "data": self.data}

    @cached_property
    def text(self) -> str:
        """The frame as sent: serialised once, however many sockets it goes to."""
        return json.dumps(self.wire(), separators=(",", ":"), ensure_ascii=False)


def emit(session: AsyncSession, event: str, channels: list[str], data: dict[str, Any]) -> None:
    """Record an event in the current transaction; it is relayed after commit.

    Events fan out to many screens: any phone or ID number inside their text (a note, a reason) is masked here.
    """
    masked = mask_values(data)
    assert isinstance(masked, dict)
    session.add(OutboxEvent(event=event, channels=sorted(set(channels)), data=masked, created_at=utcnow()))
    runtime = session.info.get("runtime")
    if runtime is not None:
        after_commit(session, runtime.kick_relay, key="relay")


# The relay on PostgreSQL in one statement: number the pending events per channel in the order they were written,
# move the channels' cursors on, store the numbered events and mark the outbox rows relayed; the numbered events come
# back to be published. Data-modifying parts run once, whether read or not, all on one snapshot.
RELAY_STATEMENT = text(
    """
WITH pending AS (
    SELECT id, event, channels, data, created_at FROM outbox_event
    WHERE relayed_at IS NULL ORDER BY id LIMIT :limit
),
fan AS (
    SELECT p.id, p.event, p.data, p.created_at, c.channel,
           row_number() OVER (PARTITION BY c.channel ORDER BY p.id) AS n
    FROM pending AS p CROSS JOIN LATERAL json_array_elements_text(p.channels) AS c(channel)
),
counts AS (SELECT channel, count(*) AS n FROM fan GROUP BY channel),
bumped AS (
    INSERT INTO channel_cursor (channel, last_seq)
    SELECT channel, n FROM counts ORDER BY channel
    ON CONFLICT (channel) DO UPDATE SET last_seq = channel_cursor.last_seq + excluded.last_seq
    RETURNING channel, last_seq
),
sequenced AS (
    SELECT f.id, f.channel, b.last_seq - c.n + f.n AS seq, f.event, f.data, f.created_at
    FROM fan AS f JOIN counts AS c ON c.channel = f.channel JOIN bumped AS b ON b.channel = f.channel
),
stored AS (
    INSERT INTO channel_event (channel, seq, event, data, created_at)
    SELECT channel, seq, event, data, created_at FROM sequenced
),
relayed AS (
    UPDATE outbox_event SET relayed_at = :now WHERE id IN (SELECT id FROM pending)
)
SELECT channel, seq, event, data FROM sequenced ORDER BY id, channel
"""
).columns(column("channel", String), column("seq", Integer), column("event", String), column("data", JSON))


async def relay_batch(session: AsyncSession, *, limit: int = 500) -> list[Message]:
    """Sequence and store up to ``limit`` pending outbox events; the caller commits, then publishes."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY})
        rows = await session.execute(RELAY_STATEMENT, {"limit": limit, "now": utcnow()})
        return [Message(channel, seq, event, data) for channel, seq, event, data in rows.all()]
    pending = (
        (
            await session.execute(
                select(OutboxEvent)
                .where(col(OutboxEvent.relayed_at).is_(None))
                .order_by(col(OutboxEvent.id))
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    if not pending:
        return []
    wanted = sorted({c for row in pending for c in row.channels})
    cursors = {
        c.channel: c
        for c in (await session.execute(select(ChannelCursor).where(col(ChannelCursor.channel).in_(wanted)))).scalars()
    }
    messages: list[Message] = []
    now = utcnow()
    for row in pending:
        for channel in row.channels:
            cursor = cursors.get(channel)
            if cursor is None:
                cursor = cursors[channel] = ChannelCursor(channel=channel, last_seq=0)
                session.add(cursor)
            cursor.last_seq += 1
            session.add(
                ChannelEvent(
                    channel=channel, seq=cursor.last_seq, event=row.event, data=row.data, created_at=row.created_at
                )
            )
            messages.append(Message(channel, cursor.last_seq, row.event, row.data))
    await session.execute(
        update(OutboxEvent).where(col(OutboxEvent.id).in_([r.id for r in pending])).values(relayed_at=now)
    )
    await session.flush()
    return messages


async def replay(session: AsyncSession, channel: str, since: int, *, until: int, limit: int = 1000) -> list[Message]:
    """Stored events of a channel with ``since < seq <= until``, oldest first."""
    rows = (
        await session.execute(
            select(ChannelEvent)
            .where(col(ChannelEvent.channel) == channel, col(ChannelEvent.seq) > since, col(ChannelEvent.seq) <= until)
            .order_by(col(ChannelEvent.seq))
            .limit(limit)
        )
    ).scalars()
    return [Message(r.channel, r.seq, r.event, r.data) for r in rows]


async def last_seq(session: AsyncSession, channel: str) -> int:
    """The newest sequence number of a channel (0 when it has none)."""
    cursor = await session.get(ChannelCursor, channel)
    return cursor.last_seq if cursor else 0


async def prune_events(session: AsyncSession, *, older_than: datetime) -> int:
    """Delete relayed outbox rows and stored channel events created before ``older_than``.

    A client reconnecting with a ``since`` older than that gets what is left; the cursors stay, so
    sequence numbers keep increasing.
    """
    outbox = await session.execute(
        delete(OutboxEvent).where(col(OutboxEvent.relayed_at).is_not(None), col(OutboxEvent.created_at) < older_than)
    )
    stored = await session.execute(delete(ChannelEvent).where(col(ChannelEvent.created_at) < older_than))
    return int(outbox.rowcount or 0) + int(stored.rowcount or 0)  # type: ignore[attr-defined]
