"""What the staff's screens show, read straight from the database within the viewer's area.

The queue puts what needs a person first: escalated orders, then those past their time (to be accepted, or for
the caregiver to arrive), then those close to it. Times are counted in Suzhou days.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Result, Row
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.personal import caregiver_disclosure
from backend.access.scope import own_area_condition
from backend.areas.models import Community
from backend.audit import service as audit
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.identity import mask_phone
from backend.dashboard.figures import day_series
from backend.dashboard.schemas import (
    CaregiverRow,
    Caregivers,
    CaregiverState,
    Figures,
    Queue,
    QueueItem,
    Sla,
)
from backend.dispatch.models import BreachWatch, Offer, OfferStatus
from backend.orders.models import ServiceRequest, Status
from backend.orders.sla import accept_due, arrive_due
from backend.registry.models import Caregiver, Elder, Provider, ProviderCommunity, ServiceType
from backend.users.models import User

WAITING = (Status.new, Status.dispatching, Status.offered, Status.escalated)
ON_THE_WAY = (Status.accepted, Status.en_route)
OPEN = (*WAITING, *ON_THE_WAY, Status.in_service)
PRIORITY_ORDER = {"emergency": 0, "urgent": 1, "normal": 2}
SLA_ORDER = {"late": 0, "warning": 1, "ok": 2}


async def _area(
    session: AsyncSession, user: User, community_id: int | None, street_id: int | None, district_id: int | None
) -> tuple[str, list[ColumnElement[bool]]]:
    """The area asked for; none asked: community staff get their own, city-wide roles the city."""
    return await own_area_condition(session, user, community_id, street_id, district_id)


def sla_of(request: ServiceRequest, now: datetime, settings: Settings) -> tuple[Sla, datetime | None]:
    """How the order stands against its time: to be accepted while it waits, for the caregiver to arrive after."""
    if request.status in WAITING:
        start, due = request.created_at, accept_due(request, settings)
    elif request.status in ON_THE_WAY:
        due = arrive_due(request, settings)
        start = min(request.created_at, request.window_start or request.created_at)
    else:  # in service: past the end of its window is worth a look, not an alarm
        late_end = request.window_end is not None and now > request.window_end
        return ("warning" if late_end else "ok"), request.window_end
    if now >= due:
        return "late", due
    spent = (now - start) / (due - start) if due > start else 1.0
    return ("warning" if spent >= settings.sla_warn_share else "ok"), due


async def queue(
    *,
    session: AsyncSession,
    settings: Settings,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    limit: int,
) -> Queue:
    """An area's open orders with who, where, how long they have waited and their SLA colour."""
    area, where = await _area(session, user, community_id, street_id, district_id)
    rows = await _open_orders(session, where)
    now = utcnow()
    found = rows.all()
    await audit.record_reads(session, action="elder.list", elder_ids=[r[0].elder_id for r in found])
    items = [_queue_item(row, now=now, settings=settings) for row in found]
    items.sort(key=_queue_rank)
    counts = Counter(i.status for i in items)
    return Queue(
        area=area,
        generated_at=now,
        counts={s.value: counts.get(s.value, 0) for s in OPEN},
        late=sum(1 for i in items if i.sla == "late"),
        at_risk=sum(1 for i in items if i.predicted_breach_at is not None),
        orders=items[:limit],
    )


async def _open_orders(session: AsyncSession, where: list[ColumnElement[bool]]) -> Result[*tuple[Any, ...]]:
    """The area's open orders, oldest first, with their elder, community, service, caregiver and breach watch."""
    in_area = select(Community.id).where(*where)
    return await session.execute(
        sa_select(
            ServiceRequest,
            col(Elder.name),
            col(Elder.address),
            col(Elder.lat),
            col(Elder.lon),
            col(Community.name),
            col(ServiceType.name_zh),
            col(ServiceType.name_en),
            col(Caregiver.name),
            BreachWatch,
        )
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .join(Community, col(Community.id) == col(ServiceRequest.community_id))
        .join(ServiceType, col(ServiceType.code) == col(ServiceRequest.service_type))
        .outerjoin(Caregiver, col(Caregiver.id) == col(ServiceRequest.assigned_caregiver_id))
        .outerjoin(BreachWatch, col(BreachWatch.request_id) == col(ServiceRequest.id))
        .where(col(ServiceRequest.status).in_(OPEN), col(ServiceRequest.community_id).in_(in_area))
        .order_by(col(ServiceRequest.created_at))
    )


