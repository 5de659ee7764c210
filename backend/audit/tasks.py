"""The audit trail's retention: rows older than ``audit_retention_days`` are deleted, nightly."""

from __future__ import annotations

from backend.audit import service
from backend.core.jobs import task
from backend.core.runtime import Runtime


@task("audit.prune")
async def prune(runtime: Runtime) -> int:
    """Delete audit rows past the retention period (the only deletes the append-only trail allows)."""
    async with runtime.unit_of_work() as session:
        return await service.prune(session=session, retention_days=runtime.settings.audit_retention_days)
