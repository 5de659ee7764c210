"""Fan-out of relayed events to the WebSocket clients of every process.

``Hub`` holds this process's subscribers. The in-process bus hands messages straight to the hub;
the Redis bus publishes them on one pub/sub channel that every API process listens to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

from backend.core.events import Message

log = logging.getLogger(__name__)
Listener = Callable[[Message], None]


class Hub:
    """This process's subscribers, by channel."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self.resync_listeners: set[Callable[[], None]] = set()

    def add(self, channel: str, listener: Listener) -> None:
        """Start delivering a channel's messages to ``listener``."""
        self._listeners[channel].add(listener)

    def remove(self, channel: str, listener: Listener) -> None:
        """Stop delivering a channel's messages to ``listener``."""
        listeners = self._listeners.get(channel)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[channel]

    def resync(self) -> None:
        """Tell every subscriber that pushes may have been missed (the bus reconnected)."""
        for listener in tuple(self.resync_listeners):
            listener()

    def deliver(self, messages: list[Message]) -> None:
        """Hand each message to the listeners of its channel."""
        for message in messages:
            for listener in tuple(self._listeners.get(message.channel, ())):
                listener(message)


class Bus(Protocol):
    hub: Hub

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, messages: list[Message]) -> None: ...
    async def ping(self) -> bool: ...


class InProcessBus:
    """The embedded default: one process, no broker."""

    def __init__(self) -> None:
        self.hub = Hub()

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def publish(self, messages: list[Message]) -> None:
        """Deliver to this process's subscribers."""
        self.hub.deliver(messages)

    async def ping(self) -> bool:
        """Always reachable."""
        return True


class RedisBus:
    """Redis pub/sub across processes; ``listen`` only in processes that serve WebSockets."""

    def __init__(self, url: str, prefix: str, *, listen: bool) -> None:
        self.hub = Hub()
        self._redis = aioredis.from_url(url)
        self._topic = f"{prefix}:events"
        self._listen = listen
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Begin listening (when asked to) before the first client subscribes."""
        if self._listen:
            self._task = asyncio.create_task(self._run(), name="redis-bus")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()

    async def publish(self, messages: list[Message]) -> None:
        """Publish to every process; a Redis outage loses only live pushes, never the events."""
        if not messages:
            return
        payload = json.dumps([[m.channel, m.seq, m.event, m.data] for m in messages], ensure_ascii=False)
        try:
            await self._redis.publish(self._topic, payload)
        except Exception:  # replay from the database covers what was not pushed
            log.exception("redis publish failed; clients will catch up by replay")

    async def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def _run(self) -> None:
        reconnecting = False
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._topic)
                self._ready.set()
                if reconnecting:  # whatever was published while we were away is in the database
                    self.hub.resync()
                async for raw in pubsub.listen():
                    if raw.get("type") != "message":
                        continue
                    batch = json.loads(raw["data"])
                    self.hub.deliver([Message(c, int(s), e, d) for c, s, e, d in batch])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis bus listener failed; reconnecting")
                reconnecting = True
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
