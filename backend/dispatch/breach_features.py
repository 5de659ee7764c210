"""What the breach prediction knows of each open order: one row of numbers, the same for the sweep and the model.

Read in a few queries for every open order at once: the order (age, priority, service, window, status), its offers in
this dispatch (made, declined, lapsed, pending), the caregivers free and soon free near it by the dispatcher's own
rules (``backend.dispatch.candidates.supply_near``), the queue waiting in its community, the hour, and how long the
platform took to accept orders lately (its community's median over the last day, else the city's).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.config import Settings
from backend.core.geo import distance_m
from backend.core.i18n import LOCAL_TZ
from backend.dispatch.candidates import supply_near
from backend.dispatch.models import Offer, OfferStatus
from backend.orders.models import RequestHistory, ServiceRequest, Status
from backend.orders.sla import SlaKind, accept_due, arrive_due
from backend.registry.models import Caregiver, Elder

WAITING = (Status.new, Status.dispatching, Status.offered, Status.escalated)
ON_THE_WAY = (Status.accepted, Status.en_route)
WATCHED = (*WAITING, *ON_THE_WAY)
STATUS_CODE = {Status.new: 0, Status.dispatching: 0, Status.offered: 1, Status.escalated: 2, Status.accepted: 3}
PRIORITY_CODE = {"normal": 0, "urgent": 1, "emergency": 2}
NO_ONE_KM = 99.0  # nearest free caregiver when there is none
DEFAULT_ACCEPT_MINUTES = 2.0  # the history's median acceptance delay before there is any history

FEATURES = [
    "sla_accept",  # 1 while the time to accept is at stake, 0 the time to arrive
    "minutes_left",  # until that time
    "age_minutes",
    "priority",
    "booked",  # a window was asked for
    "minutes_to_window",
    "status",
    "offers",
    "declined",
    "lapsed",
    "pending",
    "free",
    "soon_free",
    "nearest_free_km",
    "travel_minutes",  # of the caregiver on the order (arrival), else of the nearest free one
    "queue",  # orders waiting in its community
    "hour",  # Suzhou time
    "history_accept_minutes",
    "waiting_minutes",  # since nobody was free for it
    "rule_probability",  # what the transparent rule says (backend.dispatch.breach_model.rule)
]


@dataclass
class OrderFacts:
    """One open order as the prediction sees it."""

    request: ServiceRequest
    sla: SlaKind
    due: datetime
    values: dict[str, float]

    def row(self) -> list[float]:
        return [float(self.values.get(name, 0.0)) for name in FEATURES]


def at_stake(request: ServiceRequest, settings: Settings, now: datetime) -> tuple[SlaKind, datetime] | None:
    """The next SLA time the order can still meet: while it waits, the sooner of its times to be accepted and to
    arrive; once accepted, its time to arrive. None once it missed one (it is late: the queue shows it red)."""
    dues: list[tuple[datetime, SlaKind]] = [(arrive_due(request, settings), "arrive")]
    if request.status in WAITING:
        dues.append((accept_due(request, settings), "accept"))
    due, kind = min(dues)
    return (kind, due) if now < due else None


async def history_accept_minutes(session: AsyncSession, now: datetime) -> tuple[float, dict[int, float]]:
    """The median minutes from order to first acceptance over the last day: the city's, and each community's."""
    first = (
        select(RequestHistory.request_id, func.min(RequestHistory.at).label("at"))
        .where(col(RequestHistory.status) == Status.accepted.value, col(RequestHistory.at) >= now - timedelta(days=1))
        .group_by(col(RequestHistory.request_id))
        .subquery()
    )
    rows = await session.execute(
        select(ServiceRequest.community_id, ServiceRequest.created_at, first.c.at)
        .join(first, first.c.request_id == col(ServiceRequest.id))
        .limit(20_000)
    )
    by_area: dict[int, list[float]] = defaultdict(list)
    every: list[float] = []
    for community_id, created, accepted in rows.all():
        minutes = max(0.0, (accepted - created).total_seconds() / 60)
        by_area[community_id].append(minutes)
        every.append(minutes)
    city = statistics.median(every) if every else DEFAULT_ACCEPT_MINUTES
    return city, {area: statistics.median(values) for area, values in by_area.items() if len(values) >= 3}


async def open_orders(session: AsyncSession, *, limit: int = 5000) -> list[ServiceRequest]:
    """The orders whose SLA may still be at stake, oldest first."""
    rows = await session.execute(
        select(ServiceRequest)
        .where(col(ServiceRequest.status).in_([s.value for s in WATCHED]))
        .order_by(col(ServiceRequest.created_at))
        .limit(limit)
    )
    return list(rows.scalars())


async def _offers_this_dispatch(session: AsyncSession, ids: list[int | None]) -> dict[int, Counter[str]]:
    """Each order's offers in its current dispatch, counted by status."""
    offers: dict[int, Counter[str]] = defaultdict(Counter)
    rows = await session.execute(
        select(Offer.request_id, Offer.status, Offer.created_at, ServiceRequest.dispatch_started_at)
        .join(ServiceRequest, col(ServiceRequest.id) == col(Offer.request_id))
        .where(col(Offer.request_id).in_(ids))
    )
    for request_id, status, made, started in rows.all():
        if started is None or made >= started:  # this dispatch's offers (an operator's redispatch starts afresh)
            offers[request_id][status] += 1
    return offers


