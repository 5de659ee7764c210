"""Database engines, sessions and the unit of work."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import MetaData, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from backend.core.i18n import LOCAL_TZ

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata
log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None] | None]


_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the simulation's clock while one runs)."""
    return _clock() if _clock is not None else datetime.now(UTC)


def iso(at: datetime) -> str:
    """A time as every answer and event writes it: ISO 8601 in UTC with a ``Z`` (as pydantic writes UTC times).

    A naive time is taken as UTC (SQLite hands timestamps back naive outside the models' UTCDateTime columns)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_today() -> date:
    """Today in Suzhou (the platform's days: bookings, plans, snapshots)."""
    return utcnow().astimezone(LOCAL_TZ).date()


def local_aware(value: datetime | None) -> datetime | None:
    """A time as given, or, without a zone, read as Suzhou time."""
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=LOCAL_TZ)


def local_midnight(day: date) -> datetime:
    """The start of a Suzhou day, as an aware time."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Make ``utcnow`` read another clock (a simulated day), or the real one again with None."""
    global _clock
    _clock = clock


def make_engine(
    url: str,
    *,
    pooled: bool = True,
    pool_size: int = 10,
    max_overflow: int = 20,
    pgbouncer: bool = False,
    pre_ping: bool = False,
    connect_args: dict[str, Any] | None = None,
) -> AsyncEngine:
    """An async engine for PostgreSQL (asyncpg) or the embedded SQLite file (aiosqlite).

    ``pgbouncer``: the URL is a PgBouncer in transaction pooling, where consecutive transactions may run on
    different server connections: nothing is prepared for longer than one statement's round trip, under a name
    no other client can have taken. ``pre_ping``: a pooled connection is tested before each use (always behind
    PgBouncer). ``connect_args``: the driver's own, added to those."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    driver: dict[str, Any] = dict(connect_args or {})
    if pgbouncer:
        driver |= {
            "statement_cache_size": 0,  # asyncpg's own
            "prepared_statement_cache_size": 0,  # SQLAlchemy's
            "prepared_statement_name_func": _statement_name,
        }
    if not pooled:
        return create_async_engine(url, poolclass=NullPool, hide_parameters=True, connect_args=driver)
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        pool_pre_ping=pre_ping or pgbouncer,  # PgBouncer closes idle client connections (client_idle_timeout)
        hide_parameters=True,
        connect_args=driver,
    )


def _statement_name() -> str:
    return f"__eldercare_{uuid.uuid4().hex}__"


def sync_connect_args(pgbouncer: bool) -> dict[str, Any]:
    """psycopg's connection arguments: behind PgBouncer, no statement prepared on the server (it prepares any
    statement run five times on one connection, by default)."""
    return {"prepare_threshold": None} if pgbouncer else {}


async def lock_transaction(session: AsyncSession, *keys: int) -> None:
    """Hold a lock until the transaction ends, so that transactions taking the same lock run one at a time.

    PostgreSQL: a transaction-scoped advisory lock on ``keys`` (one bigint, or two ints). SQLite: its single write
    lock, taken now instead of at the first write, which serialises the transaction with every other writer (the
    embedded mode has one process and little traffic); call it before reading what the lock protects.
    """
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect == "postgresql":
        names = ", ".join(f":k{i}" for i in range(len(keys)))
        await session.execute(text(f"SELECT pg_advisory_xact_lock({names})"), {f"k{i}": k for i, k in enumerate(keys)})
    elif dialect == "sqlite":
        await session.execute(text("UPDATE lease SET name = name WHERE 0 = 1"))  # a write statement: the lock


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def after_commit(session: AsyncSession, callback: AfterCommit, *, key: str | None = None) -> None:
    """Run ``callback`` once the session's transaction has committed (never on rollback)."""
    callbacks: dict[str, AfterCommit] = session.info.setdefault("after_commit", {})
    callbacks[key or f"cb{len(callbacks)}"] = callback


async def commit(session: AsyncSession) -> None:
    """Commit the unit of work, then run what waited for the commit."""
    await session.commit()
    callbacks: dict[str, AfterCommit] = session.info.pop("after_commit", {})
    for key, callback in callbacks.items():
        try:  # the change is committed: a failed follow-up must not turn it into an error
            result = callback()
            if result is not None:
                await result
        except Exception:
            log.exception("after-commit callback %s failed", key)


async def rollback(session: AsyncSession) -> None:
    """Roll back and forget the callbacks that waited for a commit."""
    session.info.pop("after_commit", None)
    await session.rollback()
