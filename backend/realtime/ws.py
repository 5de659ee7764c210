"""The WebSocket protocol of contract v1, shared by ``/api/v1/ws`` and ``/mobile/v1/ws``.

Client: ``{"type": "auth", "token": T}`` first, then ``{"type": "subscribe", "channel": C,
"since": N?}`` / ``{"type": "unsubscribe", "channel": C}`` / ``{"type": "ping"}``. Server:
``auth_ok``, ``subscribed`` (with the channel's current ``seq``), ``event`` frames with a
per-channel ``seq``, ``unsubscribed``, ``pong``, and ``error`` frames with a stable ``code``.
Missed events are replayed from the database: on ``since``, whenever a live event arrives after a
gap, and after the bus reconnects.

The receiving side owns the set of subscriptions; everything sent goes through one queue and one
sender task, so frames of a channel always leave in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket

from backend.core.errors import DomainError
from backend.core.events import Message, last_seq, replay
from backend.core.runtime import Runtime
from backend.core.security import token_seconds_left
from backend.users.deps import user_from_token
from backend.users.models import User
from backend.users.scope import check_channel

log = logging.getLogger(__name__)
AUTH_TIMEOUT_S = 10
MAX_QUEUE = 10_000
CLOSE_UNAUTHENTICATED = 4401
CLOSE_INTERNAL = 1011


@dataclass(frozen=True)
class _Subscribe:
    channel: str
    since: int | None


@dataclass(frozen=True)
class _Unsubscribe:
    channel: str


@dataclass(frozen=True)
class _Resync:
    """The bus reconnected: anything published meanwhile must be fetched."""


_Item = Message | _Subscribe | _Unsubscribe | _Resync


@dataclass
class Connection:
    """One authenticated socket: its subscriptions and the last sequence sent on each."""

    websocket: Any  # a Starlette WebSocket, or anything with ``send_json``
    runtime: Runtime
    user: User
    subscribed: set[str] = field(default_factory=set)  # owned by the receiving side
    last: dict[str, int] = field(default_factory=dict)  # owned by the sender
    queue: asyncio.Queue[_Item] = field(default_factory=asyncio.Queue)

    def on_message(self, message: Message) -> None:
        """Called by the hub for each live event of a subscribed channel."""
        if self.queue.qsize() < MAX_QUEUE:  # beyond that, the next event's gap fill catches up
            self.queue.put_nowait(message)

    def on_resync(self) -> None:
        """Called by the hub when the bus reconnected."""
        self.queue.put_nowait(_Resync())

    async def send_loop(self) -> None:
        """Send queued items in order, filling gaps from the database."""
        while True:
            item = await self.queue.get()
            if isinstance(item, _Subscribe):
                await self._start(item)
            elif isinstance(item, _Unsubscribe):
                self.last.pop(item.channel, None)
                await self.websocket.send_json({"type": "unsubscribed", "channel": item.channel})
            elif isinstance(item, _Resync):
                for channel in list(self.last):
                    await self._catch_up(channel, self.last[channel], upto=None)
            else:
                seen = self.last.get(item.channel)
                if seen is None or item.seq <= seen:
                    continue  # not subscribed (any more), or already sent
                if item.seq > seen + 1:  # a push was lost or overtaken: fill the gap from the database
                    await self._catch_up(item.channel, seen, upto=item.seq - 1)
                await self.websocket.send_json(item.wire())
                self.last[item.channel] = item.seq

    async def _start(self, sub: _Subscribe) -> None:
        async with self.runtime.sessions() as session:
            current = await last_seq(session, sub.channel)
        # A repeated subscribe without `since` keeps its place; a new one starts from now.
        start = self.last.get(sub.channel, current) if sub.since is None else min(max(sub.since, 0), current)
        self.last[sub.channel] = start
        await self.websocket.send_json({"type": "subscribed", "channel": sub.channel, "seq": current})
        await self._catch_up(sub.channel, start, upto=current)

    async def _catch_up(self, channel: str, after: int, *, upto: int | None) -> None:
        """Send the stored events ``after < seq <= upto`` (``None``: all there are), oldest first."""
        while True:
            async with self.runtime.sessions() as session:
                if upto is None:
                    upto = await last_seq(session, channel)
                if after >= upto:
                    return
                missed = await replay(session, channel, after, until=upto)
            if not missed:
                return
            for message in missed:
                await self.websocket.send_json(message.wire())
                after = message.seq
            self.last[channel] = after

    async def subscribe(self, channel: str, since: int | None) -> None:
        """Check the caller's scope, then replay and follow the channel."""
        async with self.runtime.sessions() as session:
            await check_channel(session, self.user, channel)
        if channel not in self.subscribed:
            self.subscribed.add(channel)
            self.runtime.bus.hub.add(channel, self.on_message)
        self.queue.put_nowait(_Subscribe(channel, since))

    def unsubscribe(self, channel: str) -> None:
        """Stop following a channel."""
        if channel in self.subscribed:
            self.subscribed.discard(channel)
            self.runtime.bus.hub.remove(channel, self.on_message)
        self.queue.put_nowait(_Unsubscribe(channel))

    def close(self) -> None:
        """Forget every subscription."""
        for channel in self.subscribed:
            self.runtime.bus.hub.remove(channel, self.on_message)
        self.subscribed.clear()
        self.runtime.bus.hub.resync_listeners.discard(self.on_resync)


