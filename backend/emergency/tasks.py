"""Emergency tasks: ladders climbed on their timers, swept from the database."""

from __future__ import annotations

from backend.core.db import utcnow
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.emergency import service


@task("emergency.sweep_ladders")
async def sweep_ladders(runtime: Runtime) -> int:
    """Move every emergency ladder whose step's timer ran out to its next rung."""
    async with runtime.unit_of_work() as session:
        return await service.sweep(session=session, now=utcnow())
