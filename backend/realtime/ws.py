"""The WebSocket protocol (docs/contract.md, "Real-time (WebSocket)", and its extensions under "WebSocket"), shared
by ``/api/v1/ws`` and ``/mobile/v1/ws``.

Client: ``{"type": "auth", "token": T}`` first, then ``{"type": "subscribe", "channel": C,
"since": N?}`` / ``{"type": "unsubscribe", "channel": C}`` / ``{"type": "ping"}``. Server:
``auth_ok``, ``subscribed`` (with the channel's current ``seq``), ``event`` frames with a
per-channel ``seq``, ``unsubscribed``, ``pong``, and ``error`` frames with a stable ``code``.
Missed events are replayed from the database: on ``since``, whenever a live event arrives after a
gap, and after the bus reconnects.

Access is re-checked whenever it may have changed (an ``access.changed`` event on the user's internal
channel: a consent withdrawn, an offer closed, a role changed, a sign-out): a subscription no longer allowed
ends with ``unsubscribed`` (and its ``reason``); a sign-in that ended closes the socket (4401). A client renews
its sign-in on the open socket by sending ``auth`` again with a fresh token of the same account.

The receiving side owns the set of subscriptions; everything sent goes through one queue and one
sender task, so frames of a channel always leave in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket

from backend.access.changes import user_channel
from backend.access.deps import accept_sign_in, token_claims
from backend.access.scope import check_channel
from backend.core.errors import DomainError
from backend.core.events import Message, last_seq, replay
from backend.core.metrics import WEBSOCKETS
from backend.core.pacing import Pacer
from backend.core.runtime import Runtime
from backend.core.security import TokenClaims, token_seconds_left
from backend.realtime.lookups import lookups
from backend.users.models import User

log = logging.getLogger(__name__)
AUTH_TIMEOUT_S = 10
MAX_QUEUE = 10_000
CLOSE_UNAUTHENTICATED = 4401
CLOSE_INTERNAL = 1011


@dataclass(frozen=True)
class _Subscribe:
    channel: str
    since: int | None
    at: int  # the channel's sequence when the client asked: live events after it are owed even if the sender lags


@dataclass(frozen=True)
class _Unsubscribe:
    channel: str
    reason: str | None = None


@dataclass(frozen=True)
class _Resync:
    """The bus reconnected: anything published meanwhile must be fetched."""


@dataclass(frozen=True)
class _Recheck:
    """The user's access may have changed: check the sign-in and every subscription again."""


_Item = Message | _Subscribe | _Unsubscribe | _Resync | _Recheck


