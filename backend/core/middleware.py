"""The outermost layer of every request: a request id, the caller's context, a limit on what it may send, and
what it cost: one access line (request id, user, route template, status, duration) and the request's place in
``eldercare_http_request_duration_seconds``.

Bodies are refused with 413 before they are read: at once when ``Content-Length`` says too much, and as soon
as a streamed body passes the limit. Uploads (multipart forms) have a limit of their own.
"""

from __future__ import annotations

import json
import time
from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.context import open_context, request_id_from
from backend.core.errors import PayloadTooLarge
from backend.core.metrics import HTTP_DURATION

access = structlog.get_logger("eldercare.access")


class RequestGuard:
    """Request id in and out (``X-Request-ID``), the request's context, and body limits."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = request_id_from(headers.get("x-request-id"))
        client = scope.get("client")
        method = scope.get("method", "WS")
        open_context(request_id, client[0] if client else "", f"{method} {scope.get('path', '')}")
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        started_at, answered = time.perf_counter(), [500]

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered[0] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, noted, headers, request_id)
        finally:
            _observe(scope, method, answered[0], time.perf_counter() - started_at)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, headers: Headers, request_id: str) -> None:

        upload = headers.get("content-type", "").lower().startswith("multipart/")
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        english = headers.get("accept-language", "").lower().startswith("en")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, PayloadTooLarge(limit), english, request_id)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_id)
        except PayloadTooLarge as exc:  # raised while a body streamed in, before any handler answered
            if started:
                raise
            await _too_large(send, exc, english, request_id)


def route_template(scope: Scope) -> str:
    """The matched route's template with its router's prefix (``/api/v1/requests/{request_id}``), so that metrics
    and logs count by the path's shape, never by its ids; ``unmatched`` for a path no route has."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return "unmatched"
    if isinstance(route, Mount):  # static files: the mount, not each file
        return f"{scope.get('root_path', '')}{template}/{{path}}"
    # An included router's route knows its own part; the prefix is what comes before it in the path.
    own = template.strip("/").split("/")
    asked = scope.get("path", "").strip("/").split("/")
    prefix = asked[: max(0, len(asked) - len(own))]
    return "/" + "/".join([*prefix, *own]) if template != "/" else "/" + "/".join(prefix)


def _observe(scope: Scope, method: str, status: int, seconds: float) -> None:
    """The request's access line and its duration by route template (the path's shape, never its ids)."""
    route = route_template(scope)
    HTTP_DURATION.labels(route, method, str(status)).observe(seconds)
    access.info(
        "request",
        method=method,
        route=route,
        path=scope.get("path", ""),
        status=status,
        duration_ms=round(seconds * 1000, 1),
        client=(scope.get("client") or ("",))[0],
    )


async def _too_large(send: Send, exc: PayloadTooLarge, english: bool, request_id: str) -> None:
    body: dict[str, Any] = exc.body(english)
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
