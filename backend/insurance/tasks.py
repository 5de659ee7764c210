"""Insurance tasks: reminders of policies about to end, each morning."""

from __future__ import annotations

from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.insurance import service


@task("insurance.remind_expiring")
async def remind_expiring(runtime: Runtime) -> int:
    """Remind the insured and the bureau of policies ending within 30 and 7 days (once each)."""
    async with runtime.unit_of_work() as session:
        return await service.remind_expiring(session=session)
