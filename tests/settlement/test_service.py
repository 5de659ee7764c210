"""The statements' list reads a fixed number of queries however many statements it shows, and each statement's
subtotals are its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlmodel import col

from backend.core.db import utcnow
from backend.core.paging import Page
from backend.core.runtime import Runtime
from backend.orders.models import ServiceRequest
from backend.registry.models import Provider
from backend.settlement import service
from backend.settlement.models import Settlement, SettlementLine
from backend.users.models import Role, User
from tests.factories import elder_at_home, new_community

pytestmark = pytest.mark.unit

BUREAU = User(id=0, username="bureau", password_hash="-", role=Role.admin.value)


@contextmanager
def counted(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements the runtime's engine runs meanwhile."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", seen)


async def _statements(runtime: Runtime, count: int) -> int:
    """A provider with ``count`` monthly statements; the n-th has n government-paid lines of 10.05 yuan in its
    district and one self-paid line of 30 yuan. Returns the provider's id."""
    now = utcnow()
    async with runtime.unit_of_work() as session:
        community = await new_community(session)
        elder = elder_at_home(community)
        provider = Provider(name="结算测试服务组织", kind="home_care", lat=31.3, lon=120.6)
        session.add_all([elder, provider])
        await session.flush()
        made = await session.execute(
            insert(ServiceRequest).returning(col(ServiceRequest.id)),
            [
                {
                    "elder_id": elder.id,
                    "community_id": community.id,
                    "service_type": "meal",
                    "created_at": now,
                    "updated_at": now,
                }
                for _ in range(count + 1)
            ],
        )
        orders = list(made.scalars())
        for n in range(1, count + 1):
            statement = Settlement(provider_id=provider.id, month=f"2026-{n:02d}", created_by="test")  # type: ignore[arg-type]
            session.add(statement)
            await session.flush()
            line = {"settlement_id": statement.id, "elder_id": elder.id, "caregiver_id": 0, "day": date(2026, n, 1)}
            line |= {"district_id": community.district_id, "service_type": "meal", "kind": "included"}
            lines = [{**line, "request_id": orders[i], "paid_by": "government", "amount_fen": 1005} for i in range(n)]
            lines.append({**line, "request_id": orders[n], "paid_by": "self", "amount_fen": 3000})
            await session.execute(insert(SettlementLine), lines)
        assert provider.id is not None
        return provider.id


async def test_the_list_reads_a_fixed_number_of_queries_and_each_statement_its_own_subtotals(
    runtime: Runtime,
) -> None:
    one, six = await _statements(runtime, 1), await _statements(runtime, 6)
    queries = {}
    for provider_id, count in ((one, 1), (six, 6)):
        async with runtime.sessions() as session:
            with counted(runtime) as statements:
                rows = await service.listing(
                    session=session, user=BUREAU, provider_id=provider_id, month=None, page=Page(limit=50)
                )
                shown = await service.publics(session, rows)
            queries[count] = len(statements)
            alone = [await service.public(session, s) for s in rows]
        assert len(shown) == count and shown == alone  # the same as one statement at a time
        for public in shown:
            n = int(public.month[-2:])
            assert public.provider_name == "结算测试服务组织"
            assert [(s.key, s.orders, s.fen) for s in public.by_category] == [
                ("self", 1, 3000),
                ("uncategorised", n, 1005 * n),
            ]
            assert [(s.orders, s.fen) for s in public.by_district] == [(n + 1, 1005 * n + 3000)]
            assert public.by_district[0].yuan == f"{10.05 * n + 30:.2f}"
    assert queries[1] == queries[6] <= 4, queries  # the list, two kinds of subtotals, the providers' names


async def test_an_empty_list_reads_nothing_more(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        with counted(runtime) as statements:
            assert await service.publics(session, []) == []
    assert statements == []
