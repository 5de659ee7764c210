"""Device tasks: dormant devices found from the database, each given one community check."""

from __future__ import annotations

from backend.core.db import utcnow
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.devices import service


@task("devices.sweep_dormant")
async def sweep_dormant(runtime: Runtime) -> int:
    """Open a community check for every device silent for ``device_dormant_days`` (once per silence)."""
    async with runtime.unit_of_work() as session:
        return await service.sweep_dormant(session=session, settings=runtime.settings, now=utcnow())
