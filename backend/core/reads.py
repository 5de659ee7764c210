"""Reads off the primary: the sessions of the reads that tolerate a replica's lag.

``ELDERCARE_DATABASE_READ_URL`` names a streaming replica (a hot standby). The API's dashboards, lists and exports
that may be a moment old read there; everything else stays on the primary (README, "Reads off the primary"). A
replica session is a read-only transaction, never committed, and refuses to flush a change. Without a replica, or
while it does not answer (then for ``ELDERCARE_DATABASE_READ_RETRY_SECONDS`` before it is tried again), those reads
are made in the request's own unit of work on the primary, as every read was before; readiness reports which
database serves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.core.db import make_engine

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 3.0  # seconds to reach the replica before its reads go to the primary
# On a standby: seconds behind the primary, 0 while it has replayed everything it received.
LAG = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


@dataclass(frozen=True)
class ReplicaState:
    """What readiness reports of the replica: whether it answers, and its lag (seconds; None: not a standby)."""

    answers: bool
    lag_seconds: float | None = None


class ReadOnlySessionError(RuntimeError):
    """Something tried to write through a read session: a bug, never a user's doing."""


class ReadOnlySession(Session):
    """A session that refuses to flush a change (the database refuses any other write: a read-only transaction)."""

    def flush(self, objects: Any = None) -> None:
        if self.new or self.dirty or self.deleted:
            raise ReadOnlySessionError("a read session never writes: use the request's unit of work")
        super().flush(objects)


def _read_only(engine: AsyncEngine) -> AsyncEngine:
    """The engine's transactions begin READ ONLY on PostgreSQL (no extra round trip; connections are reset when
    returned to the pool). SQLite has no such transaction: the session's guard and its rollback remain."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(postgresql_readonly=True)
    return engine


async def replayed(reads: AsyncSession, model: Any, row_id: int) -> bool:
    """True when a read session sees this row: on a replica, the transaction that wrote it has been replayed."""
    key = inspect(model).primary_key[0]
    return await reads.scalar(select(key).where(key == row_id)) is not None


class Reads:
    """Where an API process's lag-tolerant reads go: the replica while it answers, else the request's own session."""

    def __init__(self, settings: Settings, *, replica: bool, info: dict[str, Any]) -> None:
        self.retry_seconds = settings.database_read_retry_seconds
        self.replica: AsyncEngine | None = None
        url = settings.database_read_url
        if replica and url is not None:
            connect_args: dict[str, Any] = {}
            if url.startswith("postgresql"):
                # Named for the standby's pg_stat_activity; connecting gives up soon, then the primary reads.
                connect_args = {"timeout": CONNECT_TIMEOUT, "server_settings": {"application_name": "eldercare-read"}}
            self.replica = make_engine(
                url,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow,
                pgbouncer=settings.database_pgbouncer,
                pre_ping=True,  # a standby restarted leaves dead connections in the pool
                connect_args=connect_args,
            )
        self._replica_sessions = (
            async_sessionmaker(
                _read_only(self.replica),
                expire_on_commit=False,
                autoflush=False,
                sync_session_class=ReadOnlySession,
                info={**info, "replica": True},
            )
            if self.replica is not None
            else None
        )
        self._down_until = 0.0  # time.monotonic() until which the replica is not tried

    @property
    def on_replica(self) -> bool:
        """True when reads go to the replica now (configured, and not failed within the retry window)."""
        return self.replica is not None and time.monotonic() >= self._down_until

    def _failed(self, error: BaseException) -> None:
        if time.monotonic() >= self._down_until:
            log.warning("read replica unreachable, reads on the primary for %s s: %r", self.retry_seconds, error)
        self._down_until = time.monotonic() + self.retry_seconds

    @contextlib.asynccontextmanager
    async def session(self, primary: AsyncSession) -> AsyncIterator[AsyncSession]:
        """A read-only session on the replica while it answers (rolled back at the end); else ``primary``, the
        request's own unit of work: never a second connection from the pool the request already holds one of,
        which a burst of reads would exhaust, each waiting for a connection the others hold."""
        session = await self._replica_session() if self.on_replica else None
        if session is None:
            yield primary
            return
        async with session:
            try:
                yield session
            except DBAPIError as error:
                if error.connection_invalidated:
                    self._failed(error)  # the next reads go to the primary
                raise
            finally:
                await session.rollback()

    async def _replica_session(self) -> AsyncSession | None:
        """A session holding a live replica connection, or None (then the primary reads)."""
        assert self._replica_sessions is not None
        session = self._replica_sessions()
        try:
            await session.connection()  # checks a connection out (and pings it): fails here, not mid-read
        except Exception as error:  # any reason the replica cannot serve: the primary can
            await session.close()
            self._failed(error)
            return None
        return session

    async def probe(self) -> ReplicaState | None:
        """For readiness: whether the replica answers and how far behind it is; None without one. An answer ends
        the retry window at once."""
        if self.replica is None:
            return None
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT + 1), self.replica.connect() as conn:
                lag = (await conn.execute(LAG)).scalar() if self.replica.dialect.name == "postgresql" else None
        except Exception as error:
            self._failed(error)
            return ReplicaState(answers=False)
        self._down_until = 0.0
        return ReplicaState(answers=True, lag_seconds=None if lag is None else round(float(lag), 3))

    async def stop(self) -> None:
        if self.replica is not None:
            await self.replica.dispose()