@dataclass
class Connection:
    """One authenticated socket: its subscriptions and the last sequence sent on each."""

    websocket: Any  # a Starlette WebSocket, or anything with ``send_json`` and ``send_text``
    runtime: Runtime
    user: User
    token_version: int = 0
    ended: bool = False  # the sign-in ended: the socket is closing
    subscribed: set[str] = field(default_factory=set)  # owned by the receiving side
    last: dict[str, int] = field(default_factory=dict)  # owned by the sender
    queue: asyncio.Queue[_Item] = field(default_factory=asyncio.Queue)

    def on_message(self, message: Message) -> None:
        """Called by the hub for each live event of a subscribed channel."""
        if self.queue.qsize() < MAX_QUEUE:  # beyond that, the next event's gap fill catches up
            self.queue.put_nowait(message)

    def on_resync(self) -> None:
        """Called by the hub when the bus reconnected (an access change may have been missed too)."""
        self.queue.put_nowait(_Resync())
        self.queue.put_nowait(_Recheck())

    def on_access_changed(self, _message: Message) -> None:
        """Called by the hub when this user's access changed."""
        self.queue.put_nowait(_Recheck())

    def start(self) -> None:
        """Listen for bus reconnections and for changes of this user's access."""
        self.runtime.bus.hub.resync_listeners.add(self.on_resync)
        assert self.user.id is not None
        self.runtime.bus.hub.add(user_channel(self.user.id), self.on_access_changed)

    async def send_loop(self) -> None:
        """Send queued items in order, filling gaps from the database."""
        while True:
            item = await self.queue.get()
            if isinstance(item, _Subscribe):
                await self._start(item)
            elif isinstance(item, _Unsubscribe):
                self.last.pop(item.channel, None)
                frame = {"type": "unsubscribed", "channel": item.channel}
                await self.websocket.send_json(frame | ({"reason": item.reason} if item.reason else {}))
            elif isinstance(item, _Resync):
                for channel in list(self.last):
                    await self._catch_up(channel, self.last[channel], upto=None)
            elif isinstance(item, _Recheck):
                await self._recheck()
            else:
                seen = self.last.get(item.channel)
                if seen is None or item.seq <= seen:
                    continue  # not subscribed (any more), or already sent
                if item.seq > seen + 1:  # a push was lost or overtaken: fill the gap from the database
                    await self._catch_up(item.channel, seen, upto=item.seq - 1)
                await self.websocket.send_text(item.text)
                self.last[item.channel] = item.seq

    async def _recheck(self) -> None:
        """Drop what the user may no longer see; close the socket when the sign-in itself has ended."""
        async with self.runtime.sessions() as session:
            user = await session.get(User, self.user.id)
            if user is None or not user.is_active or user.token_version != self.token_version:
                await self.end("session_ended", "登录已失效（已退出或权限已变更）/ signed out or access changed")
                return
            self.user = user
            refused: list[tuple[str, str]] = []
            for channel in sorted(self.subscribed):
                try:
                    await check_channel(session, user, channel)
                except DomainError as exc:
                    refused.append((channel, exc.code))
        for channel, code in refused:
            self.unsubscribe(channel, reason=code)

    async def end(self, code: str, message: str) -> None:
        """Tell the client why, then close the socket (4401: sign in again)."""
        if self.ended:
            return
        self.ended = True
        with contextlib.suppress(Exception):
            await self.websocket.send_json({"type": "error", "code": code, "message": message})
            await self.websocket.close(CLOSE_UNAUTHENTICATED)

    async def _start(self, sub: _Subscribe) -> None:
        current = await lookups(self.runtime).last_seq(sub.channel)
        # A repeated subscribe without `since` keeps its place; a new one starts from when it was asked (events
        # since then may have been skipped while the sender was busy: they are replayed).
        start = self.last.get(sub.channel, sub.at) if sub.since is None else min(max(sub.since, 0), current)
        self.last[sub.channel] = start
        await self.websocket.send_json({"type": "subscribed", "channel": sub.channel, "seq": current})
        await self._catch_up(sub.channel, start, upto=current)

    async def _catch_up(self, channel: str, after: int, *, upto: int | None) -> None:
        """Send the stored events ``after < seq <= upto`` (``None``: all there are), oldest first."""
        while upto is None or after < upto:  # a socket opening with nothing to replay needs no session
            async with self.runtime.sessions() as session:
                if upto is None:
                    upto = await last_seq(session, channel)
                if after >= upto:
                    return
                missed = await replay(session, channel, after, until=upto)
            if not missed:
                return
            for message in missed:
                await self.websocket.send_text(message.text)
                after = message.seq
            self.last[channel] = after

    async def subscribe(self, channel: str, since: int | None) -> None:
        """Check the caller's scope (a read of an elder's file is audited), then replay and follow the channel."""
        if not await lookups(self.runtime).clearly_allowed(self.user, channel):
            async with self.runtime.unit_of_work() as session:
                await check_channel(session, self.user, channel)
        if channel not in self.subscribed:
            self.subscribed.add(channel)
            self.runtime.bus.hub.add(channel, self.on_message)
        self.queue.put_nowait(_Subscribe(channel, since, await lookups(self.runtime).last_seq(channel)))

    def unsubscribe(self, channel: str, *, reason: str | None = None) -> None:
        """Stop following a channel (``reason``: the access it needed ended)."""
        if channel in self.subscribed:
            self.subscribed.discard(channel)
            self.runtime.bus.hub.remove(channel, self.on_message)
        self.queue.put_nowait(_Unsubscribe(channel, reason))

    def close(self) -> None:
        """Forget every subscription."""
        for channel in self.subscribed:
            self.runtime.bus.hub.remove(channel, self.on_message)
        self.subscribed.clear()
        self.runtime.bus.hub.resync_listeners.discard(self.on_resync)
        if self.user.id is not None:
            self.runtime.bus.hub.remove(user_channel(self.user.id), self.on_access_changed)


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


