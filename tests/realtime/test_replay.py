"""The WebSocket connection's promise: every event of a channel once, in order, even across a lost push."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.events import Message, emit, last_seq, prune_events, replay
from backend.core.runtime import Runtime
from backend.realtime.ws import Connection
from backend.users.models import User
from tests.factories import new_community
from tests.infra import migrated_database, sqlite_database


class FakeSocket:
    """Records what the server would send to the client."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_json(self, data: dict[str, Any]) -> None:
        self.sent.append(data)

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))


@pytest.fixture(scope="module")
async def runtime() -> AsyncIterator[Runtime]:
    """A runtime on a database of its own: the suite's stack would otherwise relay these events on its own bus."""
    with migrated_database() as url:
        runtime = Runtime(Settings(database_url=url, redis_url=None, environment="test"), role="cli")
        yield runtime
        await runtime.stop()


@pytest.fixture
async def channel(runtime: Runtime) -> str:
    async with runtime.unit_of_work() as session:
        community = await new_community(session)
    return f"community:{community.id}"


async def _emit(runtime: Runtime, channel: str, n: int) -> None:
    async with runtime.unit_of_work() as session:  # commits, then relays (and publishes) before returning
        emit(session, "test.tick", [channel], {"n": n})


async def _until(sock: FakeSocket, count: int) -> list[int]:
    for _ in range(200):
        events = [f["seq"] for f in sock.sent if f["type"] == "event"]
        if len(events) >= count:
            return events
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {sock.sent}")


async def test_since_replays_then_live_events_follow_and_a_lost_push_is_filled_from_the_database(runtime, channel):
    for n in (1, 2, 3):
        await _emit(runtime, channel, n)
    sock = FakeSocket()
    conn = Connection(sock, runtime, User(id=0, username="x", password_hash="x", role="admin"))  # type: ignore[arg-type]
    sender = asyncio.create_task(conn.send_loop())
    try:
        await conn.subscribe(channel, since=1)
        assert await _until(sock, 2) == [2, 3]
        assert sock.sent[0] == {"type": "subscribed", "channel": channel, "seq": 3}

        await _emit(runtime, channel, 4)
        assert await _until(sock, 3) == [2, 3, 4]

        # Redis blinks: event 5 is stored but never pushed. Event 6 arrives live; 5 is fetched first.
        publish = runtime.bus.publish

        async def lost(messages: list[Message]) -> None:
            return None

        runtime.bus.publish = lost  # type: ignore[method-assign]
        await _emit(runtime, channel, 5)
        runtime.bus.publish = publish  # type: ignore[method-assign]
        await _emit(runtime, channel, 6)
        assert await _until(sock, 5) == [2, 3, 4, 5, 6]

        # A duplicate or stale push changes nothing.
        conn.on_message(Message(channel, 4, "test.tick", {"n": 4}))
        await _emit(runtime, channel, 7)
        assert await _until(sock, 6) == [2, 3, 4, 5, 6, 7]
        assert [f["data"]["n"] for f in sock.sent if f["type"] == "event"] == [2, 3, 4, 5, 6, 7]

        conn.unsubscribe(channel)
        await _emit(runtime, channel, 8)
        await asyncio.sleep(0.1)
        assert len([f for f in sock.sent if f["type"] == "event"]) == 6
    finally:
        sender.cancel()


async def test_subscribe_unsubscribe_subscribe_keeps_live_events_and_a_reconnect_resyncs(runtime, channel):
    sock = FakeSocket()
    conn = Connection(sock, runtime, User(id=0, username="x", password_hash="x", role="admin"))  # type: ignore[arg-type]
    runtime.bus.hub.resync_listeners.add(conn.on_resync)
    sender = asyncio.create_task(conn.send_loop())
    try:
        await conn.subscribe(channel, since=None)
        conn.unsubscribe(channel)
        await conn.subscribe(channel, since=None)
        await _emit(runtime, channel, 1)
        assert await _until(sock, 1) == [1]
        assert [f["type"] for f in sock.sent] == ["subscribed", "unsubscribed", "subscribed", "event"]

        # Events published while the bus was away arrive when it reconnects, without waiting for the next.
        publish = runtime.bus.publish

        async def lost(messages: list[Message]) -> None:
            return None

        runtime.bus.publish = lost  # type: ignore[method-assign]
        await _emit(runtime, channel, 2)
        await _emit(runtime, channel, 3)
        runtime.bus.publish = publish  # type: ignore[method-assign]
        runtime.bus.hub.resync()
        assert await _until(sock, 3) == [1, 2, 3]
    finally:
        conn.close()
        sender.cancel()


