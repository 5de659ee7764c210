"""Future positions: where a caregiver will be when a visit booked for later begins (look-ahead dispatch).

For an order booked for later, what counts is not where she is now but where she will be free: at the home of
the elder she visits just before it that day (in time order), from the end of that visit; and the visit she has
just after it, which the new one puts a detour in front of. Without an earlier visit that day she sets off from
where the platform places her: her home base until her phone reports a position, then its last report.

Only the ``lookahead`` dispatch policy (``ELDERCARE_DISPATCH_POLICY``) scores this way; the others score every
order from where the caregiver is now.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import cos, radians

from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.models import Community
from backend.calendars.models import CaregiverBooking
from backend.core.db import local_midnight
from backend.core.i18n import LOCAL_TZ
from backend.orders.models import ServiceRequest
from backend.registry.models import Elder

METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Stop:
    """A visit in her calendar: where (the elder's home, her community's name) and when (set off → service over)."""

    request_id: int
    lat: float
    lon: float
    starts_at: datetime
    ends_at: datetime
    place: str


@dataclass(frozen=True)
class Around:
    """Her booked visits on either side of the new one that day (None: none that day on that side)."""

    before: Stop | None = None
    after: Stop | None = None


def _day(start: datetime) -> tuple[datetime, datetime]:
    day = start.astimezone(LOCAL_TZ).date()
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def _stops(request: ServiceRequest, start: datetime) -> tuple[ColumnElement[bool], ...]:
    """Conditions for her other active bookings on the Suzhou day of ``start``."""
    day_start, day_end = _day(start)
    return (
        col(CaregiverBooking.active).is_(True),
        col(CaregiverBooking.request_id) != request.id,
        col(CaregiverBooking.starts_at) < day_end,
        col(CaregiverBooking.ends_at) > day_start,
    )


async def around(
    session: AsyncSession, request: ServiceRequest, start: datetime, caregiver_ids: Collection[int]
) -> dict[int, Around]:
    """For each caregiver, the booked visit that ends last before ``start`` that day and the first that begins at
    or after it (one query for all of them)."""
    if not caregiver_ids:
        return {}
    rows = await session.execute(
        sa_select(
            col(CaregiverBooking.caregiver_id),
            col(CaregiverBooking.request_id),
            col(CaregiverBooking.starts_at),
            col(CaregiverBooking.ends_at),
            col(Elder.lat),
            col(Elder.lon),
            col(Community.name),
        )
        .join(ServiceRequest, col(ServiceRequest.id) == col(CaregiverBooking.request_id))
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .join(Community, col(Community.id) == col(ServiceRequest.community_id))
        .where(col(CaregiverBooking.caregiver_id).in_(sorted(caregiver_ids)), *_stops(request, start))
        .order_by(col(CaregiverBooking.caregiver_id), col(CaregiverBooking.starts_at))
    )
    found: dict[int, Around] = {}
    for cid, rid, starts_at, ends_at, lat, lon, place in rows.all():
        stop = Stop(rid, lat, lon, starts_at, ends_at, place)
        was = found.get(cid, Around())
        if ends_at <= start:
            found[cid] = Around(stop, was.after)  # in time order: the last one before wins
        elif starts_at >= start and was.after is None:
            found[cid] = Around(was.before, stop)
    return found


async def booked_nearby(
    session: AsyncSession, request: ServiceRequest, elder: Elder, start: datetime, radius_m: float
) -> list[int]:
    """Caregivers who end a booked visit within ``radius_m`` of the elder before ``start`` that day: they will set
    off from there, wherever they are now (the candidate search's rings are drawn around where they are now)."""
    dlat = radius_m / METRES_PER_DEGREE
    dlon = radius_m / (METRES_PER_DEGREE * max(0.01, cos(radians(elder.lat))))
    rows = await session.execute(
        select(CaregiverBooking.caregiver_id)
        .join(ServiceRequest, col(ServiceRequest.id) == col(CaregiverBooking.request_id))
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .where(
            *_stops(request, start),
            col(CaregiverBooking.ends_at) <= start,
            col(Elder.lat).between(elder.lat - dlat, elder.lat + dlat),
            col(Elder.lon).between(elder.lon - dlon, elder.lon + dlon),
        )
        .distinct()
    )
    return sorted(rows.scalars())
