"""A caregiver's day: the visits of today (Suzhou's date) in the order they are made.

Ahead or under way (accepted, en route, in service; or a two-caregiver visit she stays on while its other seat is
dispatched again) and those already finished today, so the day reads whole.
Visiting order is the caregiver's calendar: the start of the span each visit holds of their time (the day plan
books each route's spans, the dispatcher each accepted order's), else the window asked for, else when it was
ordered. A visit still ahead from an earlier day (never checked out) is today's work too; one for tomorrow is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.calendars.models import CaregiverBooking
from backend.core.db import local_midnight, local_today
from backend.orders.models import ServiceRequest, Status, Visit
from backend.registry.models import Caregiver, ServiceType
from backend.requests.service import held, on_crew

DONE = [Status.completed.value, Status.closed.value]


@dataclass(frozen=True)
class Stop:
    """One visit of the day, with when the caregiver's calendar expects them at the door and leaving it."""

    request: ServiceRequest
    planned_arrival: datetime | None  # the booked span's service start (its end less the service's minutes)
    planned_departure: datetime | None  # the booked span's end; finished visits: none (their visit has the times)
    starts_at: datetime  # what the day is ordered by


async def day_of(*, session: AsyncSession, caregiver: Caregiver, day: date | None = None) -> tuple[date, list[Stop]]:
    """The caregiver's visits of ``day`` (default today), in visiting order (four queries)."""
    day = day or local_today()
    start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
    ahead = (await session.execute(select(ServiceRequest).where(held(caregiver.id)))).scalars()
    finished = (
        await session.execute(
            select(ServiceRequest)
            .join(Visit, col(Visit.request_id) == col(ServiceRequest.id))
            .where(
                on_crew(caregiver.id),
                col(ServiceRequest.status).in_(DONE),
                col(Visit.checkout_at) >= start,
                col(Visit.checkout_at) < end,
            )
        )
    ).scalars()
    requests = {r.id: r for r in [*ahead, *finished]}
    spans: dict[int, CaregiverBooking] = {}
    booked = await session.execute(
        select(CaregiverBooking)
        .where(col(CaregiverBooking.request_id).in_(list(requests)), col(CaregiverBooking.caregiver_id) == caregiver.id)
        .order_by(col(CaregiverBooking.active), col(CaregiverBooking.id))  # the active one, else the latest, last
    )
    for span in booked.scalars():
        spans[span.request_id] = span
    minutes = dict(
        (
            await session.execute(
                select(ServiceType.code, ServiceType.default_minutes).where(
                    col(ServiceType.code).in_({r.service_type for r in requests.values()})
                )
            )
        ).all()
    )
    stops = []
    for request_id, request in requests.items():
        assert request_id is not None
        booking = spans.get(request_id)
        starts_at = booking.starts_at if booking else request.window_start or request.created_at
        finished_visit = request.status in DONE
        if not finished_visit and starts_at >= end:
            continue  # booked for another day
        if finished_visit:
            arrival = departure = None
        elif booking is not None:
            departure = booking.ends_at
            arrival = departure - timedelta(minutes=minutes.get(request.service_type, 0))
        else:
            arrival, departure = request.window_start, request.window_end
        stops.append(Stop(request, arrival, departure, starts_at))
    stops.sort(key=lambda s: (s.starts_at, s.request.id or 0))
    return day, stops
