"""``lock_transaction`` serialises transactions on SQLite as the advisory lock does on PostgreSQL: the embedded
mode's batches and emergency calls never run side by side."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from backend.core.db import lock_transaction, make_engine, make_sessionmaker

pytestmark = pytest.mark.unit


async def test_a_second_transaction_taking_the_lock_waits_for_the_first_to_end_on_sqlite(tmp_path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE lease (name VARCHAR(32) PRIMARY KEY)"))
    sessions = make_sessionmaker(engine)
    order: list[str] = []
    try:
        async with sessions() as first:
            await lock_transaction(first, 7_020_612)
            order.append("first holds")

            async def second() -> None:
                async with sessions() as session:
                    await lock_transaction(session, 7_020_612)
                    order.append("second holds")
                    await session.commit()

            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.5)
            assert not waiting.done() and order == ["first holds"]  # blocked while the first transaction lives
            order.append("first ends")
            await first.commit()
            await asyncio.wait_for(waiting, 10)
        assert order == ["first holds", "first ends", "second holds"]
    finally:
        await engine.dispose()