def _queue_item(row: Row[*tuple[Any, ...]], *, now: datetime, settings: Settings) -> QueueItem:
    """One row of `_open_orders` as the queue shows it."""
    request, elder, address, lat, lon, community, zh, en, caregiver, watch = row
    state, due = sla_of(request, now, settings)
    assert request.id is not None
    return QueueItem(
        id=request.id,
        status=request.status,
        priority=request.priority,
        service_type=request.service_type,
        service_name_zh=zh,
        service_name_en=en,
        elder_id=request.elder_id,
        elder_name=elder,
        address=address,
        lat=lat,
        lon=lon,
        community_id=request.community_id,
        community_name=community,
        caregiver_id=request.assigned_caregiver_id,
        caregiver_name=caregiver,
        escalation_reason=request.escalation_reason,
        window_start=request.window_start,
        window_end=request.window_end,
        created_at=request.created_at,
        waiting_seconds=max(0, int((now - request.created_at).total_seconds())),
        sla=state,
        sla_due_at=due,
        predicted_breach_at=watch.predicted_breach_at if watch is not None else None,
        breach_risk=watch.risk if watch is not None else None,
        breach_probability=watch.probability if watch is not None else None,
        breach_sla=watch.sla if watch is not None and watch.sla else None,
    )


def _queue_rank(i: QueueItem) -> tuple[bool, int, bool, int, datetime]:
    """Escalated first, then by SLA colour, then those likely to breach, then by priority and age."""
    return (
        i.status != Status.escalated,
        SLA_ORDER[i.sla],
        i.predicted_breach_at is None,  # then those likely to breach
        PRIORITY_ORDER.get(i.priority, 3),
        i.created_at,
    )


async def caregivers(
    *,
    session: AsyncSession,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    everyone: bool,
) -> Caregivers:
    """The caregivers of the providers serving an area, and what each is doing now."""
    area, where = await _area(session, user, community_id, street_id, district_id)
    serving = select(ProviderCommunity.provider_id).where(
        col(ProviderCommunity.community_id).in_(select(Community.id).where(*where))
    )
    query = (
        select(Caregiver, Provider.name)
        .join(Provider, col(Provider.id) == col(Caregiver.provider_id))
        .where(col(Provider.active).is_(True), col(Provider.id).in_(serving))
        .order_by(col(Caregiver.name), col(Caregiver.id))
    )
    if not everyone:
        query = query.where(col(Caregiver.on_shift).is_(True))
    people = (await session.execute(query)).all()
    holding, offered = await _engagements(session, [c.id for c, _ in people])
    now = utcnow()
    out = []
    for caregiver, provider in people:
        assert caregiver.id is not None
        state = _caregiver_state(caregiver, holding=holding, offered=offered, now=now)
        request_id = holding.get(caregiver.id) or offered.get(caregiver.id)
        shown = caregiver_disclosure(user, caregiver, now)
        out.append(
            CaregiverRow(
                id=caregiver.id,
                name=caregiver.name,
                phone=caregiver.phone if shown.phone else mask_phone(caregiver.phone),
                provider_id=caregiver.provider_id,
                provider_name=provider,
                lat=caregiver.lat if shown.position else None,
                lon=caregiver.lon if shown.position else None,
                state=state,
                request_id=request_id if state in ("busy", "offered") else None,
            )
        )
    counts = Counter(c.state for c in out)
    return Caregivers(area=area, counts=dict(counts), caregivers=out)


async def _engagements(session: AsyncSession, ids: list[int | None]) -> tuple[dict[int, int], dict[int, int]]:
    """The order each caregiver holds (on the way or in service, as first or partner) and the one offered to them."""
    holding: dict[int, int] = {}
    offered: dict[int, int] = {}
    if ids:
        held = await session.execute(
            select(ServiceRequest.id, ServiceRequest.assigned_caregiver_id, ServiceRequest.partner_caregiver_id).where(
                col(ServiceRequest.status).in_([s.value for s in (*ON_THE_WAY, Status.in_service)]),
                col(ServiceRequest.assigned_caregiver_id).in_(ids) | col(ServiceRequest.partner_caregiver_id).in_(ids),
            )
        )
        for request_id, first, second in held.all():
            for caregiver_id in (first, second):
                if caregiver_id is not None:
                    holding[caregiver_id] = request_id
        pending = await session.execute(
            select(Offer.caregiver_id, Offer.request_id).where(
                col(Offer.status) == OfferStatus.pending, col(Offer.caregiver_id).in_(ids)
            )
        )
        offered = dict(pending.tuples().all())
    return holding, offered


def _caregiver_state(
    caregiver: Caregiver, *, holding: dict[int, int], offered: dict[int, int], now: datetime
) -> CaregiverState:
    """Absent, busy with an order, offered one, idle on shift or off shift."""
    assert caregiver.id is not None
    if caregiver.absent_until is not None and caregiver.absent_until > now:
        return "absent"
    if caregiver.id in holding:
        return "busy"
    if caregiver.id in offered:
        return "offered"
    return "idle" if caregiver.on_shift else "off_shift"


async def figures(
    *,
    session: AsyncSession,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    days: int,
) -> Figures:
    """Today's orders, time to accept, completion and satisfaction in an area, and the same for each past day."""
    area, where = await _area(session, user, community_id, street_id, district_id)
    series = await day_series(session, where, days)
    return Figures(area=area, today=series[-1], days=series)
