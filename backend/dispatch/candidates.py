"""Who may serve an order, and who is asked first: the candidate search.

Eligible: the hard rules (``backend/dispatch/rules.py``) all hold. Ranked by a weighted score of
travel, lateness, continuity, the elder's wishes, workload and provider fairness
(``backend/dispatch/scoring.py``), each offer keeping its breakdown. The operator's list of the caregivers near
an order and the supply the breach prediction reads apply the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, or_, true
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.calendars import positions
from backend.calendars.holidays import day_info
from backend.calendars.service import is_scheduled, movable_overlapping, needed_span
from backend.core.config import Settings
from backend.core.db import local_midnight, utcnow
from backend.core.geo import FINE_RESOLUTION, covering_cells, distance_m
from backend.dispatch.rules import ON_THIS_ORDER, Rule, hard_rules, offered_this_order, visit_day
from backend.dispatch.scoring import Ahead, OrderContext, Term, explain, order_context, score
from backend.orders.models import Priority, ServiceRequest, Status
from backend.policies.cover import insured_on
from backend.policies.models import Scheme
from backend.registry.models import Caregiver, Elder, ServiceType


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


def caregivers_near(elder: Elder, radius_m: float, *columns: Any, also: Sequence[int] = ()) -> Select[Any]:
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


async def rules_for(
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


# One scored caregiver: (cost, distance, caregiver id, provider id, name, load, terms), ranked by its first three.
Scored = tuple[float, float, int, int, str, int, list[Term]]


def _by_cost(row: Scored) -> tuple[float, float, int]:
    return row[0], row[1], row[2]


def _load_on(day: date) -> ColumnElement[int]:
    """Her orders on the visit's day: booked for it, or taken that day without a window (not later days' visits)."""
    day_start = local_midnight(day)
    day_of = func.coalesce(col(ServiceRequest.window_start), col(ServiceRequest.updated_at))
    return (
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


def _gives_way(request: ServiceRequest, ctx: OrderContext, now: datetime) -> ColumnElement[int]:
    """How many booked visits each caregiver would give up for an emergency (0 for any other order)."""
    if request.priority == Priority.emergency:
        start, end = needed_span(request, ctx.service_type, now)
        moved = movable_overlapping(col(Caregiver.id), start, end).correlate(Caregiver)
        return select(func.count()).select_from(moved.subquery()).scalar_subquery()
    return literal(0)


async def _personal(
    session: AsyncSession, request: ServiceRequest, ctx: OrderContext, booked_at: datetime | None, radius_m: float
) -> list[int]:
    """Caregivers fetched by id wherever they are: those with a personal bonus (her preferred caregiver, those
    who served her) and, looking ahead, those ending a visit near her before ``booked_at``."""
    elder = ctx.elder
    personal = sorted({*ctx.history, *([elder.preferred_caregiver_id] if elder.preferred_caregiver_id else [])})
    if booked_at is not None:
        personal = sorted({*personal, *await positions.booked_nearby(session, request, elder, booked_at, radius_m)})
    return personal


def _score_ring(
    ctx: OrderContext,
    settings: Settings,
    rows: Sequence[Any],
    days: dict[int, positions.Around] | None,
    dispatch_radius: float,
) -> dict[int, Scored]:
    """Score a ring's caregivers within the dispatch radius; ``days`` when looking ahead (where each sets off)."""
    elder = ctx.elder
    scored: dict[int, Scored] = {}
    for cid, pid, name, lat, lon, load, languages, moves in rows:
        ahead = _ahead(settings, elder, (lat, lon), days.get(cid)) if days is not None else None
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
    return scored


def _ranked(scored: dict[int, Scored], want: int) -> list[Candidate]:
    """The ``want`` cheapest, ranked, each with its explanation."""
    ranked = sorted(scored.values(), key=_by_cost)
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
    rules = [r.holds for r in await rules_for(session, settings, request, elder)]
    ctx = await order_context(session, settings, request, elder, now)
    assert ctx.day is not None
    columns = (_load_on(ctx.day), col(Caregiver.languages), _gives_way(request, ctx, now))
    weights = settings.dispatch_weights
    stranger_bonus = stranger_bonus_bound(ctx, settings)
    dispatch_radius = (radius_km or settings.candidate_radius_km) * 1000
    # Looking ahead at a visit booked for later: those ending a visit near her that day set off from there.
    booked_at = request.window_start if settings.looks_ahead and is_scheduled(request, now) else None
    personal = await _personal(session, request, ctx, booked_at, dispatch_radius)
    scored: dict[int, Scored] = {}
    for ring, radius in enumerate(search_radii(settings, radius_km)):
        query = caregivers_near(elder, radius, *columns, also=personal if ring == 0 else ()).where(*rules)
        rows = [row for row in (await session.execute(query)).all() if row[0] not in scored]
        days = await positions.around(session, request, booked_at, [row[0] for row in rows]) if booked_at else None
        scored.update(_score_ring(ctx, settings, rows, days, dispatch_radius))
        ranked = sorted(scored.values(), key=_by_cost)
        floor = weights.travel_per_minute * settings.travel_minutes(radius) - stranger_bonus
        if len(ranked) >= want and ranked[want - 1][0] <= floor:
            break  # nobody beyond this ring can beat the ones found
    return _ranked(scored, want)


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
    rules = await rules_for(session, settings, request, elder)
    too_far = Rule(
        "too_far", f"超出派单半径 {settings.candidate_radius_km:g} 公里", "beyond the dispatch radius", true()
    )
    query = caregivers_near(
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


# Rules a caregiver gets past by waiting: they finish the visit in hand, or answer the offer they hold.
PASSING_RULES = frozenset({"busy", "has_open_offer"})


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
    now_rules = [r.holds for r in await rules_for(session, settings, request, elder)]
    later_rules = [
        r.holds for r in await rules_for(session, settings, request, elder, waiting=True) if r.code not in PASSING_RULES
    ]
    found = []
    for rules in (now_rules, later_rules):
        rows = (await session.execute(caregivers_near(elder, radius).where(*rules))).all()
        found.append([d for *_, lat, lon in rows if (d := distance_m(elder.lat, elder.lon, lat, lon)) <= radius])
    free, could = found
    return Supply(len(free), max(0, len(could) - len(free)), min(free, default=None))
