"""Dispatch rounds and batches: offering an order to its next candidate(s).

Offers go out one at a time (several at once for emergencies) with a deadline; a decline or a passed deadline
(``backend/dispatch/offers.py``) moves to the next candidate; when nobody is left the order is escalated to
the operators. Outside emergencies, the orders arriving within one batching window are matched jointly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from scipy.optimize import linear_sum_assignment
from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.calendars.service import crew_of
from backend.core.config import Settings
from backend.core.db import iso, lock_transaction, utcnow
from backend.core.events import emit
from backend.core.geo import distance_m
from backend.core.jobs import enqueue_after_commit
from backend.core.metrics import DISPATCH_DECISION
from backend.dispatch.candidates import PASSING_RULES, Candidate, caregivers_near, find_candidates, rules_for
from backend.dispatch.models import BreachWatch, Offer, OfferStatus
from backend.orders.lifecycle import Actor, lock_request, transition
from backend.orders.models import Priority, ServiceRequest, Status
from backend.registry.models import Caregiver, Elder, ServiceType

DISPATCHER = Actor.system("dispatcher")


def offer_payload(offer: Offer, request: ServiceRequest) -> dict[str, object]:
    return {
        "id": offer.id,
        "offer_id": offer.id,
        "request_id": request.id,
        "service_type": request.service_type,
        "priority": request.priority,
        "expires_at": iso(offer.expires_at),
        "distance_m": offer.distance_m,
        "explanation": offer.explanation,
    }


async def _pending_count(session: AsyncSession, request_id: int) -> int:
    result = await session.execute(
        select(func.count(col(Offer.id))).where(
            col(Offer.request_id) == request_id, col(Offer.status) == OfferStatus.pending.value
        )
    )
    return int(result.scalar_one())


async def _claim_caregivers(session: AsyncSession, caregiver_ids: list[int]) -> set[int]:
    """Lock the caregivers' rows for this round, skipping any another round holds (PostgreSQL)."""
    if not caregiver_ids:
        return set()
    rows = await session.execute(
        select(Caregiver.id).where(col(Caregiver.id).in_(caregiver_ids)).with_for_update(skip_locked=True)
    )
    return {i for i in rows.scalars() if i is not None}


async def _offer_to(
    session: AsyncSession, request: ServiceRequest, candidate: Candidate, *, now: datetime, expires: datetime
) -> Offer | None:
    """Write an offer and tell the caregiver's phone; None when another order took them just now."""
    team = await needed(session, request)
    if team > 1:
        candidate = replace(
            candidate,
            explanation=f"{candidate.explanation} · 双人服务：{team} 名护理员同时上门",
            explanation_en=f"{candidate.explanation_en} · {team} caregivers serve together",
        )
    offer = Offer(
        request_id=request.id,  # type: ignore[arg-type]
        caregiver_id=candidate.caregiver_id,
        rank=candidate.rank,
        distance_m=candidate.distance_m,
        load=candidate.load,
        score=candidate.score,
        breakdown=candidate.breakdown,
        explanation=candidate.explanation,
        explanation_en=candidate.explanation_en,
        created_at=now,
        expires_at=expires,
    )
    try:
        async with session.begin_nested():  # the partial unique index: one pending offer per caregiver
            session.add(offer)
            await session.flush()
    except IntegrityError:
        return None
    payload = offer_payload(offer, request) | {"caregivers_needed": team}
    emit(session, "offer.created", [f"caregiver:{candidate.caregiver_id}"], payload)
    return offer


async def _start_dispatch(session: AsyncSession, request: ServiceRequest) -> bool:
    """Move a new order into dispatching; False when the order is past dispatching (taken, cancelled…)."""
    if request.status == Status.new:
        await transition(session, request, Status.dispatching, actor=DISPATCHER, reason="开始派单")
    return request.status in (Status.dispatching, Status.offered)


