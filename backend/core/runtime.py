"""What a process needs at run time: engines, sessions, bus, job queue and file store, made in one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import crypto, offload
from backend.core.bus import Bus, InProcessBus, RedisBus
from backend.core.config import Settings
from backend.core.db import commit, make_engine, rollback
from backend.core.events import relay_batch
from backend.core.heartbeats import Heartbeats
from backend.core.jobs import CeleryJobs, InProcessJobs, JobQueue
from backend.core.reads import Reads
from backend.core.storage import Storage, make_storage
from backend.core.throttle import Throttle

log = logging.getLogger(__name__)
Role = Literal["api", "worker", "scheduler", "cli"]


class Runtime:
    """The engine, session factory, event bus, job queue and file store of one process."""

    def __init__(self, settings: Settings, *, role: Role = "api", alone: bool = False) -> None:
        """``alone``: a process whose events nobody listens to (a simulated day, on a database of its own): it
        relays them in bulk when it chooses (``relay_now``), not after each commit."""
        self.settings = settings
        self.role = role
        self.relay_each_commit = not alone
        crypto.configure(settings)  # the keys that seal ID and phone numbers in this process
        worker = role == "worker"  # a Celery child runs one task at a time: a small pool of its own
        self.engine = make_engine(
            settings.database_url,
            pooled=role in ("api", "worker"),
            pool_size=min(settings.database_pool_size, 2) if worker else settings.database_pool_size,
            max_overflow=min(settings.database_max_overflow, 2) if worker else settings.database_max_overflow,
            pgbouncer=settings.database_pgbouncer,
        )
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False, info={"runtime": self}
        )
        # Reads that tolerate lag: an API's go to the replica when one is configured; elsewhere to the primary.
        self.reads = Reads(settings, replica=role == "api", info={"runtime": self})
        self.bus: Bus
        self.jobs: JobQueue
        if settings.embedded:
            self.bus = InProcessBus()
            self.jobs = InProcessJobs(self)
        else:
            assert settings.redis_url
            self.bus = RedisBus(settings.redis_url, settings.redis_prefix, listen=role == "api")
            self.jobs = CeleryJobs(settings.redis_url, settings.redis_prefix)
        self.throttle = Throttle(settings)
        self.heartbeats = Heartbeats(settings)  # when jobs last succeeded, workers and the scheduler last worked
        offload.use_processes(role == "api")  # CPU-bound work: processes beside an API's loop, threads elsewhere
        self._storage: Storage | None = None
        self._relay_lock = asyncio.Lock()
        self._relay_wanted = False
        self._relay_task: asyncio.Task[None] | None = None

    @property
    def storage(self) -> Storage:
        """The file store (``ELDERCARE_STORAGE_BACKEND``), made on first use: most processes never need one."""
        if self._storage is None:
            self._storage = make_storage(self.settings)
        return self._storage

    async def start(self) -> None:
        """Connect what needs connecting; resolve the token signing key."""
        await self.bus.start()
        offload.warm()  # an API's pool of processes, started before the first import or plan needs it
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
        await self.heartbeats.close()
        offload.shutdown()
        await self.reads.stop()
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
        if not self.relay_each_commit:
            return None
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
