"""The dispatcher: who may serve an order, who is asked first, and what happens to each answer.

Eligible: the hard rules (``backend/dispatch/rules.py``) all hold. Ranked by a weighted score of
travel, lateness, continuity, the elder's wishes, workload and provider fairness
(``backend/dispatch/scoring.py``), each offer keeping its breakdown. Offers go out one at a time (several at
once for emergencies) with a deadline; a decline or a passed deadline moves to the next candidate;
when nobody is left the order is escalated to the operators.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sqlalchemy import Select, and_, exists, func, literal, or_, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.changes import caregivers_access_changed
from backend.calendars import positions
from backend.calendars.holidays import day_info
from backend.calendars.models import CaregiverBooking
from backend.calendars.service import book, crew_of, is_scheduled, movable_overlapping, needed_span, release, span_of
from backend.core.config import Settings
from backend.core.db import iso, local_midnight, lock_transaction, utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.events import emit
from backend.core.geo import FINE_RESOLUTION, covering_cells, distance_m
from backend.core.i18n import LOCAL_TZ
from backend.core.jobs import enqueue_after_commit
from backend.core.metrics import DISPATCH_DECISION
from backend.dispatch.models import BreachWatch, Offer, OfferStatus
from backend.dispatch.rules import ON_THIS_ORDER, Rule, hard_rules, offered_this_order, visit_day
from backend.dispatch.scoring import Ahead, OrderContext, Term, explain, order_context, score
from backend.dispatch.waiting import caregivers_freed
from backend.orders.lifecycle import Actor, check_transition, lock_request, request_channels, transition
from backend.orders.models import Priority, ServiceRequest, Status
from backend.plans.triggers import replan_after
from backend.policies.cover import insured_on
from backend.policies.models import Scheme
from backend.registry.absences import record_absence
from backend.registry.models import (
    Caregiver,
    CaregiverSkill,
    Elder,
    ServiceType,
)

log = logging.getLogger(__name__)
DISPATCHER = Actor.system("dispatcher")
SCHEDULER = Actor.system("scheduler")


@dataclass(frozen=True)
class Candidate:
    """A caregiver who may serve an order, with why they rank where they do."""

    caregiver_id: int
    provider_id: int
    name: str
    distance_m: float
    load: int
    rank: int
    score: float
    terms: list[Term]
    explanation: str
    explanation_en: str

    @property
    def breakdown(self) -> list[dict[str, Any]]:
        return [t.as_dict() for t in self.terms]


def _start_of_local_day(now: datetime) -> datetime:
    """Midnight in Suzhou, where "today" is counted."""
    return now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)


def _caregivers_near(elder: Elder, radius_m: float, *columns: Any, also: Sequence[int] = ()) -> Select[Any]:
    """Caregivers in the H3 cells around the elder's home, plus ``also`` by id (id, provider, name, lat, lon, …)."""
    resolution, cells = covering_cells(elder.lat, elder.lon, radius_m)
    cell = col(Caregiver.h3_r8) if resolution == FINE_RESOLUTION else col(Caregiver.h3_r6)
    where = cell.in_(cells) if not also else or_(cell.in_(cells), col(Caregiver.id).in_(list(also)))
    return sa_select(
        col(Caregiver.id),
        col(Caregiver.provider_id),
        col(Caregiver.name),
        col(Caregiver.lat),
        col(Caregiver.lon),
        *columns,
    ).where(where)


def stranger_bonus_bound(ctx: OrderContext, settings: Settings) -> float:
    """The most a caregiver without a personal tie to the elder can take off their cost for this order."""
    weights = settings.dispatch_weights
    language = weights.language if ctx.elder.language else 0.0
    gaps = [g for g in ctx.provider_gaps.values() if g > 0] if ctx.government_paid else []
    fairness = weights.fairness_per_point * min(weights.fairness_max_points, max(gaps, default=0.0))
    return language + fairness


def search_radii(settings: Settings, radius_km: float | None = None) -> list[float]:
    """The rings the candidate search widens through, in metres, ending at the dispatch radius (or ``radius_km``)."""
    limit = (radius_km or settings.candidate_radius_km) * 1000
    return [r for r in (2_000.0, 5_000.0, 10_000.0, 20_000.0) if r < limit] + [limit]


