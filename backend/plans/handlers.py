"""What care planning does when a lower domain tells it something happened (``backend.core.domain_events``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.domain_events import handles
from backend.dispatch.events import CaregiverDayChanged
from backend.plans.triggers import replan_after


@handles(CaregiverDayChanged)
async def replan_their_day(session: AsyncSession, event: CaregiverDayChanged) -> None:
    """Looking ahead, the provider's day is re-planned once the change commits: the rest may fit better now."""
    await replan_after(session, event.caregiver_ids, event.why)