async def _signed_in(runtime: Runtime, token: str) -> tuple[User, TokenClaims]:
    """The account a token names, if its sign-in is still good (401 otherwise): read with the other sockets'."""
    claims = token_claims(runtime.settings, token)
    return accept_sign_in(await lookups(runtime).users.get(claims.user_id), claims), claims


async def _authenticate(websocket: WebSocket, runtime: Runtime) -> tuple[User, TokenClaims] | None:
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
        return await _signed_in(runtime, first["token"])
    except DomainError as exc:
        await _error(websocket, exc.code, exc.message)
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return None


async def _handle(websocket: WebSocket, conn: Connection, message: dict[str, Any]) -> TokenClaims | None:
    """Act on one client message; a renewed sign-in's claims when it was one."""
    kind, channel = message.get("type"), message.get("channel")
    if kind == "auth" and isinstance(message.get("token"), str):
        try:
            user, claims = await _signed_in(conn.runtime, message["token"])
        except DomainError as exc:
            await _error(websocket, exc.code, exc.message)
            return None
        if user.id != conn.user.id:
            await _error(websocket, "auth_mismatch", "只能续期同一账号的登录 / renew with a token of the same account")
            return None
        conn.user, conn.token_version = user, claims.version
        await websocket.send_json({"type": "auth_ok", "user_id": user.id, "role": user.role, "renewed": True})
        return claims
    if kind == "subscribe" and isinstance(channel, str):
        since = message.get("since")
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
            await _error(websocket, "bad_since", "since 必须是整数 / since must be an integer", channel=channel)
            return None
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
    return None


async def serve(websocket: WebSocket) -> None:
    """Run one client's session until it disconnects (opened in its turn: ``ELDERCARE_WEBSOCKET_OPENS_PER_SECOND``)."""
    runtime: Runtime = websocket.app.state.runtime
    await _opening(runtime).turn()
    await websocket.accept()
    with WEBSOCKETS.track_inprogress():  # eldercare_websocket_connections
        await _session(websocket, runtime)


async def _session(websocket: WebSocket, runtime: Runtime) -> None:
    signed = await _authenticate(websocket, runtime)
    if signed is None:
        return
    user, claims = signed
    await websocket.send_json({"type": "auth_ok", "user_id": user.id, "role": user.role})
    conn = Connection(websocket, runtime, user, token_version=claims.version)
    conn.start()
    loop = asyncio.get_running_loop()

    def expire_after(claims: TokenClaims) -> asyncio.TimerHandle:
        # The session ends when the token does, unless renewed on the socket (``auth`` again).
        message = "登录已过期，请重新登录 / the sign-in expired"
        return loop.call_later(
            max(0.0, token_seconds_left(claims)), lambda: loop.create_task(conn.end("token_expired", message))
        )

    expiry = expire_after(claims)
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
            renewed = await _handle(websocket, conn, message)
            if renewed is not None:
                expiry.cancel()
                expiry = expire_after(renewed)
    except RuntimeError:  # the socket was closed under us (sender failure)
        pass
    finally:
        expiry.cancel()
        conn.close()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


_PACERS: weakref.WeakKeyDictionary[Runtime, Pacer] = weakref.WeakKeyDictionary()


def _opening(runtime: Runtime) -> Pacer:
    """The process's pace of opening sockets (a reconnect storm waits its turn, live traffic does not)."""
    pacer = _PACERS.get(runtime)
    if pacer is None:
        pacer = _PACERS[runtime] = Pacer(runtime.settings.websocket_opens_per_second)
    return pacer


def websocket_router() -> APIRouter:
    """A router with the ``/ws`` endpoint, for either API."""
    router = APIRouter()
    router.add_api_websocket_route("/ws", serve)
    return router
