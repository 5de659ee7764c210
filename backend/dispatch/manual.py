"""People stepping in: an operator assigns an order by hand, a caregiver calls in sick (请假)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.calendars.models import CaregiverBooking
from backend.calendars.service import book, crew_of
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.domain_events import publish
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.events import emit
from backend.core.geo import distance_m
from backend.core.i18n import LOCAL_TZ
from backend.dispatch.candidates import rules_for
from backend.dispatch.events import CaregiverDayChanged
from backend.dispatch.models import Offer, OfferStatus
from backend.dispatch.offers import close_offer, free_seat, hand_back, join_crew, make_room
from backend.dispatch.rounds import after_offer_closed, offer_payload
from backend.orders.lifecycle import Actor, check_transition, lock_request
from backend.orders.models import ServiceRequest, Status
from backend.registry.absences import record_absence
from backend.registry.models import Caregiver, CaregiverSkill, Elder


def _start_of_local_day(now: datetime) -> datetime:
    """Midnight in Suzhou, where "today" is counted."""
    return now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)


async def _passes(
    session: AsyncSession, settings: Settings, request: ServiceRequest, caregiver_id: int, codes: set[str]
) -> bool:
    """True when the caregiver meets the order's hard rules named by ``codes``."""
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    rules = [r.holds for r in await rules_for(session, settings, request, elder) if r.code in codes]
    meets = await session.execute(select(Caregiver.id).where(col(Caregiver.id) == caregiver_id, *rules))
    return meets.first() is not None


async def assign_by_hand(
    *, session: AsyncSession, settings: Settings, request_id: int, caregiver_id: int, actor: Actor, reason: str | None
) -> ServiceRequest:
    """An operator gives an order to a caregiver they reached themselves."""
    request = await lock_request(session, request_id)
    if request is None:
        raise NotFound("工单不存在", code="request_not_found", message_en="Unknown work order")
    check_transition(request, Status.accepted, actor=actor)  # the order's state decides before the caregiver's
    locked = await session.execute(select(Caregiver).where(col(Caregiver.id) == caregiver_id).with_for_update())
    caregiver = locked.scalar_one_or_none()  # the order first, then the caregiver: one lock order
    if caregiver is None:
        raise Invalid("护理员不存在", code="unknown_caregiver", message_en="Unknown caregiver")
    skilled = await session.get(CaregiverSkill, (caregiver_id, request.service_type))
    if skilled is None:
        raise Invalid(
            "该护理员不具备此项服务技能", code="caregiver_lacks_skill", message_en="Caregiver lacks the skill"
        )
    if not await _passes(session, settings, request, caregiver_id, {"no_liability_cover"}):
        raise Conflict(
            "该护理员所属服务组织在服务当天无有效居家服务责任险",
            code="no_liability_cover",
            message_en="The caregiver's provider has no valid home-care liability cover on the visit's day",
        )
    # Serving now (for an order to serve now) or holding a pending offer.
    if not await _passes(session, settings, request, caregiver_id, {"busy", "has_open_offer"}):
        raise Conflict(
            "该护理员正在服务或有待回复的派单",
            code="caregiver_busy",
            message_en="The caregiver holds an order or an open offer",
        )
    if caregiver_id in await crew_of(session, request_id):
        raise Conflict(
            "该护理员已接下本工单", code="already_on_crew", message_en="The caregiver is already on this order"
        )
    await make_room(session, settings, request, caregiver)
    await book(session=session, settings=settings, request=request, caregiver=caregiver)
    now = utcnow()
    await join_crew(session, settings, request, actor=actor, reason=reason or "人工派单", escalation_reason=None)
    offer = Offer(
        request_id=request_id,
        caregiver_id=caregiver_id,
        status=OfferStatus.accepted.value,
        seat=await free_seat(session, request),
        distance_m=0.0,
        explanation=f"由{actor.label}人工指派",
        explanation_en=f"Assigned by hand by {actor.label}",
        created_at=now,
        expires_at=now,
        answered_at=now,
    )
    elder = await session.get(Elder, request.elder_id)
    if elder is not None:
        offer.distance_m = round(distance_m(elder.lat, elder.lon, caregiver.lat, caregiver.lon), 1)
    session.add(offer)
    await session.flush()
    emit(session, "offer.assigned", [f"caregiver:{caregiver_id}"], offer_payload(offer, request))
    return request


