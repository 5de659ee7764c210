"""Batched matching: orders arriving within the window are matched jointly, on a stack with batching on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.client import ADMIN_PASSWORD, Api, World
from tests.conftest import Stack, running_stack
from tests.e2e.test_scoring import offers_of, order
from tests.infra import migrated_database, private_redis

BATCH_SECONDS = 4


@pytest.fixture(scope="module")
def batch_stack() -> Iterator[Stack]:
    with (
        migrated_database() as database_url,
        private_redis() as redis_url,
        running_stack(
            database_url,
            redis_url,
            name="batch-",
            ELDERCARE_DISPATCH_BATCH_SECONDS=str(BATCH_SECONDS),
            ELDERCARE_OFFER_FANOUT_EMERGENCY="1",
            ELDERCARE_OFFER_SECONDS_NORMAL="30",
        ) as running,
    ):
        yield running


async def window_opens() -> None:
    """Wait for a fresh batching window (windows are aligned to the clock): the next orders share it."""
    await asyncio.sleep(BATCH_SECONDS - time.time() % BATCH_SECONDS + 0.05)


@pytest.fixture(scope="module")
async def batch_admin(batch_stack: Stack) -> AsyncIterator[Api]:
    api = await Api.login(batch_stack.base_url, "admin", ADMIN_PASSWORD)
    yield api
    await api.close()


async def test_orders_in_one_window_are_matched_jointly_not_first_come_nearest(batch_stack, batch_admin) -> None:
    # Two elders 0.8 km apart; caregiver A sits between them, B 1.6 km the other way.
    world = await World.build(batch_stack.base_url, batch_admin, caregivers_km=(0.4, -1.6))
    a, b = world.caregivers
    west, east = world.elders[0], await world.add_elder(east_km=0.8)
    operator = await world.user("operator")
    # Offered first-come nearest, the west elder would take A (0.4 km) and leave B's 2.4 km ride to the east
    # elder: 2.8 km in all. Jointly, B goes west (1.6 km) and A east (0.4 km): 2.0 km.
    await window_opens()
    first = await order(operator, west)
    second = await order(operator, east)
    assert (await operator.ok("GET", f"/api/v1/requests/{first}/offers")) == []  # waiting for the window
    to_west, to_east = await offers_of(operator, first), await offers_of(operator, second)
    assert [o["caregiver_id"] for o in to_west] == [b["id"]]
    assert [o["caregiver_id"] for o in to_east] == [a["id"]]
    assert "与 2 张工单联合优化派单" in to_west[0]["explanation"]
    shown = await a["api"].ok("GET", "/mobile/v1/offers")
    assert shown[0]["request_id"] == second
    await a["api"].ok("POST", f"/mobile/v1/offers/{shown[0]['id']}/accept")

    # B declines: the west order re-enters the next batch and goes to a third caregiver.
    c = await world.add_caregiver(-3.0)
    await b["api"].ok("POST", f"/mobile/v1/offers/{to_west[0]['id']}/decline", {"reason": "车坏了"})
    again = await offers_of(operator, first, wait_for=2)
    assert [o["caregiver_id"] for o in again] == [b["id"], c["id"]]
    assert [o["status"] for o in again] == ["declined", "pending"]
    await world.close()


async def test_emergencies_do_not_wait_for_the_window(batch_stack, batch_admin) -> None:
    world = await World.build(batch_stack.base_url, batch_admin, caregivers_km=(0.5, 1.0))
    elder, neighbour = world.elders[0], await world.add_elder(east_km=0.2)
    operator = await world.user("operator")
    await window_opens()
    normal = await order(operator, elder)
    urgent = await order(operator, neighbour, priority="emergency", service_type="emergency")
    rescue = await offers_of(operator, urgent)
    assert rescue and (await operator.ok("GET", f"/api/v1/requests/{normal}/offers")) == []
    later = await offers_of(operator, normal)
    assert later and later[0]["created_at"] > rescue[0]["created_at"]
    assert {later[0]["caregiver_id"]} != {o["caregiver_id"] for o in rescue if o["status"] == "pending"}
    await world.close()


async def test_a_two_caregiver_order_takes_two_seats_in_the_joint_matching(batch_stack, batch_admin) -> None:
    world = await World.build(
        batch_stack.base_url, batch_admin, caregivers_km=(0.2, 0.5, 1.2), skills=("meal", "bed_bathing")
    )
    bathed, fed = world.elders[0], await world.add_elder(east_km=0.4)
    operator = await world.user("operator")
    await window_opens()
    bath = await order(operator, bathed, service_type="bed_bathing")
    meal = await order(operator, fed)
    to_bath, to_meal = await offers_of(operator, bath, wait_for=2), await offers_of(operator, meal)
    # Three caregivers, three seats: two distinct people for the bath, the third for the meal.
    assert len(to_bath) == 2 and len(to_meal) == 1
    chosen = [o["caregiver_id"] for o in to_bath + to_meal]
    assert sorted(chosen) == sorted(c["id"] for c in world.caregivers)
    assert all("双人服务" in o["explanation"] for o in to_bath)
