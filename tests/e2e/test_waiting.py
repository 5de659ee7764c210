"""An order that found every nearby caregiver busy is offered the moment one becomes free (she declines another
offer, or checks out of a visit), not at the stall sweep: here the sweep would take two minutes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any

import pytest

from tests.client import ADMIN_PASSWORD, Api, World, offer_for, offset
from tests.conftest import Stack, running_stack
from tests.infra import migrated_database, private_redis

STALL_SWEEP_S = 120  # the stall sweep cannot be what offers the waiting order
FREE_TO_OFFER_S = 5  # the goal: offered within 5 s of a caregiver being free


@pytest.fixture(scope="module")
def slow_sweep_stack() -> Iterator[Stack]:
    with migrated_database() as database_url, private_redis() as redis_url:
        slow = {
            "ELDERCARE_STALLED_SECONDS": str(STALL_SWEEP_S),
            "ELDERCARE_WAITING_RECHECK_SECONDS": str(STALL_SWEEP_S),
            "ELDERCARE_OFFER_SECONDS_NORMAL": "300",  # no offer lapses meanwhile (a lapse frees its caregiver too)
        }
        with running_stack(database_url, redis_url, name="waiting-", **slow) as running:
            yield running


@pytest.fixture
async def world(slow_sweep_stack: Stack) -> AsyncIterator[World]:
    admin = await Api.login(slow_sweep_stack.base_url, "admin", ADMIN_PASSWORD)
    built = await World.build(slow_sweep_stack.base_url, admin, caregivers_km=(0.5, 0.8))
    yield built
    await built.close()
    await admin.close()


async def _waits(operator: Api, caregiver: Api, request_id: int) -> None:
    """The order has no offer a while after it was made, and is still dispatching: waiting for a caregiver."""
    await asyncio.sleep(2)
    offers = await caregiver.ok("GET", "/mobile/v1/offers")
    assert all(o["request_id"] != request_id for o in offers), offers
    assert (await operator.ok("GET", f"/api/v1/requests/{request_id}"))["status"] == "dispatching"


async def _at_the_door(world: World, caregiver: Api, request_id: int, offer_id: int) -> None:
    """She accepts the order, sets off and checks in at the elder's door."""
    await caregiver.ok("POST", f"/mobile/v1/offers/{offer_id}/accept")
    await caregiver.ok("POST", f"/mobile/v1/requests/{request_id}/en-route")
    at_door = offset(world.home["lat"], world.home["lon"], east_km=0.05)
    await caregiver.ok("POST", f"/mobile/v1/requests/{request_id}/check-in", at_door)


async def _offered_after(freeing: Awaitable[Any], caregiver: Api, request_id: int) -> tuple[dict[str, Any], float]:
    """Free the caregiver (``freeing``), then her offer of the waiting order and the seconds it took to come."""
    await freeing
    freed = time.monotonic()
    offer = await offer_for(caregiver, request_id, timeout=FREE_TO_OFFER_S)
    return offer, time.monotonic() - freed


async def test_a_waiting_order_is_offered_as_soon_as_a_caregiver_is_free(world: World) -> None:
    operator = await world.user("operator")
    near, other = (c["api"] for c in world.caregivers)
    elders = [world.elders[0], *[await world.add_elder() for _ in range(3)]]

    async def order(elder: dict) -> int:
        made = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
        return int(made["id"])

    # Both caregivers hold an offer; a third order finds nobody free and waits, dispatching.
    a = await order(elders[0])
    offer_a = await offer_for(near, a)
    b = await order(elders[1])
    await offer_for(other, b)
    waiting = await order(elders[2])
    await _waits(operator, near, waiting)

    # The nearer one declines hers: the waiting order is offered to her at once.
    decline = near.ok("POST", f"/mobile/v1/offers/{offer_a['id']}/decline", {"reason": "在另一户服务"})
    offer, after_decline = await _offered_after(decline, near, waiting)

    # She takes it and checks in; the other still holds her offer, so the next order waits too, and is offered to
    # her the moment she checks out.
    await _at_the_door(world, near, waiting, offer["id"])
    after = await order(elders[3])
    await _waits(operator, near, after)
    check_out = near.ok("POST", f"/mobile/v1/requests/{waiting}/check-out", {"notes": "已送达"})
    offer, after_checkout = await _offered_after(check_out, near, after)
    assert "公里" in offer["explanation"]
    print(
        f"free → offer: {after_decline * 1000:.0f} ms after a decline, {after_checkout * 1000:.0f} ms after check-out"
    )
    await operator.close()


async def test_an_order_waits_for_the_caregiver_serving_a_visit_and_is_offered_at_her_check_out(world: World) -> None:
    operator = await world.user("operator")
    near, other = (c["api"] for c in world.caregivers)
    await other.ok("POST", "/mobile/v1/shift", {"on_shift": False})  # one caregiver on shift, nobody else
    first, second = world.elders[0], await world.add_elder()
    a = (await operator.ok("POST", "/api/v1/requests", {"elder_id": first["id"], "service_type": "meal"}, 201))["id"]
    await _at_the_door(world, near, a, (await offer_for(near, a))["id"])

    # She is serving A: B waits for her (dispatching, no offer) rather than going to an operator.
    b = (await operator.ok("POST", "/api/v1/requests", {"elder_id": second["id"], "service_type": "meal"}, 201))["id"]
    await _waits(operator, near, b)
    check_out = near.ok("POST", f"/mobile/v1/requests/{a}/check-out", {"notes": "已送达"})
    offer, after_checkout = await _offered_after(check_out, near, b)
    assert offer["request_id"] == b
    print(f"a visit ended → the order waiting for her offered {after_checkout * 1000:.0f} ms later")
    await operator.close()


async def test_an_order_waiting_for_a_skill_is_offered_once_a_free_caregiver_learns_it(world: World) -> None:
    """Her provider's admin records that she now gives baths: the bath waiting for the one busy bather is offered to
    her at once (registry states the change; dispatch wakes the orders waiting near her), not at the stall sweep."""
    operator = await world.user("operator")
    (near, near_api), (_other, other_api) = ((c, c["api"]) for c in world.caregivers)
    await world.admin.ok("PATCH", f"/api/v1/caregivers/{near['id']}", {"skills": ["meal"]})
    meal = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    await offer_for(near_api, meal["id"])  # the nearer one is asked first; the bather stays free for the bath
    second = await world.add_elder()
    held = await operator.ok("POST", "/api/v1/requests", {"elder_id": second["id"], "service_type": "meal"}, 201)
    await offer_for(other_api, held["id"])  # now the only bather holds an offer too
    third = await world.add_elder()
    bath = await operator.ok("POST", "/api/v1/requests", {"elder_id": third["id"], "service_type": "bathing"}, 201)
    await _waits(operator, other_api, bath["id"])

    declined = (await offer_for(near_api, meal["id"]))["id"]  # she says no to the meal: free, but no bather yet
    await near_api.ok(
        "POST", f"/mobile/v1/offers/{declined}/decline", {"reason": "在另一户服务"}
    )  # free, no bather yet
    learns = world.admin.ok("PATCH", f"/api/v1/caregivers/{near['id']}", {"skills": ["meal", "bathing"]})
    offer, after = await _offered_after(learns, near_api, bath["id"])
    assert offer["request_id"] == bath["id"]
    print(f"a skill learnt → the order waiting for it offered {after * 1000:.0f} ms later")
    await operator.close()