async def _rules_for(
    session: AsyncSession, settings: Settings, request: ServiceRequest, elder: Elder, *, waiting: bool = False
) -> list[Rule]:
    service_type = await session.get(ServiceType, request.service_type)
    assert service_type is not None
    now, covered = utcnow(), None
    day = visit_day(request, service_type, now)
    if settings.liability_cover_required:
        covered = set((await session.execute(insured_on(Scheme.home_care_liability, day))).scalars())
    return hard_rules(
        request,
        elder=elder,
        service_type=service_type,
        now=now,
        covered=covered,
        waiting=waiting,
        calendar_day=await day_info(session, day),
    )


async def find_candidates(
    session: AsyncSession,
    request: ServiceRequest,
    settings: Settings,
    *,
    limit: int | None = None,
    radius_km: float | None = None,
) -> list[Candidate]:
    """The best-scoring eligible caregivers for an order (see ``backend/dispatch/scoring.py``).

    The search widens ring by ring (``search_radii``) over the H3 cells around the elder and stops as
    soon as nobody farther out could score better than the ``limit``-th found: beyond radius r, travel
    alone costs at least the minutes of r, and the only bonuses a stranger can earn are language and
    fairness. Caregivers with a personal bonus (the elder's preferred caregiver, those who served the
    elder) are fetched by id in the first ring, wherever they are within the dispatch radius.
    """
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    now = utcnow()
    want = limit or settings.max_candidates
    rules = [r.holds for r in await _rules_for(session, settings, request, elder)]
    ctx = await order_context(session, settings, request, elder, now)
    # Her orders on the visit's day: booked for it, or taken that day without a window (not later days' visits).
    assert ctx.day is not None
    day_start = local_midnight(ctx.day)
    day_of = func.coalesce(col(ServiceRequest.window_start), col(ServiceRequest.updated_at))
    load_today = (
        select(func.count(ServiceRequest.id))  # type: ignore[arg-type]
        .where(
            or_(
                col(ServiceRequest.assigned_caregiver_id) == Caregiver.id,
                col(ServiceRequest.partner_caregiver_id) == Caregiver.id,
            ),
            day_of >= day_start,
            day_of < day_start + timedelta(days=1),
            col(ServiceRequest.status) != Status.cancelled.value,
        )
        .correlate(Caregiver)
        .scalar_subquery()
    )
    if request.priority == Priority.emergency:  # how many booked visits each caregiver would give up for it
        start, end = needed_span(request, ctx.service_type, now)
        moved = movable_overlapping(col(Caregiver.id), start, end).correlate(Caregiver)
        gives_way: Any = select(func.count()).select_from(moved.subquery()).scalar_subquery()
    else:
        gives_way = literal(0)
    personal = sorted({*ctx.history, *([elder.preferred_caregiver_id] if elder.preferred_caregiver_id else [])})
    weights = settings.dispatch_weights
    stranger_bonus = stranger_bonus_bound(ctx, settings)
    dispatch_radius = (radius_km or settings.candidate_radius_km) * 1000
    # Looking ahead at a visit booked for later: those ending a visit near her that day set off from there.
    booked_at = request.window_start if settings.looks_ahead and is_scheduled(request, now) else None
    if booked_at is not None:
        personal = sorted(
            {*personal, *await positions.booked_nearby(session, request, elder, booked_at, dispatch_radius)}
        )
    scored: dict[int, tuple[float, float, int, int, str, int, list[Term]]] = {}
    for ring, radius in enumerate(search_radii(settings, radius_km)):
        query = _caregivers_near(
            elder, radius, load_today, col(Caregiver.languages), gives_way, also=personal if ring == 0 else ()
        ).where(*rules)
        rows = [row for row in (await session.execute(query)).all() if row[0] not in scored]
        days = await positions.around(session, request, booked_at, [row[0] for row in rows]) if booked_at else {}
        for cid, pid, name, lat, lon, load, languages, moves in rows:
            ahead = _ahead(settings, elder, (lat, lon), days.get(cid)) if booked_at else None
            dist = distance_m(elder.lat, elder.lon, *ahead[0]) if ahead else distance_m(elder.lat, elder.lon, lat, lon)
            if dist > dispatch_radius:
                continue
            cost, terms = score(
                ctx,
                settings,
                caregiver_id=cid,
                provider_id=pid,
                distance_m=dist,
                load=int(load or 0),
                languages=languages or [],
                gives_way=int(moves or 0),
                ahead=ahead[1] if ahead else None,
            )
            scored[cid] = (round(cost, 3), dist, cid, pid, name, int(load or 0), terms)
        ranked = sorted(scored.values(), key=lambda row: (row[0], row[1], row[2]))
        floor = weights.travel_per_minute * settings.travel_minutes(radius) - stranger_bonus
        if len(ranked) >= want and ranked[want - 1][0] <= floor:
            break  # nobody beyond this ring can beat the ones found
    ranked = sorted(scored.values(), key=lambda row: (row[0], row[1], row[2]))
    total = len(ranked)
    return [
        Candidate(
            caregiver_id=cid,
            provider_id=pid,
            name=name,
            distance_m=round(dist, 1),
            load=load,
            rank=rank,
            score=cost,
            terms=terms,
            explanation=explain(terms, rank=rank, total=total, english=False),
            explanation_en=explain(terms, rank=rank, total=total, english=True),
        )
        for rank, (cost, dist, cid, pid, name, load, terms) in enumerate(ranked[:want], start=1)
    ]


