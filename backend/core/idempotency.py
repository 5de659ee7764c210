"""``Idempotency-Key`` on every POST (docs/contract.md, "Idempotency and bodies"): a retried request is answered as
the first time.

A phone that lost its signal mid-request, or replays its offline queue, sends the same key again: the same key
with the same method, path and body within ``idempotency_hours`` gets the stored answer (``Idempotent-Replayed:
true``) and changes nothing; the same key with anything else is 422 ``idempotency_key_reused``; while the first is
still being served, 409 ``idempotency_in_progress``. Keys belong to the caller (the signed-in account, or the
device), so two callers never see each other's answers. Server errors are not kept: a retry runs again.

The database decides who runs a key first: a row with the key is inserted before the request runs (a unique key
per caller), and completed with the answer after it.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy import LargeBinary, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Column, Field, SQLModel, col
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.db import utcnow
from backend.core.errors import DomainError, Invalid
from backend.core.models import required_timestamp_field
from backend.core.security import decode_access_token

if TYPE_CHECKING:
    from backend.core.runtime import Runtime

KEY = re.compile(r"[A-Za-z0-9_.:@/+=-]{1,128}")
MAX_STORED_BYTES = 1_048_576  # larger answers are not kept (a retry then runs again)


class IdempotentRequest(SQLModel, table=True):
    __tablename__ = "idempotent_request"

    caller: str = Field(primary_key=True, max_length=80)  # user:ID or device:SERIAL
    key: str = Field(primary_key=True, max_length=128)
    fingerprint: str = Field(max_length=64)  # sha256 of method, path, query and body
    status: int | None = None  # none while the first request is being served
    content_type: str | None = Field(default=None, max_length=128)
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = required_timestamp_field()
    expires_at: datetime = required_timestamp_field()


class KeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"


class InProgress(DomainError):
    status_code = 409
    code = "idempotency_in_progress"


def caller_of(headers: Headers, runtime: Runtime) -> str | None:
    """Whose key it is: the signed-in account (from its token) or the device (its serial); None for anyone else."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        try:
            return f"user:{decode_access_token(runtime.settings, credentials.strip()).user_id}"
        except DomainError:
            return None
    if scheme.lower() == "device" and credentials:
        serial = credentials.strip().partition(":")[0]
        return f"device:{serial[:64]}" if serial else None
    return None


async def prune(*, session: AsyncSession, now: datetime) -> int:
    """Forget the keys whose time is up."""
    result = await session.execute(delete(IdempotentRequest).where(col(IdempotentRequest.expires_at) < now))
    return int(getattr(result, "rowcount", 0) or 0)


class Idempotency:
    """The ASGI middleware: POSTs with an ``Idempotency-Key`` are run once per caller and key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        key = headers.get("idempotency-key") if headers is not None else None
        if headers is None or scope.get("method") != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        english = headers.get("accept-language", "").lower().startswith("en")
        if not KEY.fullmatch(key):
            bad = Invalid(
                "Idempotency-Key 格式不正确",
                code="bad_idempotency_key",
                message_en="Idempotency-Key: 1 to 128 letters, digits or ._:@/+=-",
            )
            await _refuse(send, bad, english)
            return
        runtime: Runtime = scope["app"].state.runtime
        caller = caller_of(headers, runtime)
        if caller is None:  # nobody to keep it for (sign-in, a bad token): the request runs as it is
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        fingerprint = hashlib.sha256(
            b"\0".join([scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        stored = await _claim(runtime, caller, key, fingerprint, runtime.settings.idempotency_hours)
        if isinstance(stored, DomainError):
            await _refuse(send, stored, english)
            return
        if stored is not None:
            await _replay(send, stored)
            return
        await self._run(scope, body, send, runtime, caller, key)

    async def _run(self, scope: Scope, body: bytes, send: Send, runtime: Runtime, caller: str, key: str) -> None:
        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        status, content_type, settled = 0, None, False
        chunks: list[bytes] = []

        async def settle() -> None:
            """Keep the answer (or, for a server error, forget the key) before its last part reaches the caller:
            a retry sent the moment the first answer arrives must find it, not the key still in progress."""
            nonlocal settled
            settled = True
            answer = b"".join(chunks)
            keep = 0 < status < 500 and len(answer) <= MAX_STORED_BYTES
            async with runtime.unit_of_work() as session:
                where = (col(IdempotentRequest.caller) == caller, col(IdempotentRequest.key) == key)
                if keep:
                    await session.execute(
                        update(IdempotentRequest)
                        .where(*where)
                        .values(status=status, content_type=content_type, body=answer)
                    )
                else:  # a server error, or too large to keep: let a retry run again
                    await session.execute(delete(IdempotentRequest).where(*where))

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = Headers(raw=message.get("headers", [])).get("content-type")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await settle()
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            if not settled:  # nothing (or not all) was answered: let a retry run again
                status = 0
                await settle()


async def _read_body(receive: Receive) -> bytes:
    """The whole request body (the outer guard has bounded its size)."""
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _claim(
    runtime: Runtime, caller: str, key: str, fingerprint: str, hours: float
) -> IdempotentRequest | DomainError | None:
    """None: this request runs the key. A stored answer to replay, or a refusal."""
    now = utcnow()
    async with runtime.unit_of_work() as session:
        existing = await session.get(IdempotentRequest, (caller, key), with_for_update=True)
        if existing is not None and existing.expires_at < now:  # its time is up: as if never seen
            await session.delete(existing)
            await session.flush()
            existing = None
        if existing is None:
            row = IdempotentRequest(
                caller=caller, key=key, fingerprint=fingerprint, created_at=now, expires_at=now + timedelta(hours=hours)
            )
            try:
                async with session.begin_nested():
                    session.add(row)
                    await session.flush()
            except IntegrityError:  # another request with the key got there first
                return InProgress(
                    "同一请求正在处理，请稍后重试",
                    message_en="A request with this Idempotency-Key is still being served",
                )
            return None
    if existing.fingerprint != fingerprint:
        return KeyReused(
            "该 Idempotency-Key 已用于另一个请求",
            message_en="This Idempotency-Key was used for a different request",
        )
    if existing.status is None:
        return InProgress(
            "同一请求正在处理，请稍后重试", message_en="A request with this Idempotency-Key is still being served"
        )
    return existing


async def _replay(send: Send, stored: IdempotentRequest) -> None:
    headers = [(b"idempotent-replayed", b"true")]
    if stored.content_type:
        headers.append((b"content-type", stored.content_type.encode()))
    body = stored.body or b""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(send: Send, error: DomainError, english: bool) -> None:
    payload = json.dumps(error.body(english), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "重试安全：同一键与同一请求 24 小时内只执行一次，重放第一次的应答 / a retry with the same key and "
    "request is answered as the first time (Idempotent-Replayed: true); the same key with another request is 422",
    "schema": {"type": "string", "maxLength": 128, "pattern": KEY.pattern},
}


def document(app: FastAPI) -> None:
    """Name the Idempotency-Key header on every POST of the app's OpenAPI description."""
    described = app.openapi

    def openapi() -> dict[str, Any]:
        schema = described()
        for operations in schema.get("paths", {}).values():
            post = operations.get("post")
            if post is not None and HEADER not in post.setdefault("parameters", []):
                post["parameters"].append(HEADER)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
