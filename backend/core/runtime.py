"""What a process needs at run time: engine, sessions, bus and job queue, made in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.bus import Bus, InProcessBus, RedisBus
from backend.core.config import Settings
from backend.core.db import commit, make_engine, rollback
from backend.core.events import relay_batch
from backend.core.jobs import CeleryJobs, InProcessJobs, JobQueue

log = logging.getLogger(__name__)
Role = Literal["api", "worker", "scheduler", "cli"]


class Runtime:
    """The engine, session factory, event bus and job queue of one process."""

    def __init__(self, settings: Settings, *, role: Role = "api") -> None:
        self.settings = settings
        self.role = role
        self.engine = make_engine(settings.database_url, pooled=role in ("api", "worker"))
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False, info={"runtime": self}
        )
        self.bus: Bus
        self.jobs: JobQueue
        if settings.embedded:
            self.bus = InProcessBus()
            self.jobs = InProcessJobs(self)
        else:
            assert settings.redis_url
            self.bus = RedisBus(settings.redis_url, settings.redis_prefix, listen=role == "api")
            self.jobs = CeleryJobs(settings.redis_url)
        self._relay_lock = asyncio.Lock()
        self._relay_wanted = False
        self._relay_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect what needs connecting; resolve the token signing key."""
        await self.bus.start()
        if self.settings.secret_key is None and self.role == "api":
            await self._load_signing_key()

    async def _load_signing_key(self) -> None:
        from sqlalchemy.exc import DBAPIError

        from backend.core.secrets import platform_secret

        try:
            async with self.unit_of_work() as session:
                key = await platform_secret(session, "jwt_signing_key")
        except DBAPIError:
            log.warning("database not migrated: tokens are signed with a key that lasts until restart")
            key = secrets.token_urlsafe(48)
        self.settings = self.settings.model_copy(update={"secret_key": key})

    async def stop(self) -> None:
        """Finish pending relays, close connections."""
        if self._relay_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._relay_task, timeout=5)
        await self.jobs.stop()
        await self.bus.stop()
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session that commits (then runs after-commit work) or rolls back."""
        async with self.sessions() as session:
            try:
                yield session
                await commit(session)
            except BaseException:
                await rollback(session)
                raise

    def kick_relay(self) -> asyncio.Task[None] | None:
        """Relay pending events soon; coalesces bursts into one pass."""
        self._relay_wanted = True
        if self._relay_task is None or self._relay_task.done():
            self._relay_task = asyncio.get_running_loop().create_task(self._relay_loop(), name="relay")
        # Workers run a task and return: they wait for the relay so no event waits for the next task.
        return self._relay_task if self.role != "api" else None

    async def _relay_loop(self) -> None:
        while self._relay_wanted:
            self._relay_wanted = False
            try:
                await self.relay_now()
            except Exception:
                log.exception("event relay failed; the sweep will retry")

    async def relay_now(self) -> int:
        """Sequence, store and publish every pending event; returns how many messages went out."""
        sent = 0
        async with self._relay_lock:
            while True:
                async with self.sessions() as session:
                    messages = await relay_batch(session)
                    await session.commit()
                if not messages:
                    return sent
                await self.bus.publish(messages)
                sent += len(messages)
