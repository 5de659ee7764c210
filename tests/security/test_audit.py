"""Every read and change of an elder's file is in an append-only trail: who, when, what, from where, under which
request id; the elder may ask who read her file; the database itself refuses to rewrite the trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import insert

from backend.audit.models import AuditEvent
from backend.audit.service import prune
from backend.core.runtime import Runtime
from tests.client import PASSWORD, Api


def _pg(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg", "postgresql")


async def test_reads_and_changes_of_an_elders_file_are_recorded(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    elder = world.elders[0]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    request_id = f"call-{uuid.uuid4().hex[:12]}"

    read = await operator.http.get(f"/api/v1/elders/{elder['id']}", headers={"X-Request-ID": request_id})
    assert read.status_code == 200 and read.headers["x-request-id"] == request_id
    await operator.ok("GET", f"/api/v1/elders?phone={elder['raw_phone']}")
    await staff.ok("PATCH", f"/api/v1/elders/{elder['id']}", {"language": "suzhounese"})
    await staff.ok("GET", f"/api/v1/dashboard/queue?community_id={world.community['id']}")

    trail = await admin.ok("GET", f"/api/v1/audit-log?subject=elder:{elder['id']}&limit=100")
    by_action = {(t["action"], t["actor_role"]) for t in trail}
    assert ("elder.read", "operator") in by_action
    assert ("elder.lookup", "operator") in by_action
    assert ("elder.update", "community_staff") in by_action
    the_read = next(t for t in trail if t["request_id"] == request_id)
    assert the_read["action"] == "elder.read" and the_read["actor_username"] == operator.username
    assert the_read["client"] and the_read["outcome"] == "ok" and the_read["subject"] == f"elder:{elder['id']}"
    update = next(t for t in trail if t["action"] == "elder.update")
    assert update["fields"] == ["language"]
    assert elder["raw_phone"] not in str(trail)  # the trail names the elder by id, never by her number

    mine = await admin.http.get(f"/api/v1/audit-log?actor={operator.username}&limit=2")
    assert mine.status_code == 200 and int(mine.headers["x-total-count"]) >= 2 and len(mine.json()) == 2


async def test_an_elder_sees_who_read_her_file_and_nobody_else_does(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    elder, neighbour = world.elders[0], await world.add_elder()
    username = f"elder_{uuid.uuid4().hex[:8]}"
    await admin.ok(
        "POST",
        "/api/v1/users",
        {"username": username, "password": PASSWORD, "role": "elder", "elder_id": elder["id"]},
        201,
    )
    herself = await Api.login(stack.base_url, username)
    operator = await world.user("operator")
    await operator.ok("GET", f"/api/v1/elders/{elder['id']}")

    log = await herself.http.get(f"/api/v1/elders/{elder['id']}/access-log")
    assert log.status_code == 200 and int(log.headers["x-total-count"]) >= 1
    seen = log.json()
    assert any(e["actor_role"] == "operator" and e["action"] == "elder.read" for e in seen)
    assert set(seen[0]) == {"at", "actor_role", "actor_name", "action", "fields"}  # no addresses or request ids
    assert (await herself.get(f"/api/v1/elders/{neighbour['id']}/access-log")).status_code == 403
    assert (await operator.get(f"/api/v1/elders/{elder['id']}/access-log")).status_code == 403
    assert (await admin.get(f"/api/v1/elders/{elder['id']}/access-log")).status_code == 200
    refused = await operator.get("/api/v1/audit-log")
    assert refused.status_code == 403
    refusals = await admin.ok("GET", f"/api/v1/audit-log?actor={operator.username}&action=access.refused")
    assert {r["outcome"] for r in refusals} == {"refused"} and len(refusals) >= 2


async def test_the_database_refuses_to_rewrite_the_trail(stack, database_url: str, runtime: Runtime) -> None:
    with psycopg.connect(_pg(database_url), autocommit=True) as conn:
        for statement in (
            "UPDATE audit_event SET actor_username = 'nobody'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        kept = conn.execute("SELECT count(*) FROM audit_event").fetchone()
    assert kept is not None and kept[0] > 0

    # The retention sweep deletes only what is older than the retention period.
    long_ago = datetime.now(UTC) - timedelta(days=4 * 365)
    async with runtime.unit_of_work() as session:
        await session.execute(
            insert(AuditEvent).values(at=long_ago, action="elder.read", subject="elder:1", fields=[], detail="old")
        )
    async with runtime.unit_of_work() as session:
        assert await prune(session=session, retention_days=3 * 365) >= 1
    with psycopg.connect(_pg(database_url), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM audit_event WHERE at < now() - interval '3 years'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM audit_event").fetchone()[0] > 0  # type: ignore[index]