async def _worth_waiting(session: AsyncSession, settings: Settings, request: ServiceRequest) -> bool:
    """Nobody is free now, but someone will be: keep the order dispatching instead of escalating it.

    True when a caregiver within the dispatch radius passes every hard rule except being busy (the visit in her
    hands, which she will finish) or holding another offer, and the order has waited less than
    ``dispatch_wait_seconds``. She wakes it the moment she is free (``backend.dispatch.waiting``); the deadline
    sweep gives a waiting order another round once it has been quiet for ``stalled_seconds``.
    Emergencies never wait: their operators are told at once.
    """
    if request.priority == Priority.emergency:
        return False
    started = request.dispatch_started_at or request.created_at
    if utcnow() - started > timedelta(seconds=settings.dispatch_wait_seconds):
        return False
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    rules = [
        r.holds for r in await rules_for(session, settings, request, elder, waiting=True) if r.code not in PASSING_RULES
    ]
    radius = settings.candidate_radius_km * 1000
    for _cid, _pid, _name, lat, lon in (await session.execute(caregivers_near(elder, radius).where(*rules))).all():
        if distance_m(elder.lat, elder.lon, lat, lon) <= radius:
            return True
    return False


async def _settle(
    session: AsyncSession, request: ServiceRequest, made: int, *, hopeless: bool, waiting: bool = False
) -> None:
    """After a round: offered when offers went out; escalated when nobody is left (``hopeless``); else, when nobody
    is free for it now (``waiting``), waiting for the first caregiver who could serve it to become free."""
    if request.status != Status.dispatching:
        return
    if made:
        await transition(session, request, Status.offered, actor=DISPATCHER, reason=f"派单给 {made} 名护理员")
    elif hopeless and await _pending_count(session, request.id) == 0:  # type: ignore[arg-type]
        await transition(
            session,
            request,
            Status.escalated,
            actor=DISPATCHER,
            reason="无可派人员，转人工",
            escalation_reason="no_candidate",
        )
    elif waiting:
        now = utcnow()  # checked now; waiting since its first check (the sweep looks again in a while)
        await session.execute(
            update(ServiceRequest)
            .where(col(ServiceRequest.id) == request.id, col(ServiceRequest.status) == Status.dispatching.value)
            .values(waiting_since=func.coalesce(col(ServiceRequest.waiting_since), now), updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def needed(session: AsyncSession, request: ServiceRequest) -> int:
    """How many caregivers serve this order together (2 for a two-caregiver service)."""
    service_type = await session.get(ServiceType, request.service_type)
    assert service_type is not None
    return service_type.caregivers_needed


async def open_seats(session: AsyncSession, request: ServiceRequest) -> int:
    """How many more caregivers the order needs: those who accepted hold its time in their calendars."""
    wanted = await needed(session, request)
    if wanted == 1:
        return 1  # one caregiver: whoever accepts completes it (no query on the common path)
    assert request.id is not None
    return max(0, wanted - len(await crew_of(session, request.id)))


async def run_round(*, session: AsyncSession, settings: Settings, request_id: int) -> ServiceRequest | None:
    """Offer an order to its next candidate(s), or escalate it when none is left (idempotent); timed."""
    with DISPATCH_DECISION.labels("round").time():
        return await _run_round(session, settings, request_id)


async def _run_round(session: AsyncSession, settings: Settings, request_id: int) -> ServiceRequest | None:
    request = await lock_request(session, request_id)
    if request is None or not await _start_dispatch(session, request):
        return request
    seats = await open_seats(session, request)
    # An order likely to breach its SLA (``backend.dispatch.breach``) reaches wider and more caregivers at once.
    watch = await session.get(BreachWatch, request_id)
    fanout, radius_km = settings.offer_fanout(request.priority), None
    if watch is not None and watch.boosted:
        fanout = max(fanout, settings.breach_offer_fanout)
        radius_km = settings.candidate_radius_km * settings.breach_radius_factor
    wanted = max(fanout, seats) - await _pending_count(session, request_id)
    made = 0
    if wanted > 0:
        now = utcnow()
        expires = now + timedelta(seconds=settings.offer_seconds(request.priority))
        candidates = await find_candidates(session, request, settings, limit=wanted + 5, radius_km=radius_km)
        free = await _claim_caregivers(session, [c.caregiver_id for c in candidates])
        for candidate in candidates:
            if candidate.caregiver_id not in free:
                continue  # another round is offering them something right now
            if await _offer_to(session, request, candidate, now=now, expires=expires) is not None:
                made += 1
                if made >= wanted:
                    break
    worth_waiting = not made and await _worth_waiting(session, settings, request)
    await _settle(session, request, made, hopeless=not made and not worth_waiting, waiting=worth_waiting)
    return request


def batching(settings: Settings, request: ServiceRequest) -> bool:
    """Whether this order waits for the next batch (never an emergency)."""
    return settings.batches and request.priority != Priority.emergency


def until_next_batch(settings: Settings, now: datetime) -> float:
    """Seconds until the current batching window closes (in (0, window]).

    Windows are aligned to the clock (every ``dispatch_batch_seconds`` since the epoch), so every order
    arriving within one window is matched in the same batch, however many orders ask for it.
    """
    window = settings.dispatch_batch_seconds
    return window - now.timestamp() % window


def dispatch_after_commit(session: AsyncSession, settings: Settings, request: ServiceRequest) -> None:
    """Ask for the order's next offer once this transaction commits: in the next batch, or at once."""
    if batching(settings, request):
        enqueue_after_commit(session, "dispatch.run_batch", countdown=until_next_batch(settings, utcnow()))
    else:
        enqueue_after_commit(session, "dispatch.run_round", request.id)


BATCH_LOCK_KEY = 7_020_612  # pg advisory lock id: one batch at a time

UNASSIGNABLE = 1e9


@dataclass(frozen=True)
class BatchResult:
    orders: int
    offered: int
    escalated: int
    waiting: int


async def run_batch(*, session: AsyncSession, settings: Settings, limit: int = 200) -> BatchResult:
    """Match every order waiting for an offer jointly: the assignment of least total cost, then offer it.

    The orders that arrived within the batching window are matched together by an optimal assignment
    (``scipy.optimize.linear_sum_assignment`` over the scores), so one order does not take the caregiver
    another order needed more. Orders with candidates that lost out wait for the next batch; orders with
    no eligible caregiver at all are escalated.
    """
    with DISPATCH_DECISION.labels("batch").time():
        return await _run_batch(session, settings, limit)


async def _run_batch(session: AsyncSession, settings: Settings, limit: int) -> BatchResult:
    await lock_transaction(session, BATCH_LOCK_KEY)
    has_pending = exists().where(
        col(Offer.request_id) == col(ServiceRequest.id), col(Offer.status) == OfferStatus.pending.value
    )
    waiting = (
        await session.execute(
            select(ServiceRequest)
            .where(
                col(ServiceRequest.status).in_([Status.new.value, Status.dispatching.value]),
                col(ServiceRequest.priority) != Priority.emergency.value,
                col(ServiceRequest.waiting_since).is_(None),  # the caregiver who becomes free wakes it
                ~has_pending,
            )
            .order_by(col(ServiceRequest.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).scalars()
    orders = [r for r in waiting if await _start_dispatch(session, r)]
    if not orders:
        return BatchResult(0, 0, 0, 0)
    options = [await find_candidates(session, r, settings) for r in orders]
    free = await _claim_caregivers(session, sorted({c.caregiver_id for found in options for c in found}))
    columns = sorted(free)
    index = {cid: j for j, cid in enumerate(columns)}
    # One row per caregiver an order still needs: a two-caregiver service gets two distinct people.
    seats = [i for i, request in enumerate(orders) for _ in range(await open_seats(session, request))]
    cost = np.full((max(1, len(seats)), max(1, len(columns))), UNASSIGNABLE)
    for row, i in enumerate(seats):
        for c in options[i]:
            if c.caregiver_id in index:
                cost[row, index[c.caregiver_id]] = c.score
    rows, cols = linear_sum_assignment(cost)
    chosen: dict[int, list[int]] = {}
    for row, j in zip(rows, cols, strict=True):
        if row < len(seats) and cost[row, j] < UNASSIGNABLE:
            chosen.setdefault(seats[row], []).append(columns[int(j)])
    now = utcnow()
    offered = escalated = still = 0
    for i, request in enumerate(orders):
        by_id = {c.caregiver_id: c for c in options[i]}
        made = 0
        expires = now + timedelta(seconds=settings.offer_seconds(request.priority))
        for cid in chosen.get(i, []):
            offer = await _offer_to(session, request, _jointly(by_id[cid], len(orders)), now=now, expires=expires)
            made += 1 if offer is not None else 0
        # Nobody eligible is free for it: it waits for the first who becomes free (outside the batches meanwhile);
        # candidates that went to other orders: it is in the next batch.
        worth_waiting = not options[i] and await _worth_waiting(session, settings, request)
        await _settle(session, request, made, hopeless=not options[i] and not worth_waiting, waiting=worth_waiting)
        offered += made
        escalated += request.status == Status.escalated
        still += request.status == Status.dispatching
    if still:
        enqueue_after_commit(session, "dispatch.run_batch", countdown=until_next_batch(settings, utcnow()))
    return BatchResult(len(orders), offered, escalated, still)


def _jointly(candidate: Candidate, orders: int) -> Candidate:
    """The candidate, its explanation saying the order was matched together with others."""
    if orders < 2:
        return candidate
    return replace(
        candidate,
        explanation=f"{candidate.explanation} · 与 {orders} 张工单联合优化派单",
        explanation_en=f"{candidate.explanation_en} · matched jointly with {orders} orders",
    )


async def after_offer_closed(
    session: AsyncSession, settings: Settings, request: ServiceRequest, *, reason: str
) -> None:
    """With the order locked: when its last open offer closed, dispatch it again."""
    assert request.id is not None
    if request.status != Status.offered or await _pending_count(session, request.id):
        return
    await transition(session, request, Status.dispatching, actor=DISPATCHER, reason=reason)
    dispatch_after_commit(session, settings, request)


async def restart_stalled(*, session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Give orders whose dispatch round was lost (a crashed worker, say) another one."""
    quiet_since = now - timedelta(seconds=settings.stalled_seconds + settings.dispatch_batch_seconds)
    planned_for_later = and_(
        col(ServiceRequest.status) == Status.new.value,
        col(ServiceRequest.plan_id).is_not(None),
        col(ServiceRequest.window_start) > now + timedelta(hours=settings.plan_fallback_hours),
    )  # left for the evening day planner; nearer its window, the dispatcher takes it
    # A waiting order is woken by the caregiver who becomes free: looked at again only now and then, and at once
    # when its waiting time is up (its round then gives it to an operator).
    waited_out = col(ServiceRequest.dispatch_started_at) <= now - timedelta(seconds=settings.dispatch_wait_seconds)
    looked_at = col(ServiceRequest.updated_at) <= now - timedelta(seconds=settings.waiting_recheck_seconds)
    stalled = select(ServiceRequest).where(
        col(ServiceRequest.status).in_([Status.new.value, Status.dispatching.value]),
        col(ServiceRequest.updated_at) <= quiet_since,
        or_(col(ServiceRequest.waiting_since).is_(None), waited_out, looked_at),
        ~planned_for_later,
    )
    found = list((await session.execute(stalled.limit(500))).scalars())
    for request in found:
        dispatch_after_commit(session, settings, request)
    return len(found)