def _ahead(
    settings: Settings, elder: Elder, here: tuple[float, float], day: positions.Around | None
) -> tuple[tuple[float, float], Ahead]:
    """Looking ahead: where she sets off from for the elder (her visit before it that day, else where she is) and
    what the visit adds to her way to the one after it."""
    before = day.before if day else None
    origin = (before.lat, before.lon) if before else here
    detour = 0.0
    if day is not None and day.after is not None:  # origin → elder → next, beyond the travel to the elder
        nxt = (day.after.lat, day.after.lon)
        detour = settings.travel_minutes(max(0.0, distance_m(elder.lat, elder.lon, *nxt) - distance_m(*origin, *nxt)))
    return origin, Ahead(
        from_place=before.place if before else None, free_at=before.ends_at if before else None, detour_minutes=detour
    )


@dataclass(frozen=True)
class Nearby:
    """A caregiver near the elder, and the hard rules that keep them from this order (none: eligible)."""

    caregiver_id: int
    provider_id: int
    name: str
    distance_m: float
    failed: list[Rule]
    on_order: str | None = None  # where she already stands on this order: "offered" (awaiting her) or "crew"


async def nearby_caregivers(
    session: AsyncSession,
    request: ServiceRequest,
    settings: Settings,
    *,
    radius_km: float,
    serving_only: bool = False,
) -> list[Nearby]:
    """Caregivers near the elder, nearest first, each with the rules that exclude them (for the operator).

    ``serving_only`` keeps those whose provider serves the elder's community (the ones worth a phone call).
    """
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    rules = await _rules_for(session, settings, request, elder)
    too_far = Rule(
        "too_far", f"超出派单半径 {settings.candidate_radius_km:g} 公里", "beyond the dispatch radius", true()
    )
    query = _caregivers_near(
        elder,
        radius_km * 1000,
        offered_this_order(request).label("offered"),
        *(rule.holds.label(rule.code) for rule in rules),
    )
    found = []
    for cid, pid, name, lat, lon, offered, *passes in (await session.execute(query)).all():
        dist = distance_m(elder.lat, elder.lon, lat, lon)
        if dist > radius_km * 1000:
            continue
        failed = [rule for rule, ok in zip(rules, passes, strict=True) if not ok]
        on_order = None
        if any(rule.code == ON_THIS_ORDER for rule in failed):  # her own order: no reason to leave her out
            failed = [rule for rule in failed if rule.code != ON_THIS_ORDER]
            on_order = "offered" if offered else "crew"
        if serving_only and any(rule.code == "outside_service_area" for rule in failed):
            continue
        if dist > settings.candidate_radius_km * 1000:
            failed.append(too_far)
        assert cid is not None
        found.append(Nearby(cid, pid, name, round(dist, 1), failed, on_order))
    found.sort(key=lambda n: (n.distance_m, n.caregiver_id))
    return found


