"""When the day changes, the lookahead policy re-plans the provider's visits that may still move (rolling.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.jobs import enqueue_after_commit
from backend.registry.models import Caregiver

if TYPE_CHECKING:
    from backend.core.runtime import Runtime


async def replan_after(session: AsyncSession, caregiver_ids: Iterable[int | None], why: str) -> None:
    """Once this transaction commits, re-plan the day of these caregivers' providers (looking ahead only).

    ``why``: ``absence`` (a sick call), ``emergency`` (an emergency took a caregiver) or ``cancelled`` (a visit
    of theirs was cancelled)."""
    runtime: Runtime | None = session.info.get("runtime")
    wanted = sorted({c for c in caregiver_ids if c is not None})
    if runtime is None or not wanted or not runtime.settings.looks_ahead or runtime.settings.replan_minutes <= 0:
        return
    providers = await session.execute(select(Caregiver.provider_id).where(col(Caregiver.id).in_(wanted)).distinct())
    for provider_id in sorted(providers.scalars()):
        enqueue_after_commit(session, "plans.replan", provider_id, why)