def _order_values(
    request: ServiceRequest, sla: SlaKind, due: datetime, now: datetime, made: Counter[str]
) -> dict[str, float]:
    """The features read from the order itself and its offers; the queue, the history and the supply come after."""
    return {
        "sla_accept": 1.0 if sla == "accept" else 0.0,
        "minutes_left": (due - now).total_seconds() / 60,
        "age_minutes": (now - request.created_at).total_seconds() / 60,
        "priority": PRIORITY_CODE.get(request.priority, 0),
        "booked": 1.0 if request.window_start is not None else 0.0,
        "minutes_to_window": (
            (request.window_start - now).total_seconds() / 60 if request.window_start is not None else 0.0
        ),
        "status": STATUS_CODE.get(Status(request.status), 4),
        "offers": sum(made.values()),
        "declined": made[OfferStatus.declined.value],
        "lapsed": made[OfferStatus.expired.value] + made[OfferStatus.withdrawn.value],
        "pending": made[OfferStatus.pending.value],
    }


async def gather(
    session: AsyncSession, settings: Settings, orders: list[ServiceRequest], now: datetime
) -> list[OrderFacts]:
    """The features of each order whose SLA is still at stake."""
    watched = [(r, stake) for r in orders if (stake := at_stake(r, settings, now)) is not None]
    if not watched:
        return []
    offers = await _offers_this_dispatch(session, [r.id for r, _ in watched])
    elders = {
        e.id: e
        for e in (
            await session.execute(select(Elder).where(col(Elder.id).in_({r.elder_id for r, _ in watched})))
        ).scalars()
    }
    holders = {r.assigned_caregiver_id for r, _ in watched if r.assigned_caregiver_id is not None}
    caregivers = {
        c.id: c for c in (await session.execute(select(Caregiver).where(col(Caregiver.id).in_(holders)))).scalars()
    }
    queue = Counter(r.community_id for r in orders if r.status in WAITING)
    city_minutes, area_minutes = await history_accept_minutes(session, now)
    hour = now.astimezone(LOCAL_TZ)
    facts = []
    for request, (sla, due) in watched:
        assert request.id is not None
        elder = elders[request.elder_id]
        values: dict[str, float] = _order_values(request, sla, due, now, offers[request.id]) | {
            "queue": queue.get(request.community_id, 0),
            "hour": hour.hour + hour.minute / 60,
            "history_accept_minutes": area_minutes.get(request.community_id, city_minutes),
            "waiting_minutes": max(0.0, (now - request.waiting_since).total_seconds() / 60)
            if request.waiting_since
            else 0.0,
            "nearest_free_km": NO_ONE_KM,
            "free": 0.0,
            "soon_free": 0.0,
            "travel_minutes": 0.0,
        }
        holder = caregivers.get(request.assigned_caregiver_id) if request.assigned_caregiver_id else None
        if request.status in WAITING:
            supply = await supply_near(session=session, settings=settings, request=request)
            values["free"], values["soon_free"] = supply.free, supply.soon_free
            if supply.nearest_free_m is not None:
                values["nearest_free_km"] = supply.nearest_free_m / 1000
                values["travel_minutes"] = settings.travel_minutes(supply.nearest_free_m)
        elif holder is not None:  # the way left: on the way since her last change of status, less what she has done
            travel = settings.travel_minutes(distance_m(holder.lat, holder.lon, elder.lat, elder.lon))
            if request.status == Status.en_route:
                travel = max(0.0, travel - (now - request.updated_at).total_seconds() / 60)
            values["travel_minutes"] = travel
        facts.append(OrderFacts(request, sla, due, values))
    return facts
