"""What each request carries through the code: its id, the client's address, and who is signed in.

The middleware opens a context per request (or socket); the sign-in dependency fills in the user. The audit
trail and the logs read it from here, so no service has to pass them along.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,64}")


@dataclass
class RequestContext:
    """The request (or socket) being served."""

    request_id: str
    client: str = ""
    route: str = ""  # "GET /api/v1/elders/12": what the caller asked for (masked before it is stored)
    user_id: int | None = None
    username: str = ""
    role: str = ""
    audited: set[tuple[str, str]] = field(default_factory=set)  # (action, subject) already in the trail

    def sign_in(self, *, user_id: int | None, username: str, role: str) -> None:
        """Record who is calling."""
        self.user_id, self.username, self.role = user_id, username, role

    @property
    def actor(self) -> str:
        """``role:id`` of the signed-in user, or ``anonymous``."""
        return f"{self.role}:{self.user_id}" if self.user_id is not None else "anonymous"


_current: ContextVar[RequestContext | None] = ContextVar("eldercare_request", default=None)


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, else a new one."""
    if header and _REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def open_context(request_id: str, client: str, route: str = "") -> RequestContext:
    """Start the context of a request or socket (the middleware calls this)."""
    context = RequestContext(request_id=request_id, client=client, route=route)
    _current.set(context)
    return context


def current() -> RequestContext | None:
    """The request being served, if any (tasks and the CLI have none)."""
    return _current.get()
