"""Settlement tasks: last month's statements drafted each night, picking up late corrections."""

from __future__ import annotations

from datetime import timedelta

from backend.benefits.service import month_of
from backend.core.db import local_today
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.settlement import service


@task("settlement.draft_last_month")
async def draft_last_month(runtime: Runtime) -> int:
    """Run last month's statement of every active provider (idempotent: only changed ones get a revision)."""
    month = month_of(local_today().replace(day=1) - timedelta(days=1))
    async with runtime.sessions() as session:
        providers = await service.active_providers(session)
    changed = 0
    for provider_id in providers:
        async with runtime.unit_of_work() as session:
            _settlement, made, _diff = await service.run(
                session=session, settings=runtime.settings, user=None, provider_id=provider_id, month=month
            )
            changed += made
    return changed