async def _error(websocket: WebSocket, code: str, message: str, **extra: Any) -> None:
    await websocket.send_json({"type": "error", "code": code, "message": message, **extra})


async def _receive(websocket: WebSocket) -> dict[str, Any] | None:
    """The next JSON object from the client; ``{}`` for anything else; ``None`` when it left."""
    frame = await websocket.receive()
    if frame["type"] == "websocket.disconnect":
        return None
    text = frame.get("text")
    if text is None:
        return {}
    try:
        message = json.loads(text)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


async def _authenticate(websocket: WebSocket, runtime: Runtime) -> tuple[User, str] | None:
    try:
        first = await asyncio.wait_for(_receive(websocket), timeout=AUTH_TIMEOUT_S)
    except TimeoutError:
        first = {}
    if first is None:
        return None
    if first.get("type") != "auth" or not isinstance(first.get("token"), str):
        await _error(websocket, "auth_required", "第一条消息必须是 auth / first message must be auth")
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None
    try:
        async with runtime.sessions() as session:
            return await user_from_token(session, runtime.settings, first["token"]), first["token"]
    except DomainError as exc:
        await _error(websocket, exc.code, exc.message)
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None


async def _handle(websocket: WebSocket, conn: Connection, message: dict[str, Any]) -> None:
    kind, channel = message.get("type"), message.get("channel")
    if kind == "subscribe" and isinstance(channel, str):
        since = message.get("since")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
            await _error(websocket, "bad_since", "since 必须是整数 / since must be an integer", channel=channel)
            return
        try:
            await conn.subscribe(channel, since)
        except DomainError as exc:
            await _error(websocket, exc.code, exc.message, channel=channel)
    elif kind == "unsubscribe" and isinstance(channel, str):
        conn.unsubscribe(channel)
    elif kind == "ping":
        await websocket.send_json({"type": "pong"})
    else:
        await _error(websocket, "bad_message", "无法识别的消息 / unrecognised message")


async def serve(websocket: WebSocket) -> None:
    """Run one client's session until it disconnects."""
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    signed_in = await _authenticate(websocket, runtime)
    if signed_in is None:
        return
    user, token = signed_in
    await websocket.send_json({"type": "auth_ok", "user_id": user.id, "role": user.role})
    # The session ends when the token does: the client signs in again and resumes with `since`.
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, token_seconds_left(runtime.settings, token)),
        lambda: asyncio.get_running_loop().create_task(websocket.close(CLOSE_UNAUTHENTICATED, "token expired")),
    )
    conn = Connection(websocket, runtime, user)
    runtime.bus.hub.resync_listeners.add(conn.on_resync)
    sender = asyncio.create_task(conn.send_loop(), name="ws-sender")

    def sender_ended(task: asyncio.Task[None]) -> None:
        # A sender that died (say, the database blinked) would leave a silent socket: close it so
        # the client reconnects and catches up with `since`.
        if not task.cancelled() and task.exception() is not None:
            log.warning("websocket sender failed: %r; closing", task.exception())
            asyncio.get_running_loop().create_task(websocket.close(CLOSE_INTERNAL))

    sender.add_done_callback(sender_ended)
    try:
        while (message := await _receive(websocket)) is not None:
            await _handle(websocket, conn, message)
    except RuntimeError:  # the socket was closed under us (sender failure)
        pass
    finally:
        expiry.cancel()
        conn.close()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


def websocket_router() -> APIRouter:
    """A router with the ``/ws`` endpoint, for either API."""
    router = APIRouter()
    router.add_api_websocket_route("/ws", serve)
    return router
