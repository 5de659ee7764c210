"""Signs of life: when each background job last succeeded, when a worker last finished a task, when the scheduler
last enqueued. Telemetry, never the truth of anything, so it lives beside the database: in Redis when configured
(every process writes, every API process reads and exports it as metrics), in memory in the embedded mode.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
import redis.asyncio as aioredis

from backend.core.config import Settings

log = logging.getLogger(__name__)


def _key(settings: Settings) -> str:
    return f"{settings.redis_prefix}:heartbeats"


class Heartbeats:
    """``beat(name)``: ``name`` is alive now; ``read()``: the last beat of every name (Unix seconds)."""

    def __init__(self, settings: Settings) -> None:
        self._redis = aioredis.from_url(settings.redis_url, socket_timeout=1) if settings.redis_url else None
        self._key = _key(settings)
        self._memory: dict[str, float] = {}

    async def beat(self, *names: str) -> None:
        now = time.time()
        if self._redis is None:
            self._memory.update(dict.fromkeys(names, now))
            return
        try:
            await self._redis.hset(self._key, mapping=dict.fromkeys(names, now))
        except redis.RedisError:
            log.warning("heartbeats unreachable: %s not recorded", ", ".join(names))

    async def read(self) -> dict[str, float]:
        if self._redis is None:
            return dict(self._memory)
        try:
            found = await self._redis.hgetall(self._key)
        except redis.RedisError:
            log.warning("heartbeats unreachable")
            return {}
        return {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in found.items()}

    async def queue_depth(self, queue: str) -> int | None:
        """Tasks waiting in a Celery queue of the Redis broker (None in the embedded mode, or Redis away)."""
        if self._redis is None:
            return None
        try:
            return int(await self._redis.llen(queue))
        except redis.RedisError:
            return None

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def sync_beater(settings: Settings) -> Callable[..., None]:
    """``beat(*names)`` for synchronous code (the scheduler), on one connection; it needs Redis."""
    assert settings.redis_url, "synchronous heartbeats go through Redis"
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=1)
    key = _key(settings)

    def beat(*names: str) -> None:
        try:
            client.hset(key, mapping=dict.fromkeys(names, time.time()))
        except redis.RedisError:
            log.warning("heartbeats unreachable: %s not recorded", ", ".join(names))

    return beat
