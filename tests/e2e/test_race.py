"""Real concurrency: the database decides who holds an order."""

from __future__ import annotations

import asyncio

import psycopg

from tests.client import Ws


def _sync_url(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg", "postgresql")


async def test_twenty_caregivers_accept_the_same_order_at_once_exactly_one_wins(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=tuple(0.2 + i * 0.1 for i in range(20)))
    operator = await world.user("operator")
    watcher = await Ws.connect(stack.base_url, operator.token)
    order = await operator.ok(
        "POST",
        "/api/v1/requests",
        {"elder_id": world.elders[0]["id"], "service_type": "emergency", "priority": "emergency"},
        201,
    )
    rid = order["id"]
    await watcher.subscribe(f"request:{rid}", since=0)
    await watcher.wait_status(rid, "offered")
    # An emergency goes to many caregivers at once: each of the 20 holds an open offer.
    offers = await asyncio.gather(*(c["api"].ok("GET", "/mobile/v1/offers") for c in world.caregivers))
    assert all(len(o) == 1 and o[0]["request_id"] == rid for o in offers)

    responses = await asyncio.gather(
        *(
            c["api"].post(f"/mobile/v1/offers/{o[0]['id']}/accept")
            for c, o in zip(world.caregivers, offers, strict=True)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 19, codes
    winner = next(c for c, r in zip(world.caregivers, responses, strict=True) if r.status_code == 200)
    losers = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
    assert set(losers) <= {"offer_not_pending", "lost_race"}

    detail = await operator.ok("GET", f"/api/v1/requests/{rid}")
    assert detail["status"] == "accepted" and detail["assigned_caregiver_id"] == winner["id"]
    assert [h["status"] for h in detail["history"]].count("accepted") == 1
    with psycopg.connect(_sync_url(stack.database_url)) as conn:
        by_status = dict(
            conn.execute("SELECT status, count(*) FROM offer WHERE request_id = %s GROUP BY status", (rid,)).fetchall()
        )
    assert by_status == {"accepted": 1, "withdrawn": 19}
    await watcher.close()


async def test_concurrent_orders_never_share_a_caregiver(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.3, 0.6, 0.9, 1.2, 1.5))
    for _ in range(7):
        await world.add_elder()
    operator = await world.user("operator")
    created = await asyncio.gather(
        *(
            operator.ok("POST", "/api/v1/requests", {"elder_id": e["id"], "service_type": "meal"}, 201)
            for e in world.elders
        )
    )
    ids = [o["id"] for o in created]
    # Each caregiver accepts whatever they are offered, as fast as they can, until every order is settled.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 40
    while loop.time() < deadline:
        details = await asyncio.gather(*(operator.ok("GET", f"/api/v1/requests/{i}") for i in ids))
        holding = sum(d["status"] == "accepted" for d in details)
        if holding == len(world.caregivers) and all(d["status"] in ("accepted", "dispatching") for d in details):
            break
        for caregiver in world.caregivers:
            for offer in await caregiver["api"].ok("GET", "/mobile/v1/offers"):
                await caregiver["api"].post(f"/mobile/v1/offers/{offer['id']}/accept")
        await asyncio.sleep(0.2)
    details = await asyncio.gather(*(operator.ok("GET", f"/api/v1/requests/{i}") for i in ids))
    holders = [d["assigned_caregiver_id"] for d in details if d["status"] == "accepted"]
    assert len(set(holders)) == len(holders)  # nobody holds two orders
    # Five caregivers: five orders placed, and every other order waits (dispatching, no offer out) for the first of
    # them to finish the visit in her hands, instead of going to an operator.
    assert len(holders) == 5
    assert sum(d["status"] == "dispatching" for d in details) == len(ids) - len(holders)
    with psycopg.connect(_sync_url(stack.database_url)) as conn:
        doubles = conn.execute(
            "SELECT caregiver_id FROM offer WHERE status = 'pending' GROUP BY caregiver_id HAVING count(*) > 1"
        ).fetchall()
    assert doubles == []
