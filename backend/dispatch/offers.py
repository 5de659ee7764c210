"""What happens to each offer: accepted (its caregiver joins the order's crew), declined, or lapsed past its
deadline; late emergencies handed to the operators; the offers a caregiver holds and an order made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.changes import caregivers_access_changed
from backend.calendars.service import book, crew_of, movable_overlapping, release, span_of
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.domain_events import publish
from backend.core.errors import Conflict, NotFound
from backend.core.events import emit
from backend.dispatch.events import CaregiverDayChanged
from backend.dispatch.models import Offer, OfferStatus
from backend.dispatch.rounds import DISPATCHER, after_offer_closed, dispatch_after_commit, needed
from backend.dispatch.waiting import caregivers_freed
from backend.orders.lifecycle import Actor, check_transition, lock_request, request_channels, transition
from backend.orders.models import Priority, ServiceRequest, Status
from backend.registry.models import Caregiver

SCHEDULER = Actor.system("scheduler")


async def _offer_of(session: AsyncSession, offer_id: int, caregiver: Caregiver) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None or offer.caregiver_id != caregiver.id:
        raise NotFound("派单不存在", code="offer_not_found", message_en="Unknown offer")
    return offer


async def close_offer(session: AsyncSession, offer: Offer, to: OfferStatus, now: datetime, *, seat: int = 0) -> None:
    result = await session.execute(
        update(Offer)
        .where(col(Offer.id) == offer.id, col(Offer.status) == OfferStatus.pending.value)
        .values(status=to.value, answered_at=now, seat=seat)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该派单已失效", code="offer_not_pending", message_en="This offer is no longer open")
    offer.status, offer.answered_at, offer.seat = to.value, now, seat
    if to != OfferStatus.accepted:  # the order was theirs to read while the offer stood
        await caregivers_access_changed(session, [offer.caregiver_id], reason=f"offer_{to.value}")


async def free_seat(session: AsyncSession, request: ServiceRequest) -> int:
    """The first of the order's seats no accepted offer holds (0 when all are taken: the database refuses)."""
    taken = await session.execute(
        select(Offer.seat).where(col(Offer.request_id) == request.id, col(Offer.status) == OfferStatus.accepted.value)
    )
    free = set(range(await needed(session, request))) - set(taken.scalars())
    return min(free, default=0)


async def withdraw_other_offers(session: AsyncSession, request: ServiceRequest, *, keep: int | None) -> None:
    """Close the order's other pending offers and tell those caregivers."""
    rows = (
        (
            await session.execute(
                select(Offer).where(
                    col(Offer.request_id) == request.id,
                    col(Offer.status) == OfferStatus.pending.value,
                    col(Offer.id) != keep,
                )
            )
        )
        .scalars()
        .all()
    )
    now = utcnow()
    for other in rows:
        other.status, other.answered_at = OfferStatus.withdrawn.value, now
        emit(
            session,
            "offer.withdrawn",
            [f"caregiver:{other.caregiver_id}"],
            {"offer_id": other.id, "request_id": request.id},
        )
    await caregivers_access_changed(session, [o.caregiver_id for o in rows], reason="offer_withdrawn")
    caregivers_freed(session, [o.caregiver_id for o in rows])
    await session.flush()


async def accept_offer(
    *, session: AsyncSession, settings: Settings, offer_id: int, caregiver: Caregiver
) -> ServiceRequest:
    """The caregiver takes the order; exactly one acceptance per seat wins (409 for the rest).

    A two-caregiver service is accepted once its second caregiver accepts; until then the first
    one's time is booked and the order stays offered (or goes back to dispatching for the other seat).
    """
    offer = await _offer_of(session, offer_id, caregiver)
    request = await lock_request(session, offer.request_id)  # accepts of one order queue up here
    assert request is not None
    now = utcnow()
    if offer.status == OfferStatus.pending and offer.expires_at <= now:
        raise Conflict("派单已超时", code="offer_expired", message_en="This offer has expired")
    actor = Actor.of_caregiver(caregiver)
    await close_offer(session, offer, OfferStatus.accepted, now, seat=await free_seat(session, request))
    check_transition(request, Status.accepted, actor=actor)  # the order is still open (else all rolls back)
    await make_room(session, settings, request, caregiver)
    await book(session=session, settings=settings, request=request, caregiver=caregiver)  # after the race is won
    await join_crew(session, settings, request, actor=actor, reason="护理员接单")
    return request


