"""After-visit tasks: unanswered complaints escalated; finished, followed-up orders closed."""

from __future__ import annotations

from backend.core.db import utcnow
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.feedback import service


@task("feedback.sweep")
async def sweep(runtime: Runtime) -> int:
    """Escalate complaints past their deadline to the bureau, and close finished orders that are followed up."""
    now = utcnow()
    async with runtime.unit_of_work() as session:
        moved = await service.escalate_overdue(session=session, now=now)
    async with runtime.unit_of_work() as session:
        moved += await service.close_finished(session=session, settings=runtime.settings, now=now)
    return moved
