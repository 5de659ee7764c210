"""Plumbing tasks."""

from __future__ import annotations

from backend.core.jobs import task
from backend.core.runtime import Runtime


@task("events.relay")
async def relay(runtime: Runtime) -> int:
    """Relay events a crashed process left in the outbox."""
    return await runtime.relay_now()
