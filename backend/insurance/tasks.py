"""Insurance tasks: reminders of policies about to end; claims past their step's deadline."""

from __future__ import annotations

from backend.core.db import utcnow
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.insurance import claims, service


@task("insurance.remind_expiring")
async def remind_expiring(runtime: Runtime) -> int:
    """Remind the insured and the bureau of policies ending within 30 and 7 days (once each)."""
    async with runtime.unit_of_work() as session:
        return await service.remind_expiring(session=session)


@task("insurance.claims_overdue")
async def claims_overdue(runtime: Runtime) -> int:
    """Tell the bureau and the insured of claims past their step's deadline (once per step)."""
    async with runtime.unit_of_work() as session:
        return await claims.overdue(session=session, now=utcnow())