async def test_an_event_right_after_a_subscribe_arrives_even_when_the_sender_is_slow_to_start_it(runtime, channel):
    sock = FakeSocket()
    conn = Connection(sock, runtime, User(id=0, username="x", password_hash="x", role="admin"))  # type: ignore[arg-type]
    await conn.subscribe(channel, since=None)
    await _emit(runtime, channel, 1)  # committed and pushed before the sender has looked at the subscribe
    sender = asyncio.create_task(conn.send_loop())
    try:
        assert await _until(sock, 1) == [1]
        assert [f["type"] for f in sock.sent] == ["subscribed", "event"]
    finally:
        conn.close()
        sender.cancel()


async def test_pruning_forgets_old_events_but_sequence_numbers_keep_increasing() -> None:
    with migrated_database() as url:  # pruning is database-wide: keep it away from the other tests' events
        runtime = Runtime(Settings(database_url=url, redis_url=None, environment="test"), role="cli")
        try:
            channel = "community:1"
            for n in (1, 2):
                await _emit(runtime, channel, n)
            async with runtime.unit_of_work() as session:
                assert await prune_events(session, older_than=utcnow() - timedelta(days=1)) == 0  # nothing that old
                assert len(await replay(session, channel, 0, until=10)) == 2
                assert (
                    await prune_events(session, older_than=utcnow() + timedelta(seconds=1)) == 4
                )  # 2 outbox, 2 stored
            await _emit(runtime, channel, 3)
            async with runtime.sessions() as session:
                assert [m.seq for m in await replay(session, channel, 0, until=10)] == [3]
                assert await last_seq(session, channel) == 3
        finally:
            await runtime.stop()


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
async def test_one_relay_numbers_many_events_per_channel_in_the_order_they_were_written(engine, tmp_path) -> None:
    """PostgreSQL relays in one statement, SQLite event by event: both number each channel's events 1, 2, 3… in the
    order they were written, across batches, and publish each once."""
    with contextlib.ExitStack() as stack:
        if engine == "postgresql":
            url = stack.enter_context(migrated_database())
        else:
            url = sqlite_database(tmp_path / "relay.db")
        runtime = Runtime(Settings(database_url=url, redis_url=None, environment="test"), role="cli")
        try:
            heard: list[Message] = []
            runtime.bus.publish = _recording(heard)  # type: ignore[method-assign]
            written = [(["a", "b"], 1), (["b"], 2), (["c", "a", "b"], 3), (["a"], 4)]
            async with runtime.unit_of_work() as session:
                session.info.pop("runtime", None)  # relayed below, in one batch, not after this commit
                for channels, n in written:
                    emit(session, "test.tick", channels, {"n": n})
            assert await runtime.relay_now() == 7
            async with runtime.unit_of_work() as session:
                emit(session, "test.tick", ["b", "d"], {"n": 5})
            await runtime.relay_now()
            numbered = {(m.channel, m.seq): m.data["n"] for m in heard}
            assert numbered == {
                ("a", 1): 1, ("a", 2): 3, ("a", 3): 4,
                ("b", 1): 1, ("b", 2): 2, ("b", 3): 3, ("b", 4): 5,
                ("c", 1): 3,
                ("d", 1): 5,
            }  # fmt: skip
            async with runtime.sessions() as session:
                assert [m.data["n"] for m in await replay(session, "b", 0, until=10)] == [1, 2, 3, 5]
                assert (await last_seq(session, "a"), await last_seq(session, "b")) == (3, 4)
        finally:
            await runtime.stop()


def _recording(heard: list[Message]) -> Any:
    async def publish(messages: list[Message]) -> None:
        heard.extend(messages)

    return publish