async def _orders_of(session: AsyncSession, caregiver_id: int, until: datetime) -> list[int]:
    """The orders an absent caregiver leaves: her visits starting before ``until``, and those offered to her."""
    before_until = or_(col(ServiceRequest.window_start).is_(None), col(ServiceRequest.window_start) < until)
    # Their visits: accepted, or joined as one of a two-caregiver crew still waiting for the other.
    mine = (
        select(ServiceRequest.id)
        .join(CaregiverBooking, col(CaregiverBooking.request_id) == col(ServiceRequest.id))
        .where(
            col(CaregiverBooking.caregiver_id) == caregiver_id,
            col(CaregiverBooking.active).is_(True),
            col(ServiceRequest.status).in_(
                [s.value for s in (Status.accepted, Status.dispatching, Status.offered, Status.escalated)]
            ),
            before_until,
        )
    )
    offered = select(Offer.request_id).where(
        col(Offer.caregiver_id) == caregiver_id, col(Offer.status) == OfferStatus.pending.value
    )
    return sorted({*(await session.execute(mine)).scalars(), *(await session.execute(offered)).scalars()})


async def _withdraw_offer_to(
    session: AsyncSession, settings: Settings, request: ServiceRequest, caregiver_id: int, *, reason: str
) -> None:
    """Withdraw the (locked) order's pending offer to the caregiver; the order is dispatched again if none is left."""
    pending = await session.execute(
        select(Offer).where(
            col(Offer.request_id) == request.id,
            col(Offer.caregiver_id) == caregiver_id,
            col(Offer.status) == OfferStatus.pending.value,
        )
    )
    for offer in pending.scalars():
        await close_offer(session, offer, OfferStatus.withdrawn, utcnow())
        emit(
            session,
            "offer.withdrawn",
            [f"caregiver:{caregiver_id}"],
            {"offer_id": offer.id, "request_id": request.id},
        )
    await after_offer_closed(session, settings, request, reason=reason)


async def report_absence(
    *,
    session: AsyncSession,
    settings: Settings,
    caregiver_id: int,
    reported_by: Actor,
    reason: str | None,
    until: datetime | None = None,
) -> tuple[datetime, list[int]]:
    """A caregiver calls in sick until ``until`` (default: the end of today, Suzhou time).

    They go off shift and their open offers are withdrawn; the day's plan is repaired by the
    dispatcher: each visit they accepted that starts before ``until`` and has not begun goes back to
    ``dispatching`` (their booking released, their accepted offer ``released``) and is matched into
    colleagues' calendars like any order with a window; on a two-caregiver visit the partner keeps
    their seat and only the missing one is dispatched. Visits under way (en route, in service) stay
    with the operators. Returns the end of the absence and the orders sent back to the dispatcher.
    """
    now = utcnow()
    if until is None:
        until = _start_of_local_day(now) + timedelta(days=1)
    elif until <= now:
        raise Invalid("请假结束时间必须晚于现在", code="invalid_until", message_en="until must be in the future")
    orders = await _orders_of(session, caregiver_id, until)
    why = f"{reported_by.label} 报告护理员请假{('：' + reason) if reason else ''}，重新派单"
    redone = []
    for request_id in orders:  # each order locked before its offers and bookings: the one lock order
        request = await lock_request(session, request_id)
        assert request is not None
        if await hand_back(session, settings, request, caregiver_id, reason=why):
            redone.append(request_id)
        elif request.status == Status.offered:
            await _withdraw_offer_to(session, settings, request, caregiver_id, reason=why)
    caregiver = (
        await session.execute(select(Caregiver).where(col(Caregiver.id) == caregiver_id).with_for_update())
    ).scalar_one()
    caregiver.on_shift, caregiver.absent_until = False, until
    await record_absence(
        session=session, caregiver_id=caregiver_id, at=now, until=until, reason=reason, reported_by=reported_by.role
    )
    await publish(session, CaregiverDayChanged((caregiver_id,), "absence"))
    return until, redone
