"""Counting failures against limits (sign-in, device secrets), shared across processes through Redis.

Failures are counted (``hit`` counts every attempt, for the few limits on attempts themselves, like the SOS
button's): a limit is reached after so many wrong passwords (or device secrets) in a window,
and then every attempt on that key, the right one included, is refused with 429 until the window moves on.
Redis keeps the counts when configured (every API process sees the same); the embedded mode counts in memory.
Redis being away must not lock everybody out: the check then lets the attempt through and says so in the log.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from backend.core.config import Settings
from backend.core.errors import TooManyRequests

log = logging.getLogger(__name__)


def _storage(settings: Settings) -> Storage:
    if settings.redis_url:
        storage = storage_from_string(
            settings.redis_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1),
            implementation="redispy",
            key_prefix=f"{settings.redis_prefix}:throttle",
            wrap_exceptions=True,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
        )
    else:
        storage = storage_from_string("async+memory://")
    assert isinstance(storage, Storage)
    return storage


class Throttle:
    """Failure counters per (limit, key) in moving windows."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(_storage(settings))

    async def check(self, rules: Sequence[tuple[str, str]]) -> None:
        """429 ``too_many_attempts`` with the seconds to wait when any (limit, key) has no attempt left."""
        wait = 0.0
        for limit, key in rules:
            item = parse(limit)
            try:
                if await self._limiter.test(item, key):
                    continue
                stats = await self._limiter.get_window_stats(item, key)
            except StorageError:
                log.warning("throttle store unreachable: attempt let through unthrottled")
                return
            wait = max(wait, stats.reset_time - time.time(), 1.0)
        if wait:
            raise TooManyRequests(math.ceil(wait))

    async def fail(self, rules: Sequence[tuple[str, str]]) -> None:
        """Count one failure against each (limit, key)."""
        for limit, key in rules:
            try:
                await self._limiter.hit(parse(limit), key)
            except StorageError:
                log.warning("throttle store unreachable: a failure went uncounted")

    async def hit(self, rules: Sequence[tuple[str, str]]) -> None:
        """Count one attempt against each (limit, key), where every attempt counts, not only failures (an SOS)."""
        await self.fail(rules)

    async def clear(self, limit: str, key: str) -> None:
        """Forget the failures of a key (a successful sign-in clears its account's count)."""
        try:
            await self._limiter.clear(parse(limit), key)
        except StorageError:
            log.warning("throttle store unreachable: a count was not cleared")
