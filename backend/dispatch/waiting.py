"""Orders waiting for a caregiver, woken the moment one becomes free.

An order whose nearby caregivers were all busy, or all holding other offers, stays dispatching without an offer
(``rounds._worth_waiting``), marked ``waiting_since``. Instead of waiting for a sweep, it gets its next round as
soon as a caregiver who could serve it becomes free: she declines or lets an offer lapse, another caregiver's
acceptance withdraws hers, she checks out of a visit, the order she held is cancelled, or her shift starts. The
batches leave it out meanwhile, and the stall sweep looks at it only every ``waiting_recheck_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, exists, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from backend.core.config import Settings
from backend.core.geo import distance_m
from backend.core.jobs import enqueue_after_commit
from backend.core.schemas import Location
from backend.dispatch.models import Offer, OfferStatus
from backend.orders.models import Priority, ServiceRequest, Status
from backend.registry import service as registry
from backend.registry.models import Caregiver, CaregiverSkill, Elder, ProviderCommunity, ProviderService

WOKEN_PER_CAREGIVER = 2  # she can hold one offer at a time: the first in line, and one more in case another took it
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
    """Orders waiting for a caregiver to be free that this one could serve, their elder within the dispatch radius
    of her: urgent before normal, then oldest first (emergencies never wait: they go to the operators).

    "Could serve" by the rules a waiting order's round would look at first (her provider serves the community and
    offers the service, she has the skill, she has not said no to it in this dispatch), so that the rounds she
    wakes are the ones she can take; the round itself applies every rule."""
    serves = sa_select(col(ProviderCommunity.community_id)).where(
        col(ProviderCommunity.provider_id) == caregiver.provider_id
    )
    offers = sa_select(col(ProviderService.service_type)).where(
        col(ProviderService.provider_id) == caregiver.provider_id
    )
    skills = sa_select(col(CaregiverSkill.service_type)).where(col(CaregiverSkill.caregiver_id) == caregiver.id)
    declined = exists().where(
        col(Offer.request_id) == col(ServiceRequest.id),
        col(Offer.caregiver_id) == caregiver.id,
        col(Offer.status).in_([OfferStatus.declined.value, OfferStatus.expired.value]),
        col(Offer.created_at) >= func.coalesce(col(ServiceRequest.dispatch_started_at), col(ServiceRequest.created_at)),
    )
    rows = await session.execute(
        sa_select(col(ServiceRequest.id), col(Elder.lat), col(Elder.lon))
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .where(
            col(ServiceRequest.status) == Status.dispatching.value,
            col(ServiceRequest.waiting_since).is_not(None),  # nobody was free for it (an offer out clears it)
            col(ServiceRequest.community_id).in_(serves),
            col(ServiceRequest.service_type).in_(offers),
            col(ServiceRequest.service_type).in_(skills),
            ~declined,
        )
        .order_by(
            case((col(ServiceRequest.priority) == Priority.urgent.value, 0), else_=1),
            col(ServiceRequest.created_at),
        )
        .limit(LOOKED_AT)
    )
    radius = settings.candidate_radius_km * 1000
    near = [rid for rid, lat, lon in rows.all() if distance_m(caregiver.lat, caregiver.lon, lat, lon) <= radius]
    return [int(rid) for rid in near[:WOKEN_PER_CAREGIVER] if rid is not None]


async def waiting_for(*, session: AsyncSession, settings: Settings, caregiver_id: int) -> list[int]:
    """The orders a caregiver who just became free could take, first in line first (none when she is off shift)."""
    caregiver = await session.get(Caregiver, caregiver_id)
    if caregiver is None or not caregiver.on_shift:
        return []
    return await waiting_near(session, settings, caregiver)
