"""The restore drill of docs/operations.md: a dump of a populated database (orders, offers, visits, beds and holds,
policies, settlements, the event history) restored into a new database comes back row for row, and the platform
started on it answers for the order as before."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import httpx
import psycopg

from backend.core.i18n import LOCAL_TZ
from tests.client import ADMIN_PASSWORD, Api, World, order_life
from tests.conftest import Stack, running_stack
from tests.e2e.test_beds import institution
from tests.infra import private_database

# What the drill must bring back, at the least (every table is compared).
MUST_HOLD = (
    "service_request",
    "offer",
    "visit",
    "request_history",
    "bed",
    "bed_hold",
    "insurance_policy",
    "settlement",
    "settlement_line",
    "channel_event",  # the event history the sockets replay with ``since``
    "outbox_event",
)
Fingerprints = dict[str, tuple[int, str]]  # table: (rows, md5 of its rows)


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _fingerprints(conn: psycopg.Connection) -> Fingerprints:
    """Every table of the platform: (rows, md5 of its rows in a stable order)."""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
    ]
    found = {}
    for table in tables:
        rows, digest = conn.execute(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, chr(10) ORDER BY t::text)), '') FROM \"{table}\" t"
        ).fetchone()  # type: ignore[misc]
        found[table] = (int(rows), str(digest))
    return found


async def _populate(stack: Stack, admin: Api) -> int:
    """A small district's day: an order's whole life, a policy, beds with a hold, the month's settlement."""
    world = await World.build(stack.base_url, admin, caregivers_km=(0.5,))
    order, _took = await order_life(world)
    await world.insure(world.provider["id"])
    home = await institution(admin, world)
    await admin.ok(
        "POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "201", "kind": "nursing", "count": 2}, 201
    )
    staff = await world.user("community_staff", community_id=world.community["id"])
    hold = {"elder_id": world.elders[0]["id"], "institution_id": home["id"], "kind": "nursing"}
    await staff.ok("POST", "/api/v1/bed-holds", hold, 201)
    month = datetime.now(LOCAL_TZ).strftime("%Y-%m")
    await admin.ok("POST", "/api/v1/settlements/run", {"provider_id": world.provider["id"], "month": month})
    await staff.close()
    await world.close()
    return int(order["id"])


def _dump_and_restore(
    source_url: str, restored_url: str
) -> tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]]:
    """pg_dump the source, pg_restore into the new database (as docs/operations.md says): both fingerprints.

    The dump is taken from a snapshot, and the source's fingerprints from the same one: the stack's sweeps go on
    writing meanwhile, as on a real night."""
    with tempfile.TemporaryDirectory(prefix="eldercare-restore-") as folder:
        dump = Path(folder) / "eldercare.dump"
        with psycopg.connect(_libpq(source_url)) as source:
            source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            (snapshot,) = source.execute("SELECT pg_export_snapshot()").fetchone()  # type: ignore[misc]
            dump_args = ["--format=custom", "--no-owner", f"--snapshot={snapshot}", f"--file={dump}"]
            subprocess.run(["pg_dump", *dump_args, _libpq(source_url)], check=True)
            before = _fingerprints(source)
            source.rollback()
        restore_args = ["--no-owner", "--exit-on-error", f"--dbname={_libpq(restored_url)}"]
        subprocess.run(["pg_restore", *restore_args, str(dump)], check=True)
    with psycopg.connect(_libpq(restored_url)) as restored:
        return before, _fingerprints(restored)


async def test_a_dump_restores_row_for_row_and_the_platform_runs_on_it(
    stack: Stack, admin: Api, database_url: str, redis_url: str
) -> None:
    order_id = await _populate(stack, admin)
    with private_database() as restored_url:
        before, after = await asyncio.to_thread(_dump_and_restore, database_url, restored_url)
        for table in MUST_HOLD:
            assert before[table][0] > 0, f"the drill's database has no {table} rows"
        assert after.keys() == before.keys()
        differ = [table for table in before if before[table] != after[table]]
        assert differ == [], {table: (before[table], after[table]) for table in differ}

        # The platform on the restored database: the order reads as it did, and it is ready for new work.
        with running_stack(restored_url, redis_url, name="restored-") as restored_stack:
            again = await Api.login(restored_stack.base_url, "admin", ADMIN_PASSWORD)
            order = await again.ok("GET", f"/api/v1/requests/{order_id}")
            assert order["status"] == "completed"
            assert [h["status"] for h in order["history"]][-1] == "completed"
            async with httpx.AsyncClient(base_url=restored_stack.base_url) as http:
                assert (await http.get("/readyz")).json()["status"] == "ok"
            await again.close()
