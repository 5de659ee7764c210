"""What dispatch does when a lower domain tells it something happened (``backend.core.domain_events``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.domain_events import handles
from backend.dispatch.waiting import caregivers_freed
from backend.registry.events import CaregiverChanged


@handles(CaregiverChanged)
async def new_skills_wake_waiting_orders(session: AsyncSession, event: CaregiverChanged) -> None:
    """A caregiver on shift with new skills may serve orders waiting near her: they are offered again now."""
    if "skills" in event.fields and event.on_shift:
        caregivers_freed(session, [event.caregiver_id])
