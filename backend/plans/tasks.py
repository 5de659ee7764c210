"""Plan tasks: every evening, tomorrow's visits are generated and routed; during the day, re-planned."""

from __future__ import annotations

import logging
from datetime import timedelta

from backend.core.db import local_today
from backend.core.errors import Conflict
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.plans import rolling, service

log = logging.getLogger(__name__)


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


@task("plans.replan_all")
async def replan_all(runtime: Runtime) -> int:
    """Ask for a re-plan of every provider with visits that may still move today (the lookahead policy)."""
    if not runtime.settings.looks_ahead or runtime.settings.replan_minutes <= 0:
        return 0
    async with runtime.sessions() as session:
        providers = await rolling.providers_to_replan(session=session, settings=runtime.settings)
    for provider_id in providers:
        runtime.jobs.enqueue("plans.replan", provider_id, "periodic")
    return len(providers)


@task("plans.replan")
async def replan(runtime: Runtime, provider_id: int, why: str = "periodic") -> int:
    """Re-plan one provider's visits that may still move today; the number of visits that changed hands."""
    if not runtime.settings.looks_ahead or runtime.settings.replan_minutes <= 0:
        return 0
    try:
        async with runtime.unit_of_work() as session:
            done = await rolling.replan(session=session, settings=runtime.settings, provider_id=provider_id, why=why)
    except Conflict as exc:  # a booking made meanwhile stands in a new route's way: nothing changed, next time
        log.info("replan provider=%s why=%s gave way: %s", provider_id, why, exc.code)
        return 0
    log.info(
        "replan provider=%s why=%s visits=%s outcome=%s moves=%s saved=%s",
        provider_id,
        why,
        done.visits,
        done.outcome,
        len(done.moves),
        done.saved_minutes,
    )
    return len(done.moves)
