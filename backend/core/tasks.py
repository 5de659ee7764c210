"""Plumbing tasks."""

from __future__ import annotations

from datetime import timedelta

from backend.core import idempotency
from backend.core.db import utcnow
from backend.core.events import prune_events
from backend.core.jobs import task
from backend.core.runtime import Runtime


@task("events.prune")
async def prune(runtime: Runtime) -> int:
    """Forget relayed outbox rows and channel events older than the retention window."""
    async with runtime.unit_of_work() as session:
        return await prune_events(session, older_than=utcnow() - timedelta(days=runtime.settings.event_retention_days))


@task("events.relay")
async def relay(runtime: Runtime) -> int:
    """Relay events a crashed process left in the outbox."""
    return await runtime.relay_now()


@task("idempotency.prune")
async def prune_keys(runtime: Runtime) -> int:
    """Forget Idempotency-Keys (and their answers) past their time."""
    async with runtime.unit_of_work() as session:
        return await idempotency.prune(session=session, now=utcnow())