async def join_crew(
    session: AsyncSession, settings: Settings, request: ServiceRequest, *, actor: Actor, reason: str, **changes: Any
) -> None:
    """A caregiver has just booked their time for the order: accept it when its crew is complete.

    Otherwise everyone watching learns who has joined (``request.crew``), and when no offer is left
    open for the remaining seat the order goes back to the dispatcher for it.
    """
    assert request.id is not None
    crew, team = await crew_of(session, request.id), await needed(session, request)
    if len(crew) >= team:
        await transition(
            session,
            request,
            Status.accepted,
            actor=actor,
            reason=reason if team == 1 else f"{reason}（{team} 人已齐）",
            assigned_caregiver_id=crew[0],
            partner_caregiver_id=crew[1] if team > 1 else None,
            **changes,
        )
        await withdraw_other_offers(session, request, keep=None)
        return
    channels = await request_channels(session, request) + [f"caregiver:{c}" for c in crew]
    emit(session, "request.crew", channels, {"request_id": request.id, "crew": crew, "needed": team})
    await after_offer_closed(session, settings, request, reason=f"{reason}，还需 {team - len(crew)} 名护理员")


async def decline_offer(
    *, session: AsyncSession, settings: Settings, offer_id: int, caregiver: Caregiver, reason: str | None
) -> Offer:
    """The caregiver says no; the order moves on to the next candidate."""
    offer = await _offer_of(session, offer_id, caregiver)
    request = await lock_request(session, offer.request_id)
    assert request is not None
    await close_offer(session, offer, OfferStatus.declined, utcnow())
    await after_offer_closed(session, settings, request, reason=f"护理员拒单{('：' + reason) if reason else ''}")
    caregivers_freed(session, [offer.caregiver_id])  # an order waiting near her need not wait for the sweep
    return offer


async def orders_with_lapsed_offers(*, session: AsyncSession, now: datetime, limit: int = 500) -> list[int]:
    """Orders that have a pending offer past its deadline."""
    due = (
        select(Offer.request_id)
        .where(col(Offer.status) == OfferStatus.pending.value, col(Offer.expires_at) <= now)
        .distinct()
        .limit(limit)
    )
    return sorted((await session.execute(due)).scalars())


async def expire_offers_of(*, session: AsyncSession, settings: Settings, request_id: int, now: datetime) -> int:
    """Close an order's offers whose deadline passed, and move the order on (one unit of work per order)."""
    request = await lock_request(session, request_id)  # the order first, then its offers
    if request is None:
        return 0
    closed = await session.execute(
        update(Offer)
        .where(
            col(Offer.request_id) == request_id,
            col(Offer.status) == OfferStatus.pending.value,
            col(Offer.expires_at) <= now,
        )
        .values(status=OfferStatus.expired.value, answered_at=now)
        .returning(col(Offer.id), col(Offer.caregiver_id))
        .execution_options(synchronize_session=False)
    )
    expired = closed.all()
    for offer_id, caregiver_id in expired:
        emit(session, "offer.expired", [f"caregiver:{caregiver_id}"], {"offer_id": offer_id, "request_id": request_id})
    await caregivers_access_changed(session, [c for _, c in expired], reason="offer_expired")
    await after_offer_closed(session, settings, request, reason="派单超时未响应")
    caregivers_freed(session, [c for _, c in expired])
    return len(expired)


async def late_emergencies(*, session: AsyncSession, settings: Settings, now: datetime) -> list[int]:
    """Emergencies still without a caregiver after their clock (counted from the start of this dispatch)."""
    started = func.coalesce(col(ServiceRequest.dispatch_started_at), col(ServiceRequest.created_at))
    late = select(ServiceRequest.id).where(
        col(ServiceRequest.priority) == Priority.emergency.value,
        col(ServiceRequest.status).in_([Status.dispatching.value, Status.offered.value]),
        started <= now - timedelta(seconds=settings.emergency_escalate_seconds),
    )
    return sorted(i for i in (await session.execute(late)).scalars() if i is not None)


