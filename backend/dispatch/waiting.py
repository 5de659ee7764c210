"""Orders waiting for a caregiver, woken the moment one becomes free.

An order whose nearby caregivers were all busy, or all holding other offers, stays dispatching without an offer
(``service._worth_waiting``). Instead of waiting for the stall sweep (``stalled_seconds``, 30 s by default), it
gets its next round as soon as a caregiver near it becomes free: she declines or lets an offer lapse, another
caregiver's acceptance withdraws hers, she checks out of a visit, or her shift starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, exists
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from backend.core.config import Settings
from backend.core.geo import distance_m
from backend.core.jobs import enqueue_after_commit
from backend.core.schemas import Location
from backend.dispatch.models import Offer, OfferStatus
from backend.registry import service as registry
from backend.registry.models import Caregiver, Elder
from backend.requests.models import Priority, ServiceRequest, Status

WOKEN_PER_CAREGIVER = 3  # she can hold one offer at a time: a few rounds, in case the first order is not for her
LOOKED_AT = 500  # waiting orders looked at per freed caregiver, most urgent and oldest first


def caregivers_freed(session: AsyncSession, caregiver_ids: Iterable[int]) -> None:
    """Once this transaction commits, wake the orders waiting near each of these caregivers."""
    for caregiver_id in sorted(set(caregiver_ids)):
        enqueue_after_commit(session, "dispatch.wake_waiting", caregiver_id)


async def set_shift(
    *, session: AsyncSession, caregiver: Caregiver, on_shift: bool, location: Location | None
) -> Caregiver:
    """The caregiver starts or ends a shift (``registry.service.set_shift``); a shift that starts wakes the orders
    waiting near her."""
    await registry.set_shift(session=session, caregiver=caregiver, on_shift=on_shift, location=location)
    if on_shift:
        assert caregiver.id is not None
        caregivers_freed(session, [caregiver.id])
    return caregiver


async def waiting_near(session: AsyncSession, settings: Settings, caregiver: Caregiver) -> list[int]:
    """Orders dispatching without an open offer, their elder within the dispatch radius of the caregiver: urgent
    before normal, then oldest first (emergencies never wait: they go to the operators)."""
    open_offer = exists().where(
        col(Offer.request_id) == col(ServiceRequest.id), col(Offer.status) == OfferStatus.pending.value
    )
    rows = await session.execute(
        sa_select(col(ServiceRequest.id), col(Elder.lat), col(Elder.lon))
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .where(col(ServiceRequest.status) == Status.dispatching.value, ~open_offer)
        .order_by(
            case((col(ServiceRequest.priority) == Priority.urgent.value, 0), else_=1),
            col(ServiceRequest.created_at),
        )
        .limit(LOOKED_AT)
    )
    radius = settings.candidate_radius_km * 1000
    near = [rid for rid, lat, lon in rows.all() if distance_m(caregiver.lat, caregiver.lon, lat, lon) <= radius]
    return [int(rid) for rid in near[:WOKEN_PER_CAREGIVER] if rid is not None]


async def wake_waiting(*, session: AsyncSession, settings: Settings, caregiver_id: int) -> list[int]:
    """Give the orders waiting near a caregiver who just became free their next round (after commit)."""
    caregiver = await session.get(Caregiver, caregiver_id)
    if caregiver is None or not caregiver.on_shift:
        return []
    woken = await waiting_near(session, settings, caregiver)
    for request_id in woken:  # a round is idempotent: one already under way for the order makes nothing twice
        enqueue_after_commit(session, "dispatch.run_round", request_id)
    return woken