def _offer_payload(offer: Offer, request: ServiceRequest) -> dict[str, object]:
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
    payload = _offer_payload(offer, request) | {"caregivers_needed": team}
    emit(session, "offer.created", [f"caregiver:{candidate.caregiver_id}"], payload)
    return offer


async def _start_dispatch(session: AsyncSession, request: ServiceRequest) -> bool:
    """Move a new order into dispatching; False when the order is past dispatching (taken, cancelled…)."""
    if request.status == Status.new:
        await transition(session, request, Status.dispatching, actor=DISPATCHER, reason="开始派单")
    return request.status in (Status.dispatching, Status.offered)


# Rules a caregiver gets past by waiting: they finish the visit in hand, or answer the offer they hold.
PASSING_RULES = frozenset({"busy", "has_open_offer"})


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
        r.holds
        for r in await _rules_for(session, settings, request, elder, waiting=True)
        if r.code not in PASSING_RULES
    ]
    radius = settings.candidate_radius_km * 1000
    for _cid, _pid, _name, lat, lon in (await session.execute(_caregivers_near(elder, radius).where(*rules))).all():
        if distance_m(elder.lat, elder.lon, lat, lon) <= radius:
            return True
    return False


@dataclass(frozen=True)
class Supply:
    """Who is near an order: free to be offered it now, or kept from it only by the visit in hand or another open
    offer (soon free); what the breach prediction reads from the dispatcher's own rules."""

    free: int
    soon_free: int
    nearest_free_m: float | None


async def supply_near(*, session: AsyncSession, settings: Settings, request: ServiceRequest) -> Supply:
    """The caregivers within the dispatch radius who pass the order's hard rules now, and those who will."""
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    radius = settings.candidate_radius_km * 1000
    now_rules = [r.holds for r in await _rules_for(session, settings, request, elder)]
    later_rules = [
        r.holds
        for r in await _rules_for(session, settings, request, elder, waiting=True)
        if r.code not in PASSING_RULES
    ]
    found = []
    for rules in (now_rules, later_rules):
        rows = (await session.execute(_caregivers_near(elder, radius).where(*rules))).all()
        found.append([d for *_, lat, lon in rows if (d := distance_m(elder.lat, elder.lon, lat, lon)) <= radius])
    free, could = found
    return Supply(len(free), max(0, len(could) - len(free)), min(free, default=None))


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


async def _passes(
    session: AsyncSession, settings: Settings, request: ServiceRequest, caregiver_id: int, codes: set[str]
) -> bool:
    """True when the caregiver meets the order's hard rules named by ``codes``."""
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    rules = [r.holds for r in await _rules_for(session, settings, request, elder) if r.code in codes]
    meets = await session.execute(select(Caregiver.id).where(col(Caregiver.id) == caregiver_id, *rules))
    return meets.first() is not None


async def _offer_of(session: AsyncSession, offer_id: int, caregiver: Caregiver) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None or offer.caregiver_id != caregiver.id:
        raise NotFound("派单不存在", code="offer_not_found", message_en="Unknown offer")
    return offer


async def _close_offer(session: AsyncSession, offer: Offer, to: OfferStatus, now: datetime, *, seat: int = 0) -> None:
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


async def _free_seat(session: AsyncSession, request: ServiceRequest) -> int:
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
    await _close_offer(session, offer, OfferStatus.accepted, now, seat=await _free_seat(session, request))
    check_transition(request, Status.accepted, actor=actor)  # the order is still open (else all rolls back)
    await _make_room(session, settings, request, caregiver)
    await book(session=session, settings=settings, request=request, caregiver=caregiver)  # after the race is won
    await _join_crew(session, settings, request, actor=actor, reason="护理员接单")
    return request