async def escalate_late_emergency(*, session: AsyncSession, settings: Settings, request_id: int) -> None:
    """Withdraw a late emergency's offers and hand it to the operators."""
    request = await lock_request(session, request_id)
    if request is None or request.status not in (Status.dispatching, Status.offered):
        return
    await withdraw_other_offers(session, request, keep=None)
    await transition(
        session,
        request,
        Status.escalated,
        actor=SCHEDULER,
        reason=f"紧急工单 {settings.emergency_escalate_seconds} 秒内无人接单，转人工",
        escalation_reason="emergency_not_accepted",
    )


async def open_offers(*, session: AsyncSession, caregiver: Caregiver) -> list[tuple[Offer, ServiceRequest]]:
    """The caregiver's pending offers that have not expired, with their orders, soonest deadline first."""
    rows = await session.execute(
        select(Offer, ServiceRequest)
        .join(ServiceRequest, col(ServiceRequest.id) == col(Offer.request_id))
        .where(
            col(Offer.caregiver_id) == caregiver.id,
            col(Offer.status) == OfferStatus.pending.value,
            col(Offer.expires_at) > utcnow(),
        )
        .order_by(col(Offer.expires_at), col(Offer.id))
    )
    return [(offer, request) for offer, request in rows.all()]


async def offers_of(*, session: AsyncSession, request_id: int) -> list[tuple[Offer, str]]:
    """An order's offers with the caregivers' names, oldest first."""
    rows = await session.execute(
        select(Offer, Caregiver.name)
        .join(Caregiver, col(Caregiver.id) == col(Offer.caregiver_id))
        .where(col(Offer.request_id) == request_id)
        .order_by(col(Offer.id))
    )
    return [(offer, name) for offer, name in rows.all()]


async def make_room(session: AsyncSession, settings: Settings, request: ServiceRequest, caregiver: Caregiver) -> None:
    """An emergency goes first: the caregiver's visits booked for later that overlap it go to colleagues."""
    if request.priority != Priority.emergency:
        return
    start, end = await span_of(session, settings, request, caregiver)
    moved = sorted(set((await session.execute(movable_overlapping(caregiver.id, start, end))).scalars()))
    for request_id in moved:
        other = await lock_request(session, request_id)
        assert other is not None and other.id is not None
        why = f"护理员 {caregiver.name} 赶赴紧急工单 #{request.id}，本次上门改派同事"
        await hand_back(session, settings, other, caregiver.id, reason=why)  # type: ignore[arg-type]
    if moved:
        await publish(session, CaregiverDayChanged((caregiver.id,), "emergency"))  # type: ignore[arg-type]


async def hand_back(
    session: AsyncSession, settings: Settings, request: ServiceRequest, caregiver_id: int, *, reason: str
) -> bool:
    """The caregiver leaves a (locked) order they hold or joined: their time and seat are freed.

    An accepted order goes back to the dispatcher (True); a two-caregiver partner keeps their seat, so
    only the missing one is dispatched. Whoever keeps a seat keeps the order (``assigned_caregiver_id``, the
    first of the crew still booked): to read it, find it on their phone and hear how its other seat is filled.
    """
    assert request.id is not None
    await release(session, request.id, caregiver_id=caregiver_id)
    stays = await crew_of(session, request.id)  # the bookings decide who still holds it, the first to join leading
    lead, partner = [*stays, None, None][:2]
    await session.execute(
        update(Offer)
        .where(
            col(Offer.request_id) == request.id,
            col(Offer.caregiver_id) == caregiver_id,
            col(Offer.status) == OfferStatus.accepted.value,
        )
        .values(status=OfferStatus.released.value)
        .execution_options(synchronize_session=False)
    )
    await caregivers_access_changed(session, [caregiver_id], reason="offer_released")
    if request.status != Status.accepted:
        if caregiver_id in (request.assigned_caregiver_id, request.partner_caregiver_id):
            # The one who kept the order while its other seat was dispatched again leaves it too.
            channels = [*await request_channels(session, request), f"caregiver:{caregiver_id}"]
            request.assigned_caregiver_id, request.partner_caregiver_id = lead, partner
            await session.flush()
            team = await needed(session, request)
            emit(session, "request.crew", channels, {"request_id": request.id, "crew": stays, "needed": team})
        return False
    await transition(
        session,
        request,
        Status.dispatching,
        actor=DISPATCHER,
        reason=reason,
        assigned_caregiver_id=lead,
        partner_caregiver_id=partner,
    )
    dispatch_after_commit(session, settings, request)
    return True
