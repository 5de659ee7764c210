"""Read sessions: read-only on the replica while it answers, the request's own on the primary when it does not;
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

pytestmark = pytest.mark.unit


def _reads(runtime: Runtime, read_url: str | None, retry: float = 60) -> Reads:
    settings = runtime.settings.model_copy(update={"database_read_url": read_url, "database_read_retry_seconds": retry})
    return Reads(settings, replica=True, info={})


async def test_a_replica_session_refuses_every_write(runtime: Runtime) -> None:
    # The suite's own database stands in for a replica: what stops a write here is the session, not a standby.
    reads = _reads(runtime, runtime.settings.database_url)
    try:
        async with runtime.sessions() as primary:
            async with reads.session(primary) as session:
                assert session is not primary and session.info["replica"] is True
                assert (await session.execute(text("SHOW transaction_read_only"))).scalar() == "on"
                with pytest.raises(DBAPIError, match="read-only transaction"):
                    await session.execute(text("CREATE TEMPORARY TABLE written (a int)"))
            async with reads.session(primary) as session:
                session.add(District(code="RO-1", name="只读", lat=31.3, lon=120.6))
                with pytest.raises(ReadOnlySessionError):
                    await session.flush()
            found = (await primary.execute(text("SELECT count(*) FROM district WHERE code = 'RO-1'"))).scalar()
            assert found == 0
            # The primary's own connections are not read-only: the option stays with the replica's engine.
            assert (await primary.execute(text("SHOW transaction_read_only"))).scalar() == "off"
    finally:
        await reads.stop()


async def test_reads_are_the_requests_own_while_the_replica_does_not_answer(runtime: Runtime) -> None:
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    for reads in (_reads(runtime, None), _reads(runtime, closed, retry=60)):
        try:
            async with runtime.sessions() as primary, reads.session(primary) as session:
                assert session is primary  # no second connection from the request's own pool
            assert not reads.on_replica  # none, or not tried again within the retry window
        finally:
            await reads.stop()
    down = _reads(runtime, closed)
    state = await down.probe()
    assert state is not None and not state.answers
    working = _reads(runtime, runtime.settings.database_url, retry=60)
    try:
        state = await working.probe()
        assert state is not None and state.answers and state.lag_seconds is None  # a primary: no lag to tell
        assert working.on_replica
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
