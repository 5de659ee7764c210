"""Language choice: Simplified Chinese first, English when the client asks for it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from starlette.requests import HTTPConnection

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # Suzhou: "today", local times without a zone


def prefers_english(conn: HTTPConnection) -> bool:
    """True when the client's Accept-Language puts English before Chinese."""
    header = conn.headers.get("accept-language", "").lower()
    if not header:
        return False
    first = header.split(",")[0].strip()
    return first.startswith("en")
