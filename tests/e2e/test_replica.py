"""Reads off the primary against a real streaming replica: the platform on a private primary with its hot standby as
``ELDERCARE_DATABASE_READ_URL``. The dashboard's figures come from the standby (an order the standby has not yet
replayed is not counted, then is), an order just made is read at once from the primary, every read the standby
serves is a read (it cannot take a write), and when the standby stops the API answers from the primary."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime

import pytest

from backend.core.i18n import LOCAL_TZ
from tests.client import ADMIN_PASSWORD, Api, World, order_life
from tests.conftest import Stack, running_stack
from tests.infra import migrate
from tests.replica import Pair, postgres_bin, streaming_pair

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="needs PostgreSQL's server programs (initdb)")

# Read off the primary, as README's configuration table says.
REPLICA_READS = (
    "/api/v1/dashboard/figures?community_id={community}&days=3",
    "/api/v1/dashboard/city",
    "/api/v1/dashboard/city/export?format=csv",
    "/api/v1/districts",
    "/api/v1/communities?district_id={district}",
    "/api/v1/settlements?provider_id={provider}",
    "/api/v1/subsidy?month={month}",
)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with streaming_pair() as started:
        migrate(started.primary.url)
        started.caught_up()
        yield started


@pytest.fixture(scope="module")
def replica_stack(pair: Pair, redis_url: str) -> Iterator[Stack]:
    with running_stack(
        pair.primary.url,
        redis_url,
        name="replica-",
        ELDERCARE_DATABASE_READ_URL=pair.standby.url,
        ELDERCARE_DATABASE_READ_RETRY_SECONDS="1",
    ) as stack:
        yield stack


def _standby(pair: Pair, sql: str) -> object:
    with pair.standby.connect() as conn:
        row = conn.execute(sql).fetchone()
    return row[0] if row else None


async def _orders_counted(api: Api, world: World) -> int:
    figures = await api.ok("GET", f"/api/v1/dashboard/figures?community_id={world.community['id']}&days=1")
    return int(figures["today"]["orders"])


async def _until(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)
    return value


async def test_figures_come_from_the_standby_and_an_order_just_made_from_the_primary(
    pair: Pair, replica_stack: Stack
) -> None:
    admin = await Api.login(replica_stack.base_url, "admin", ADMIN_PASSWORD)
    world = await World.build(replica_stack.base_url, admin)
    operator = await world.user("operator")
    ready = await admin.ok("GET", "/readyz")
    assert ready["reads"] == "replica" and ready["checks"]["read_replica"] == "ok"
    assert 0 <= ready["read_lag_seconds"] < 5
    pair.caught_up()
    assert await _orders_counted(operator, world) == 0
    # The API's read pool is connected to the standby, under its own name.
    assert _standby(pair, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'eldercare-read'")

    _standby(pair, "SELECT pg_wal_replay_pause()")
    try:
        made = await operator.ok(
            "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
        )
        order = await operator.ok("GET", f"/api/v1/requests/{made['id']}")  # at once, from the primary
        assert order["id"] == made["id"] and order["history"][0]["status"] == "new"
        assert await _orders_counted(operator, world) == 0  # the standby has not replayed it yet
    finally:
        _standby(pair, "SELECT pg_wal_replay_resume()")
    assert await _until(lambda: _orders_counted(operator, world)) == 1  # replayed: counted
    for closable in (operator, world, admin):
        await closable.close()


async def test_every_replica_read_answers_from_a_standby_that_takes_no_write(pair: Pair, replica_stack: Stack) -> None:
    admin = await Api.login(replica_stack.base_url, "admin", ADMIN_PASSWORD)
    world = await World.build(replica_stack.base_url, admin)
    order, _took = await order_life(world)
    month = datetime.now(LOCAL_TZ).strftime("%Y-%m")
    _standby(pair, "SELECT pg_wal_replay_pause()")
    try:
        # A statement run a moment ago: its lines are read from the primary while the standby lacks it.
        run = await admin.ok("POST", "/api/v1/settlements/run", {"provider_id": world.provider["id"], "month": month})
        statement = run["settlement"]["id"]
        lines = await admin.ok("GET", f"/api/v1/settlements/{statement}/lines")
        assert [line["request_id"] for line in lines] == [order["id"]]
    finally:
        _standby(pair, "SELECT pg_wal_replay_resume()")
    pair.caught_up()
    assert _standby(pair, "SELECT pg_is_in_recovery()") is True  # a hot standby: a write would fail there
    scope = {"community": world.community["id"], "district": world.district["id"]}
    for path in REPLICA_READS:
        response = await admin.get(path.format(**scope, provider=world.provider["id"], month=month))
        assert response.status_code == 200, (path, response.text)
    export = await admin.get(f"/api/v1/settlements/{statement}/export?format=csv")
    assert export.status_code == 200 and str(world.elders[0]["id"]) in export.content.decode("utf-8-sig")
    audit = await admin.ok("GET", f"/api/v1/audit-log?subject=elder:{world.elders[0]['id']}&action=elder.export")
    assert audit, "the export's audit row is written on the primary"
    listed = await admin.ok("GET", f"/api/v1/settlements?provider_id={world.provider['id']}")
    assert [(s["id"], s["included"] + s["excluded"]) for s in listed] == [(statement, 1)]
    await world.close()
    await admin.close()


async def test_the_api_answers_from_the_primary_when_the_standby_stops(pair: Pair, replica_stack: Stack) -> None:
    admin = await Api.login(replica_stack.base_url, "admin", ADMIN_PASSWORD)
    world = await World.build(replica_stack.base_url, admin)
    operator = await world.user("operator")
    pair.standby.stop()
    try:
        made = await operator.ok(
            "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
        )
        assert (await operator.ok("GET", f"/api/v1/requests/{made['id']}"))["id"] == made["id"]
        assert await _orders_counted(operator, world) == 1  # from the primary, which has it
        for path in ("/api/v1/dashboard/city", "/api/v1/districts"):
            assert (await operator.get(path)).status_code == 200, path
        ready = await admin.ok("GET", "/readyz")  # still ready: its reads are on the primary
        assert ready["reads"] == "primary" and ready["checks"] == {
            "database": "ok",
            "redis": "ok",
            "read_replica": "unreachable",
        }
    finally:
        pair.standby.start()

    async def replica_again() -> bool:
        return (await admin.ok("GET", "/readyz"))["reads"] == "replica"

    await _until(replica_again)
    pair.caught_up()  # what it missed while down
    assert await _orders_counted(operator, world) == 1
    assert _standby(pair, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'eldercare-read'")
    for closable in (operator, world, admin):
        await closable.close()
