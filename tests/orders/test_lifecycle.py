"""The state machine of DESIGN.md, transition by transition, on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden
from backend.core.events import OutboxEvent
from backend.core.runtime import Runtime
from backend.orders.lifecycle import RIGHTS, Actor, transition
from backend.orders.models import RequestHistory, ServiceRequest, Status
from backend.registry.models import Elder
from backend.registry.schemas import ElderCreate
from backend.registry.service import create_elder
from tests.client import id_number, unique_phone
from tests.factories import HERE, new_community

pytestmark = pytest.mark.unit

S = Status
# Written out from DESIGN.md's diagram, independently of the module's own table.
LEGAL = {
    (S.new, S.dispatching), (S.new, S.escalated), (S.new, S.cancelled),
    (S.dispatching, S.offered), (S.dispatching, S.escalated), (S.dispatching, S.cancelled),
    (S.dispatching, S.accepted),  # assigned by hand while the dispatcher looks
    (S.offered, S.dispatching), (S.offered, S.accepted), (S.offered, S.escalated), (S.offered, S.cancelled),
    (S.accepted, S.en_route), (S.accepted, S.in_service), (S.accepted, S.cancelled),
    (S.accepted, S.dispatching),  # extension: the caregiver called in sick, the visit goes to someone else
    (S.en_route, S.in_service), (S.en_route, S.cancelled),
    (S.in_service, S.completed),
    (S.completed, S.closed),
    (S.escalated, S.dispatching), (S.escalated, S.accepted), (S.escalated, S.cancelled),
}  # fmt: skip


@pytest.fixture(scope="module")
async def elder_id(runtime: Runtime) -> int:
    async with runtime.unit_of_work() as session:
        community = await new_community(session)
        elder = await create_elder(
            session=session,
            user=None,
            data=ElderCreate(
                name="测",
                id_number=id_number(),
                phone=unique_phone(),
                community_id=community.id,
                address="x",
                location=HERE,
            ),
        )
    assert elder.id is not None
    return elder.id


async def _order_in(session: AsyncSession, elder_id: int, status: Status) -> int:
    """An order placed straight into a given state."""
    elder = await session.get(Elder, elder_id)
    assert elder is not None
    now = utcnow()
    request = ServiceRequest(
        elder_id=elder_id,
        community_id=elder.community_id,
        service_type="meal",
        status=status,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    await session.flush()
    assert request.id is not None
    return request.id


async def _written(session: AsyncSession, request_id: int) -> tuple[int, int]:
    history = await session.scalar(select(func.count()).where(col(RequestHistory.request_id) == request_id))
    outbox = await session.scalar(
        select(func.count())
        .select_from(OutboxEvent)
        .where(col(OutboxEvent.data)["request_id"].as_integer() == request_id)
    )
    return int(history or 0), int(outbox or 0)


async def _status(session: AsyncSession, request_id: int) -> str | None:
    """The order's state as the database has it."""
    return await session.scalar(select(ServiceRequest.status).where(col(ServiceRequest.id) == request_id))


def _actor_for(to: Status) -> Actor:
    role = sorted(RIGHTS[to])[0]
    return Actor(role=role, label=f"{role}:test")


@pytest.mark.parametrize("to", [s for s in Status if s != Status.new])
@pytest.mark.parametrize("current", list(Status))
async def test_each_move_is_allowed_exactly_when_the_design_allows_it(session, elder_id, current, to) -> None:
    request_id = await _order_in(session, elder_id, current)
    request = await session.get(ServiceRequest, request_id)
    assert request is not None
    try:
        async with session.begin_nested():  # as a unit of work: the whole move, or nothing of it
            await transition(session, request, to, actor=_actor_for(to), reason="test")
        moved = True
    except Conflict as refused:
        assert refused.code == "illegal_transition"
        moved = False
    assert moved == ((current, to) in LEGAL)
    assert await _status(session, request_id) == (to if moved else current)
    assert await _written(session, request_id) == ((1, 1) if moved else (0, 0))


@pytest.mark.parametrize(
    ("to", "role"),
    [
        (S.accepted, "elder"),
        (S.cancelled, "caregiver"),
        (S.completed, "operator"),
        (S.offered, "admin"),
        (S.escalated, "elder"),
    ],
)
async def test_roles_without_the_right_are_refused_and_nothing_is_written(session, elder_id, to, role) -> None:
    start = next(current for current, target in LEGAL if target == to)
    request_id = await _order_in(session, elder_id, start)
    request = await session.get(ServiceRequest, request_id)
    assert request is not None
    with pytest.raises(Forbidden) as refused:
        async with session.begin_nested():
            await transition(session, request, to, actor=Actor(role=role, label=role))
    assert refused.value.code == "transition_forbidden"
    assert await _status(session, request_id) == start
    assert await _written(session, request_id) == (0, 0)


async def test_two_concurrent_moves_from_the_same_state_one_wins_one_loses(runtime, elder_id) -> None:
    """Two units of work on two connections, committed: the database decides."""
    async with runtime.unit_of_work() as session:
        request_id = await _order_in(session, elder_id, S.offered)
    loaded = asyncio.Event()

    async def move(to: Status, delay: float) -> str:
        try:
            async with runtime.unit_of_work() as session:
                request = await session.get(ServiceRequest, request_id)
                assert request is not None and request.status == S.offered
                if delay:
                    await loaded.wait()
                else:
                    loaded.set()
                await asyncio.sleep(delay)
                await transition(session, request, to, actor=_actor_for(to))
                await asyncio.sleep(0.2 if not delay else 0)  # hold the row lock while the other waits
            return "won"
        except Conflict as lost:
            return lost.code

    results = await asyncio.gather(move(S.accepted, 0), move(S.cancelled, 0.05))
    assert results == ["won", "lost_race"]
    async with runtime.sessions() as session:
        assert await _status(session, request_id) == S.accepted
        assert await _written(session, request_id) == (1, 1)
