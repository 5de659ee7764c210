"""SLA-breach prediction, as the operators see it: an order likely to miss its time is flagged on the queue and over
the socket before its time, once; it is offered wider and to more caregivers at once; the rule decides before there
is history, and a model trained on the platform's history decides after."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.runtime import Runtime
from backend.dispatch import breach
from backend.dispatch.breach_features import FEATURES
from backend.dispatch.models import BreachModel, BreachSnapshot
from backend.operations.timetable import daily, schedule
from backend.orders.models import RequestHistory, ServiceRequest, Status
from tests.client import ADMIN_PASSWORD, Api, World, Ws
from tests.conftest import Stack, running_stack
from tests.infra import migrated_database, private_redis

SLA_NORMAL_MINUTES = 5  # short enough that waiting ten minutes for a busy caregiver misses it
BREACH_SETTINGS = {
    "ELDERCARE_BREACH_SWEEP_SECONDS": "1",
    "ELDERCARE_BREACH_MIN_SAMPLES": "10",
    "ELDERCARE_SLA_ACCEPT_MINUTES": json.dumps({"emergency": 3, "urgent": 15, "normal": SLA_NORMAL_MINUTES}),
    "ELDERCARE_OFFER_SECONDS_NORMAL": "300",  # no offer lapses during a test (a lapse would free its caregiver)
    "ELDERCARE_CANDIDATE_RADIUS_KM": "30",
}


@pytest.fixture(scope="module")
def breach_stack() -> Iterator[Stack]:
    with (
        migrated_database() as database_url,
        private_redis() as redis_url,
        running_stack(database_url, redis_url, name="breach-", **BREACH_SETTINGS) as running,
    ):
        yield running


@pytest.fixture
async def admin(breach_stack: Stack) -> AsyncIterator[Api]:
    api = await Api.login(breach_stack.base_url, "admin", ADMIN_PASSWORD)
    yield api
    await api.close()


@pytest.fixture
async def world(breach_stack: Stack, admin: Api) -> AsyncIterator[World]:
    built = await World.build(breach_stack.base_url, admin, caregivers_km=(0.5,))
    yield built
    await built.close()


async def _watching(world: World, operator: Api) -> Ws:
    ws = await Ws.connect(world.base_url, operator.token or "")
    assert (await ws.subscribe(f"community:{world.community['id']}"))["type"] == "subscribed"
    return ws


async def _queue_item(operator: Api, world: World, request_id: int) -> dict[str, Any]:
    queue = await operator.ok("GET", f"/api/v1/dashboard/queue?community_id={world.community['id']}")
    return next(o for o in queue["orders"] if o["id"] == request_id)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_an_order_nobody_can_take_is_flagged_on_the_queue_and_the_socket_once_before_its_time(
    world: World,
) -> None:
    """No history yet: the rule. Nobody is skilled for cleaning: the order goes to the operators and will not be
    accepted by the dispatcher; its time to be accepted is flagged at once, minutes before it passes."""
    operator = await world.user("operator")
    ws = await _watching(world, operator)
    order = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "cleaning"}, 201
    )
    made = _at(order["created_at"])
    due = made + timedelta(minutes=SLA_NORMAL_MINUTES)

    event = await ws.wait_event("request.breach_predicted", timeout=20, request_id=order["id"])
    told = datetime.now(made.tzinfo)
    assert told < due - timedelta(minutes=4)  # well before its time
    data = event["data"]
    assert data["sla"] == "accept" and data["risk"] == "high" and data["method"] == "rule"
    assert abs((_at(data["predicted_breach_at"]) - due).total_seconds()) < 1
    assert data["probability"] >= 0.5

    await ws.wait_status(order["id"], "escalated", timeout=20)  # the dispatcher hands it to a person
    await asyncio.sleep(1.5)  # a sweep since
    item = await _queue_item(operator, world, order["id"])
    assert item["breach_risk"] == "high" and item["breach_sla"] == "accept"
    assert abs((_at(item["predicted_breach_at"]) - due).total_seconds()) < 1

    await asyncio.sleep(4)  # four more sweeps: the operators are not told again
    with contextlib.suppress(TimeoutError):
        while True:
            await ws.recv(timeout=1.5)
    told = [e for e in ws.events if e["event"] == "request.breach_predicted" and e["data"]["request_id"] == order["id"]]
    assert len(told) == 1, told
    await ws.close()
    await operator.close()


async def test_an_order_likely_to_breach_is_offered_wider_and_to_more_caregivers_at_once(world: World) -> None:
    """The only caregiver near the elder holds another offer: the order waits for her, which would take longer than
    its time allows. Flagged, it is offered at once to the two caregivers beyond the dispatch radius (30 km), within
    1.5 × it, both together; without the prediction nobody beyond 30 km is ever asked."""
    operator = await world.user("operator")
    far = [await world.add_caregiver(east_km) for east_km in (36.0, 38.0)]
    busy_with = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    near = world.caregivers[0]["api"]
    for _ in range(80):
        if any(o["request_id"] == busy_with["id"] for o in await near.ok("GET", "/mobile/v1/offers")):
            break
        await asyncio.sleep(0.25)
    else:
        raise AssertionError("the near caregiver was never offered the first order")
    ws = await _watching(world, operator)
    second = await world.add_elder()
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": second["id"], "service_type": "meal"}, 201)

    await ws.wait_event("request.breach_predicted", timeout=20, request_id=order["id"])
    deadline = asyncio.get_running_loop().time() + 15
    offered: set[int] = set()
    while asyncio.get_running_loop().time() < deadline:
        offers = await operator.ok("GET", f"/api/v1/requests/{order['id']}/offers")
        offered = {o["caregiver_id"] for o in offers if o["status"] == "pending"}
        if len(offered) == 2:
            break
        await asyncio.sleep(0.25)
    assert offered == {c["id"] for c in far}, offers
    for caregiver in far:  # each of them sees it on the phone
        assert any(o["request_id"] == order["id"] for o in await caregiver["api"].ok("GET", "/mobile/v1/offers"))
    await ws.close()
    await operator.close()


def _snapshot(**values: float) -> list[float]:
    return [float(values.get(name, 0.0)) for name in FEATURES]


async def _history(runtime: Runtime, world: World, now: datetime) -> None:
    """Yesterday's orders as the sweep saw them: twenty that went to the operators and were never accepted (they
    breached), twenty that had caregivers free and were accepted within a minute."""
    elder = world.elders[0]
    async with runtime.unit_of_work() as session:
        for n in range(40):
            made = now - timedelta(days=1, minutes=n)
            breached = n % 2 == 0
            request = ServiceRequest(
                elder_id=elder["id"],
                community_id=world.community["id"],
                service_type="meal",
                status=Status.escalated.value if breached else Status.completed.value,
                created_at=made,
                updated_at=made,
            )
            session.add(request)
            await session.flush()
            assert request.id is not None
            if not breached:
                session.add(
                    RequestHistory(
                        request_id=request.id, status=Status.accepted.value, at=made + timedelta(minutes=1), by="test"
                    )
                )
            features = (
                _snapshot(sla_accept=1, minutes_left=4.9, status=2, nearest_free_km=99, rule_probability=0.97)
                if breached
                else _snapshot(sla_accept=1, minutes_left=4.9, status=0, free=3, nearest_free_km=0.5)
            )
            session.add(BreachSnapshot(request_id=request.id, at=made + timedelta(seconds=6), features=features))


async def test_the_nightly_model_trained_on_history_is_what_the_sweep_uses(breach_stack: Stack, world: World) -> None:
    settings = Settings(
        database_url=breach_stack.database_url,
        redis_url=None,
        environment="test",
        breach_min_samples=10,
        sla_accept_minutes={"emergency": 3, "urgent": 15, "normal": SLA_NORMAL_MINUTES},
    )
    runtime = Runtime(settings, role="cli")
    try:
        now = utcnow()
        await _history(runtime, world, now)
        async with runtime.unit_of_work() as session:
            model = await breach.train(session=session, settings=settings, now=now)
        assert model is not None and model.samples >= 40 and model.breaches >= 20
        async with runtime.sessions() as session:
            newest = await breach.current_model(session)
            assert newest is not None and newest[0] == model.id
            stored = await session.get(BreachModel, model.id)
            assert stored is not None and stored.trained_at == now and stored.features == FEATURES
    finally:
        await runtime.stop()

    operator = await world.user("operator")
    ws = await _watching(world, operator)
    order = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "cleaning"}, 201
    )
    event = await ws.wait_event("request.breach_predicted", timeout=20, request_id=order["id"])
    assert event["data"]["method"] == "model" and event["data"]["probability"] >= 0.5
    await ws.close()
    await operator.close()


def test_the_scheduler_sweeps_every_minute_and_trains_every_night() -> None:
    settings = Settings()
    assert ("dispatch.sweep_breaches", 60.0) in schedule(settings)
    assert ("dispatch.train_breach_model", 3, 40) in daily(settings)