async def _join_crew(
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
    await _after_offer_closed(session, settings, request, reason=f"{reason}，还需 {team - len(crew)} 名护理员")


async def decline_offer(
    *, session: AsyncSession, settings: Settings, offer_id: int, caregiver: Caregiver, reason: str | None
) -> Offer:
    """The caregiver says no; the order moves on to the next candidate."""
    offer = await _offer_of(session, offer_id, caregiver)
    request = await lock_request(session, offer.request_id)
    assert request is not None
    await _close_offer(session, offer, OfferStatus.declined, utcnow())
    await _after_offer_closed(session, settings, request, reason=f"护理员拒单{('：' + reason) if reason else ''}")
    caregivers_freed(session, [offer.caregiver_id])  # an order waiting near her need not wait for the sweep
    return offer


async def _after_offer_closed(
    session: AsyncSession, settings: Settings, request: ServiceRequest, *, reason: str
) -> None:
    """With the order locked: when its last open offer closed, dispatch it again."""
    assert request.id is not None
    if request.status != Status.offered or await _pending_count(session, request.id):
        return
    await transition(session, request, Status.dispatching, actor=DISPATCHER, reason=reason)
    dispatch_after_commit(session, settings, request)


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
    await _after_offer_closed(session, settings, request, reason="派单超时未响应")
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
    await _make_room(session, settings, request, caregiver)
    await book(session=session, settings=settings, request=request, caregiver=caregiver)
    now = utcnow()
    await _join_crew(session, settings, request, actor=actor, reason=reason or "人工派单", escalation_reason=None)
    offer = Offer(
        request_id=request_id,
        caregiver_id=caregiver_id,
        status=OfferStatus.accepted.value,
        seat=await _free_seat(session, request),
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
    emit(session, "offer.assigned", [f"caregiver:{caregiver_id}"], _offer_payload(offer, request))
    return request


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


async def _hand_back(
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


async def _make_room(session: AsyncSession, settings: Settings, request: ServiceRequest, caregiver: Caregiver) -> None:
    """An emergency goes first: the caregiver's visits booked for later that overlap it go to colleagues."""
    if request.priority != Priority.emergency:
        return
    start, end = await span_of(session, settings, request, caregiver)
    moved = sorted(set((await session.execute(movable_overlapping(caregiver.id, start, end))).scalars()))
    for request_id in moved:
        other = await lock_request(session, request_id)
        assert other is not None and other.id is not None
        why = f"护理员 {caregiver.name} 赶赴紧急工单 #{request.id}，本次上门改派同事"
        await _hand_back(session, settings, other, caregiver.id, reason=why)  # type: ignore[arg-type]
    if moved:
        await replan_after(session, [caregiver.id], "emergency")


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
    orders = sorted({*(await session.execute(mine)).scalars(), *(await session.execute(offered)).scalars()})
    why = f"{reported_by.label} 报告护理员请假{('：' + reason) if reason else ''}，重新派单"
    redone = []
    for request_id in orders:  # each order locked before its offers and bookings: the one lock order
        request = await lock_request(session, request_id)
        assert request is not None
        if await _hand_back(session, settings, request, caregiver_id, reason=why):
            redone.append(request_id)
        elif request.status == Status.offered:
            pending = await session.execute(
                select(Offer).where(
                    col(Offer.request_id) == request_id,
                    col(Offer.caregiver_id) == caregiver_id,
                    col(Offer.status) == OfferStatus.pending.value,
                )
            )
            for offer in pending.scalars():
                await _close_offer(session, offer, OfferStatus.withdrawn, utcnow())
                emit(
                    session,
                    "offer.withdrawn",
                    [f"caregiver:{caregiver_id}"],
                    {"offer_id": offer.id, "request_id": request_id},
                )
            await _after_offer_closed(session, settings, request, reason=why)
    caregiver = (
        await session.execute(select(Caregiver).where(col(Caregiver.id) == caregiver_id).with_for_update())
    ).scalar_one()
    caregiver.on_shift, caregiver.absent_until = False, until
    await record_absence(
        session=session, caregiver_id=caregiver_id, at=now, until=until, reason=reason, reported_by=reported_by.role
    )
    await replan_after(session, [caregiver_id], "absence")
    return until, redone
