"""The WebSocket protocol of contract v1, shared by ``/api/v1/ws`` and ``/mobile/v1/ws``.

Client: ``{"type": "auth", "token": T}`` first, then ``{"type": "subscribe", "channel": C,
"since": N?}`` / ``{"type": "unsubscribe", "channel": C}`` / ``{"type": "ping"}``. Server:
``auth_ok``, ``subscribed`` (with the channel's current ``seq``), ``event`` frames with a
per-channel ``seq``, ``error`` frames with a stable ``code``. Missed events are replayed from the
database: on ``since``, and whenever a live event arrives after a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from backend.core.errors import DomainError
from backend.core.events import Message, last_seq, replay
from backend.core.runtime import Runtime
from backend.users.deps import user_from_token
from backend.users.models import User
from backend.users.scope import check_channel

log = logging.getLogger(__name__)
AUTH_TIMEOUT_S = 10
MAX_QUEUE = 10_000
CLOSE_UNAUTHENTICATED = 4401


@dataclass
class _Subscribe:
    channel: str
    since: int | None


@dataclass
class Connection:
    """One authenticated socket: its subscriptions and the next sequence each one expects."""

    websocket: WebSocket
    runtime: Runtime
    user: User
    last: dict[str, int] = field(default_factory=dict)
    queue: asyncio.Queue[Message | _Subscribe] = field(default_factory=asyncio.Queue)

    def on_message(self, message: Message) -> None:
        """Called by the hub for each live event of a subscribed channel."""
        if self.queue.qsize() < MAX_QUEUE:
            self.queue.put_nowait(message)

    async def send_loop(self) -> None:
        """Send queued items in order, filling gaps from the database."""
        while True:
            item = await self.queue.get()
            if isinstance(item, _Subscribe):
                await self._start(item)
                continue
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
        start = current if sub.since is None else min(max(sub.since, 0), current)
        self.last[sub.channel] = start
        await self.websocket.send_json({"type": "subscribed", "channel": sub.channel, "seq": current})
        if start < current:
            await self._catch_up(sub.channel, start, upto=current)

    async def _catch_up(self, channel: str, after: int, *, upto: int) -> None:
        """Send the stored events ``after < seq <= upto``, oldest first."""
        while after < upto:
            async with self.runtime.sessions() as session:
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
        if channel not in self.last:
            self.runtime.bus.hub.add(channel, self.on_message)
        self.queue.put_nowait(_Subscribe(channel, since))

    def unsubscribe(self, channel: str) -> None:
        """Stop following a channel."""
        self.runtime.bus.hub.remove(channel, self.on_message)
        self.last.pop(channel, None)

    def close(self) -> None:
        """Forget every subscription."""
        for channel in list(self.last):
            self.unsubscribe(channel)


async def _error(websocket: WebSocket, code: str, message: str, **extra: Any) -> None:
    await websocket.send_json({"type": "error", "code": code, "message": message, **extra})


async def _authenticate(websocket: WebSocket, runtime: Runtime) -> User | None:
    try:
        first = await asyncio.wait_for(websocket.receive_json(), timeout=AUTH_TIMEOUT_S)
    except (TimeoutError, ValueError, KeyError):
        first = None
    if not isinstance(first, dict) or first.get("type") != "auth" or not isinstance(first.get("token"), str):
        await _error(websocket, "auth_required", "第一条消息必须是 auth / first message must be auth")
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None
    try:
        async with runtime.sessions() as session:
            return await user_from_token(session, runtime.settings, first["token"])
    except DomainError as exc:
        await _error(websocket, exc.code, exc.message)
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None


async def serve(websocket: WebSocket) -> None:
    """Run one client's session until it disconnects."""
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    user = await _authenticate(websocket, runtime)
    if user is None:
        return
    await websocket.send_json({"type": "auth_ok", "user_id": user.id, "role": user.role})
    conn = Connection(websocket, runtime, user)
    sender = asyncio.create_task(conn.send_loop(), name="ws-sender")
    try:
        while True:
            try:
                msg = await websocket.receive_json()
            except ValueError:
                await _error(websocket, "bad_message", "消息必须是 JSON / message must be JSON")
                continue
            kind = msg.get("type") if isinstance(msg, dict) else None
            channel = msg.get("channel") if isinstance(msg, dict) else None
            if kind == "subscribe" and isinstance(channel, str):
                since = msg.get("since")
                if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
                    await _error(websocket, "bad_since", "since 必须是整数 / since must be an integer", channel=channel)
                    continue
                try:
                    await conn.subscribe(channel, since)
                except DomainError as exc:
                    await _error(websocket, exc.code, exc.message, channel=channel)
            elif kind == "unsubscribe" and isinstance(channel, str):
                conn.unsubscribe(channel)
                await websocket.send_json({"type": "unsubscribed", "channel": channel})
            elif kind == "ping":
                await websocket.send_json({"type": "pong"})
            else:
                await _error(websocket, "bad_message", "未知消息类型 / unknown message type")
    except WebSocketDisconnect:
        pass
    finally:
        conn.close()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


def websocket_router() -> APIRouter:
    """A router with the ``/ws`` endpoint, for either API."""
    router = APIRouter()
    router.add_api_websocket_route("/ws", serve)
    return router
