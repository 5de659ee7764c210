"""Who is coming to the elder: the crew of her order, how to call them, and how far away they are."""

from __future__ import annotations

from math import ceil

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.personal import caregiver_disclosure
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.geo import distance_m
from backend.core.identity import mask_phone
from backend.orders.models import ServiceRequest, Status
from backend.registry.models import Caregiver, Elder
from backend.requests.schemas import ComingCaregiver, ComingPublic
from backend.users.models import User

ON_THE_WAY = frozenset({Status.accepted.value, Status.en_route.value})


async def who_is_coming(
    *, session: AsyncSession, settings: Settings, user: User, request: ServiceRequest
) -> ComingPublic:
    """The order's caregivers as this viewer may see them (``caregiver_disclosure``: the elder and her family call
    them while the visit is ahead or under way), and, until they arrive, the lead's distance from her home and the
    platform's travel estimate, from the position their phone last reported."""
    assert request.id is not None
    crew = [i for i in (request.assigned_caregiver_id, request.partner_caregiver_id) if i is not None]
    found = {c.id: c for c in (await session.execute(select(Caregiver).where(col(Caregiver.id).in_(crew)))).scalars()}
    now = utcnow()
    coming = ComingPublic(request_id=request.id, status=Status(request.status))
    for caregiver_id in crew:
        caregiver = found[caregiver_id]
        shown = caregiver_disclosure(user, caregiver, now, order=request)
        coming.caregivers.append(
            ComingCaregiver(
                id=caregiver_id,
                name=caregiver.name,
                phone=caregiver.phone if shown.phone else mask_phone(caregiver.phone),
                lead=caregiver_id == request.assigned_caregiver_id,
            )
        )
    lead = found.get(request.assigned_caregiver_id) if request.assigned_caregiver_id else None
    if lead is not None and request.status in ON_THE_WAY:
        home = (await session.execute(select(Elder.lat, Elder.lon).where(col(Elder.id) == request.elder_id))).one()
        coming.distance_m = round(distance_m(lead.lat, lead.lon, home.lat, home.lon), 1)
        coming.eta_minutes = ceil(settings.travel_minutes(coming.distance_m))
        coming.position_at = lead.located_at
    return coming
