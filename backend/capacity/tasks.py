"""Capacity tasks: lapsed bed holds swept from the database."""

from __future__ import annotations

from backend.capacity import beds, figures, holds
from backend.core.db import local_today, utcnow
from backend.core.jobs import task
from backend.core.runtime import Runtime


@task("capacity.expire_holds")
async def expire_holds(runtime: Runtime) -> int:
    """Free the beds of holds past their deadline, one short transaction per hold."""
    now = utcnow()
    async with runtime.sessions() as session:
        lapsed = await holds.lapsed_holds(session=session, now=now)
    freed = 0
    for hold_id in lapsed:
        async with runtime.unit_of_work() as session:
            freed += await beds.expire_hold(session=session, settings=runtime.settings, hold_id=hold_id, now=now)
    return freed


@task("capacity.snapshot")
async def snapshot(runtime: Runtime) -> int:
    """Record today's bed counts of every institution (run each evening: occupancy over time)."""
    async with runtime.unit_of_work() as session:
        return await figures.take_snapshot(session=session, day=local_today())
