"""Language choice: Simplified Chinese first, English when the client asks for it."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def prefers_english(conn: HTTPConnection) -> bool:
    """True when the client's Accept-Language puts English before Chinese."""
    header = conn.headers.get("accept-language", "").lower()
    if not header:
        return False
    first = header.split(",")[0].strip()
    return first.startswith("en")
