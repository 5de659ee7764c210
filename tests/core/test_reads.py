"""Read sessions: read-only wherever they run, on the replica while it answers, on the primary when it does not;
the database URLs in the forms people write them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.areas.models import District
from backend.core.config import Settings
from backend.core.reads import ReadOnlySessionError, Reads
from backend.core.runtime import Runtime
from tests.infra import free_port


def _reads(runtime: Runtime, read_url: str | None, retry: float = 60) -> Reads:
    settings = runtime.settings.model_copy(update={"database_read_url": read_url, "database_read_retry_seconds": retry})
    return Reads(settings, runtime.engine, replica=True, info={})


async def test_a_read_session_refuses_every_write_on_the_replica_and_on_the_primary(runtime: Runtime) -> None:
    # The suite's own database stands in for a replica: what stops a write here is the session, not a standby.
    for reads in (_reads(runtime, runtime.settings.database_url), _reads(runtime, None)):
        try:
            async with reads.session() as session:
                assert (await session.execute(text("SHOW transaction_read_only"))).scalar() == "on"
                with pytest.raises(DBAPIError, match="read-only transaction"):
                    await session.execute(text("CREATE TEMPORARY TABLE written (a int)"))
            async with reads.session() as session:
                session.add(District(code="RO-1", name="只读", lat=31.3, lon=120.6))
                with pytest.raises(ReadOnlySessionError):
                    await session.flush()
            async with reads.session() as session:
                found = (await session.execute(text("SELECT count(*) FROM district WHERE code = 'RO-1'"))).scalar()
                assert found == 0
        finally:
            await reads.stop()


async def test_reads_go_to_the_primary_while_the_replica_does_not_answer(runtime: Runtime) -> None:
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    reads = _reads(runtime, closed, retry=60)
    try:
        assert reads.on_replica
        async with reads.session() as session:
            assert not session.info.get("replica")
            assert (await session.execute(text("SELECT count(*) FROM district"))).scalar() is not None
            assert (await session.execute(text("SHOW transaction_read_only"))).scalar() == "on"
        assert not reads.on_replica  # not tried again within the retry window
        state = await reads.probe()
        assert state is not None and not state.answers
    finally:
        await reads.stop()
    working = _reads(runtime, runtime.settings.database_url, retry=60)
    try:
        state = await working.probe()
        assert state is not None and state.answers and state.lag_seconds is None  # a primary: no lag to tell
        async with working.session() as session:
            assert session.info.get("replica") is True
    finally:
        await working.stop()
    assert await _reads(runtime, None).probe() is None  # none configured: nothing to report


@pytest.mark.parametrize(
    ("written", "taken"),
    [
        ("postgresql://u:p@db:5432/eldercare", "postgresql+asyncpg://u:p@db:5432/eldercare"),
        ("postgres://u@db/eldercare", "postgresql+asyncpg://u@db/eldercare"),
        ("postgresql+asyncpg://u@db/eldercare", "postgresql+asyncpg://u@db/eldercare"),
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
    ],
)
def test_database_urls_are_taken_as_written(written: str, taken: str) -> None:
    settings = Settings(database_url=written, database_read_url=written)
    assert settings.database_url == settings.database_read_url == taken
    assert Settings(database_read_url="").database_read_url is None  # compose's empty default: no replica
