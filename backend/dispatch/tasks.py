"""Dispatch tasks: a round for one order, and the deadline sweep."""

from __future__ import annotations

from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.dispatch import service


@task("dispatch.run_round")
async def run_round(runtime: Runtime, request_id: int) -> None:
    """Offer the order to its next candidate(s), or escalate it."""
    async with runtime.unit_of_work() as session:
        await service.run_round(session=session, settings=runtime.settings, request_id=request_id)


@task("dispatch.sweep_deadlines")
async def sweep_deadlines(runtime: Runtime) -> int:
    """Expire offers whose deadline passed, escalate late emergencies, restart stalled rounds."""
    async with runtime.unit_of_work() as session:
        expired = await service.expire_offers(session=session)
    async with runtime.unit_of_work() as session:
        await service.sweep_overdue(session=session, settings=runtime.settings)
    return expired
