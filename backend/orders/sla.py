"""An order's SLA: the time it may wait to be accepted, and the time by which its caregiver must be at the door.

- **Acceptance**: ``ELDERCARE_SLA_ACCEPT_MINUTES`` by priority (emergency 3, urgent 15, normal 60), from when the
  order was made.
- **Arrival** (check-in at the door): a booked visit by ``ELDERCARE_SLA_LATE_ARRIVAL_MINUTES`` (30) after its window
  opens; an order to serve now ``ELDERCARE_SLA_ARRIVE_MINUTES`` by priority (30, 120, 1440) after it was made.

An order **breaches** its SLA when it is not accepted by its acceptance time, or its caregiver has not checked in by
its arrival time; an order cancelled before such a time does not breach it. The breach happens at that time.
The queue's colours (``backend.dashboard.service.sla_of``) and the breach prediction (``backend.dispatch.breach``)
read the same times.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from backend.core.config import Settings
from backend.orders.models import ServiceRequest

SlaKind = Literal["accept", "arrive"]


def accept_due(request: ServiceRequest, settings: Settings) -> datetime:
    """When the order must have been accepted."""
    return request.created_at + timedelta(minutes=settings.sla_accept_minutes.get(request.priority, 120))


def arrive_due(request: ServiceRequest, settings: Settings) -> datetime:
    """When the caregiver must be at the door."""
    if request.window_start is not None:
        return request.window_start + timedelta(minutes=settings.sla_late_arrival_minutes)
    return request.created_at + timedelta(minutes=settings.sla_arrive_minutes.get(request.priority, 24 * 60))


def breach_of(
    request: ServiceRequest,
    settings: Settings,
    *,
    accepted_at: datetime | None,
    arrived_at: datetime | None,
    cancelled_at: datetime | None,
) -> tuple[SlaKind, datetime] | None:
    """Which of its times the order missed first, and when (None: none missed, so far as these facts go)."""
    missed: list[tuple[datetime, SlaKind]] = []
    for kind, due, done in (
        ("accept", accept_due(request, settings), accepted_at),
        ("arrive", arrive_due(request, settings), arrived_at),
    ):
        if (done is not None and done <= due) or (cancelled_at is not None and cancelled_at <= due):
            continue
        missed.append((due, kind))  # type: ignore[arg-type]
    if not missed:
        return None
    due, kind = min(missed)
    return kind, due
