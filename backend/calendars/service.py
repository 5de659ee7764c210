"""Calendar rules: what span of a caregiver's time an order needs, booking it, and giving it back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from backend.calendars import positions
from backend.calendars.models import CaregiverBooking
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import DEADLOCK, Conflict, sqlstate
from backend.core.geo import distance_m
from backend.orders.models import Priority, ServiceRequest, Status
from backend.registry.models import Caregiver, Elder, ServiceType


def is_scheduled(request: ServiceRequest, now: datetime) -> bool:
    """An order booked for later (its window opens in the future), not one to serve now."""
    return request.window_start is not None and request.window_start > now


def needed_span(
    request: ServiceRequest, service_type: ServiceType, now: datetime, *, travel_minutes: float = 0.0
) -> tuple[datetime, datetime]:
    """The span an order needs of a caregiver: from setting off to the end of the service."""
    duration = timedelta(minutes=service_type.default_minutes)
    travel = timedelta(minutes=travel_minutes)
    start = request.window_start
    if start is None or start <= now + travel:
        return now, now + travel + duration
    return start - travel, start + duration


def _overlaps(caregiver_id: Any, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [
        col(CaregiverBooking.caregiver_id) == caregiver_id,
        col(CaregiverBooking.active).is_(True),
        col(CaregiverBooking.starts_at) < end,
        col(CaregiverBooking.ends_at) > start,
    ]


def movable() -> ColumnElement[bool]:
    """The booking is for a visit an emergency may take its caregiver from: booked for a window, accepted, not begun."""
    return exists().where(
        col(ServiceRequest.id) == col(CaregiverBooking.request_id),
        col(ServiceRequest.status) == Status.accepted.value,
        col(ServiceRequest.window_start).is_not(None),
        col(ServiceRequest.priority) != Priority.emergency.value,
    )


def overlapping(
    caregiver_id: Any,
    start: datetime,
    end: datetime,
    *,
    firm: bool = False,
    now: datetime | None = None,
    other_than: int | None = None,
) -> ColumnElement[bool]:
    """True when the caregiver (an id, or a caregiver id column) holds an active booking overlapping [start, end).

    ``firm``: only bookings an emergency cannot move (see ``movable``). ``now``: not counting the visit in her
    hands at that moment (one she is serving or on the way to, or has accepted to serve now), which she will be
    done with: what an order waiting for her asks. ``other_than``: not counting her booking for that order.
    """
    besides = [~in_hand(now)] if now is not None else []
    if other_than is not None:
        besides.append(col(CaregiverBooking.request_id) != other_than)
    return exists().where(*_overlaps(caregiver_id, start, end), *([~movable()] if firm else []), *besides)


def in_hand(now: datetime) -> ColumnElement[bool]:
    """The booking is for the visit its caregiver has in hand at ``now``: under way, or accepted to serve now."""
    return exists().where(
        col(ServiceRequest.id) == col(CaregiverBooking.request_id),
        col(ServiceRequest.status).in_([Status.en_route.value, Status.in_service.value, Status.accepted.value]),
        or_(
            col(ServiceRequest.status) != Status.accepted.value,
            col(ServiceRequest.window_start).is_(None),
            col(ServiceRequest.window_start) <= now,
        ),
    )


def movable_overlapping(caregiver_id: Any, start: datetime, end: datetime) -> SelectOfScalar[int]:
    """The orders whose bookings of the caregiver overlap [start, end) and could give way to an emergency."""
    return select(CaregiverBooking.request_id).where(*_overlaps(caregiver_id, start, end), movable())


async def span_of(
    session: AsyncSession, settings: Settings, request: ServiceRequest, caregiver: Caregiver
) -> tuple[datetime, datetime]:
    """The span of the caregiver's time the order needs, travel from where they are included (looking ahead, for
    a visit booked for later: from her visit before it that day, where she will set off from)."""
    elder = await session.get(Elder, request.elder_id)
    service_type = await session.get(ServiceType, request.service_type)
    assert elder is not None and service_type is not None and caregiver.id is not None
    now, origin = utcnow(), (caregiver.lat, caregiver.lon)
    if settings.looks_ahead and request.window_start is not None and is_scheduled(request, now):
        day = (await positions.around(session, request, request.window_start, [caregiver.id])).get(caregiver.id)
        if day is not None and day.before is not None:
            origin = (day.before.lat, day.before.lon)
    travel = settings.travel_minutes(distance_m(*origin, elder.lat, elder.lon))
    return needed_span(request, service_type, now, travel_minutes=travel)


BOOKED = Conflict(
    "该护理员此时段已有预约",
    code="caregiver_booked",
    message_en="The caregiver is booked for an overlapping time",
)


async def book(
    *,
    session: AsyncSession,
    settings: Settings,
    request: ServiceRequest,
    caregiver: Caregiver,
    span: tuple[datetime, datetime] | None = None,
) -> CaregiverBooking:
    """Hold the caregiver's time for this order (409 ``caregiver_booked`` on an overlap).

    The span is from setting off, at the platform's travel estimate, to the end of the service; or
    ``span`` as a day plan's route has it.
    """
    assert caregiver.id is not None and request.id is not None
    start, end = span or await span_of(session, settings, request, caregiver)
    # The clear answer first; on PostgreSQL the exclusion constraint settles concurrent bookings.
    if (await session.execute(select(overlapping(caregiver.id, start, end)))).scalar():
        raise BOOKED
    booking = CaregiverBooking(caregiver_id=caregiver.id, request_id=request.id, starts_at=start, ends_at=end)
    try:
        async with session.begin_nested():
            session.add(booking)
            await session.flush()
    except DBAPIError as exc:
        # Two bookings racing for the same time: the exclusion constraint refuses one, either as a
        # violation or, when both were inserted before either was checked, as a deadlock.
        if isinstance(exc, IntegrityError) or sqlstate(exc) == DEADLOCK:
            raise BOOKED from exc
        raise
    return booking


async def release(session: AsyncSession, request_id: int, *, caregiver_id: int | None = None) -> None:
    """Give the caregivers' time back (the order was cancelled), or only ``caregiver_id``'s (they left its crew)."""
    which = [col(CaregiverBooking.request_id) == request_id, col(CaregiverBooking.active).is_(True)]
    if caregiver_id is not None:
        which.append(col(CaregiverBooking.caregiver_id) == caregiver_id)
    await session.execute(
        update(CaregiverBooking).where(*which).values(active=False).execution_options(synchronize_session=False)
    )


async def crew_of(session: AsyncSession, request_id: int) -> list[int]:
    """The caregivers holding time for an order, first to join first (two for a two-caregiver service)."""
    rows = await session.execute(
        select(CaregiverBooking.caregiver_id)
        .where(col(CaregiverBooking.request_id) == request_id, col(CaregiverBooking.active).is_(True))
        .order_by(col(CaregiverBooking.id))
    )
    return list(rows.scalars())


async def finish(session: AsyncSession, request_id: int, at: datetime) -> None:
    """The visit ended at ``at``: the rest of its span is free again."""
    mine = (col(CaregiverBooking.request_id) == request_id, col(CaregiverBooking.active).is_(True))
    await session.execute(
        update(CaregiverBooking)
        .where(*mine, col(CaregiverBooking.starts_at) <= at, col(CaregiverBooking.ends_at) > at)
        .values(ends_at=at)
        .execution_options(synchronize_session=False)
    )
    await session.execute(  # served before the booked span even began: none of it is needed
        update(CaregiverBooking)
        .where(*mine, col(CaregiverBooking.starts_at) > at)
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
