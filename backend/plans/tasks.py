"""Plan tasks: every evening, tomorrow's visits are generated and routed."""

from __future__ import annotations

from datetime import timedelta

from backend.core.db import local_today
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.plans import service


@task("plans.plan_tomorrow")
async def plan_tomorrow(runtime: Runtime) -> int:
    """Generate tomorrow's visits from the plans, then plan the routes (each step idempotent)."""
    tomorrow = local_today() + timedelta(days=1)
    async with runtime.unit_of_work() as session:
        await service.generate_day(session=session, day=tomorrow)
    async with runtime.unit_of_work() as session:
        made = await service.plan_day(
            session=session, settings=runtime.settings, day=tomorrow, seconds=runtime.settings.day_plan_seconds
        )
    return made.planned
