"""The planner's view of a provider's day under way: its visits that may still move, where and when each caregiver
will be free, the hard rules as exclusions, and what a plan costs (travel, lateness and changes of hands)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.config import Settings
from backend.core.geo import distance_m
from backend.dispatch.models import Offer, OfferStatus
from backend.orders.models import ServiceRequest
from backend.planning import hhcrsp
from backend.planning.schedule import compile_model
from backend.planning.search import State
from backend.planning.solver import warm_routes
from backend.registry.models import BlockedCaregiver, Caregiver, CaregiverSkill, Elder, ServiceType


@dataclass(frozen=True)
class Held:
    """An accepted visit of the provider that may still move: who holds it, and its booking spans."""

    request: ServiceRequest
    elder: Elder
    service: ServiceType
    crew: tuple[int, ...]
    spans: tuple[tuple[datetime, datetime], ...]


@dataclass(frozen=True)
class Booked:
    """A booking of hers today that stays where it is: when it ends, and where."""

    request_id: int
    starts_at: datetime
    ends_at: datetime
    lat: float
    lon: float


Plan = dict[str, list[str]]  # planner caregiver key -> patient ids (request ids) in visiting order


async def day_instance(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    midnight: datetime,
    held: list[Held],
    periods: dict[str, tuple[Caregiver, tuple[float, float] | None]],
    firm: dict[int, list[Booked]],
) -> tuple[hhcrsp.Instance, Plan, dict[str, Caregiver]] | None:
    """The planner's instance for the rest of the day, the plan as it stands (None: it does not fit the
    caregivers' remaining working periods, e.g. a roster changed after booking; the day stays as it is)."""
    origins = _origins(now, midnight, periods, firm)
    keys, shifts = _remaining(periods, origins)
    warm = _as_it_stands(midnight, held, keys, shifts)
    if warm is None:
        return None
    skills = await _skills(session, keys)
    refused = await _refused(session, held, keys)
    homes = [(h.elder.lat, h.elder.lon) for h in held]
    places = [origins[c.id][1] for c in keys.values()]  # type: ignore[index]
    points = [homes[0], *homes, *places]  # the office row is never used: everyone sets off from her own place
    matrix = tuple(tuple(settings.travel_minutes(distance_m(*a, *b)) for b in points) for a in points)
    instance = hhcrsp.Instance(
        name=f"replan-{now:%Y%m%d%H%M}",
        patients=tuple(
            hhcrsp.Patient(
                id=str(h.request.id),
                location=(h.elder.lat, h.elder.lon),
                earliest=_minutes(midnight, h.request.window_start),  # type: ignore[arg-type]
                latest=_minutes(midnight, h.request.window_end or h.request.window_start),  # type: ignore[arg-type]
                requirements=(hhcrsp.Requirement(h.service.code, float(h.service.default_minutes)),) * len(h.crew),
                sync=hhcrsp.Synchronization("simultaneous") if len(h.crew) > 1 else None,
                holders=frozenset(key for key, c in keys.items() if c.id in h.crew),
                excluded=refused.get(h.request.id, frozenset()),  # type: ignore[arg-type]
            )
            for h in held
        ),
        caregivers=tuple(
            hhcrsp.Caregiver(
                id=key,
                abilities=frozenset(skills.get(c.id, set())),  # type: ignore[arg-type]
                shift=shifts[key],
                origin=1 + len(held) + n,
                returns=False,
            )
            for n, (key, c) in enumerate(keys.items())
        ),
        services={h.service.code: float(h.service.default_minutes) for h in held},
        office=(0.0, 0.0),
        distances=matrix,
        change_cost=settings.replan_change_minutes,
    )
    return instance, warm, keys


def _minutes(midnight: datetime, at: datetime) -> float:
    return (at - midnight).total_seconds() / 60


def _origins(
    now: datetime,
    midnight: datetime,
    periods: dict[str, tuple[Caregiver, tuple[float, float] | None]],
    firm: dict[int, list[Booked]],
) -> dict[int, tuple[float, tuple[float, float]]]:
    """Where and when each caregiver is free: after the visits of hers that stay, or now where she is."""
    origins: dict[int, tuple[float, tuple[float, float]]] = {}
    for caregiver, _shift in periods.values():
        assert caregiver.id is not None
        last = max(firm.get(caregiver.id, []), key=lambda b: b.ends_at, default=None)
        free = max(now, last.ends_at) if last else now
        origins[caregiver.id] = (
            _minutes(midnight, free),
            (last.lat, last.lon) if last else (caregiver.lat, caregiver.lon),
        )
    return origins


def _remaining(
    periods: dict[str, tuple[Caregiver, tuple[float, float] | None]],
    origins: dict[int, tuple[float, tuple[float, float]]],
) -> tuple[dict[str, Caregiver], dict[str, tuple[float, float]]]:
    """The working periods with time left, each from when its caregiver is free: their caregivers and spans."""
    keys: dict[str, Caregiver] = {}
    shifts: dict[str, tuple[float, float]] = {}
    for key, (caregiver, shift) in periods.items():
        lo, hi = shift or (0.0, math.inf)
        start = max(lo, origins[caregiver.id][0])  # type: ignore[index]
        if start < hi:
            keys[key], shifts[key] = caregiver, (start, hi)
    return keys, shifts


def _as_it_stands(
    midnight: datetime, held: list[Held], keys: dict[str, Caregiver], shifts: dict[str, tuple[float, float]]
) -> Plan | None:
    """The plan as it stands: each held visit in the period of its holder it starts in, else her first one left
    (None when a holder has no period left)."""
    warm: Plan = {key: [] for key in keys}
    for h in sorted(held, key=lambda h: min(s for s, _ in h.spans)):
        for cid, (starts_at, _ends_at) in zip(h.crew, h.spans, strict=True):
            mine = [key for key, c in keys.items() if c.id == cid]
            fits = [key for key in mine if shifts[key][0] <= _minutes(midnight, starts_at) < shifts[key][1]]
            if not (fits or mine):
                return None
            warm[(fits or mine)[0]].append(str(h.request.id))
    return warm


async def _skills(session: AsyncSession, keys: dict[str, Caregiver]) -> dict[int, set[str]]:
    """The service types each of these caregivers may do."""
    skills: dict[int, set[str]] = {}
    for cid, code in (
        await session.execute(
            select(CaregiverSkill.caregiver_id, CaregiverSkill.service_type).where(
                col(CaregiverSkill.caregiver_id).in_(sorted({c.id for c in keys.values()}))
            )
        )
    ).all():
        skills.setdefault(cid, set()).add(code)
    return skills


async def _refused(session: AsyncSession, held: list[Held], keys: dict[str, Caregiver]) -> dict[int, frozenset[str]]:
    """Per visit, the planner keys it may not go to: the elder's refusals, same-gender care, who declined it."""
    elders = sorted({h.elder.id for h in held if h.elder.id is not None})
    blocked = set(
        (
            await session.execute(
                select(BlockedCaregiver.elder_id, BlockedCaregiver.caregiver_id).where(
                    col(BlockedCaregiver.elder_id).in_(elders)
                )
            )
        ).all()
    )
    declined = set(
        (
            await session.execute(
                select(Offer.request_id, Offer.caregiver_id).where(
                    col(Offer.request_id).in_([h.request.id for h in held]),
                    col(Offer.status).in_([OfferStatus.declined.value, OfferStatus.expired.value]),
                )
            )
        ).all()
    )
    out: dict[int, frozenset[str]] = {}
    for h in held:
        assert h.request.id is not None
        same_gender = h.service.personal_care and h.elder.same_gender_care
        out[h.request.id] = frozenset(
            key
            for key, c in keys.items()
            if (h.elder.id, c.id) in blocked
            or (h.request.id, c.id) in declined
            or (same_gender and c.gender != h.elder.gender)
        )
    return out


def plan_costs(instance: hhcrsp.Instance, *plans: Plan) -> list[tuple[float, float]]:
    """Each plan's travel, lateness and changes in minutes, and its minutes past a shift (one compiled model)."""
    model = compile_model(instance)
    states = [State(model, warm_routes(instance, model, plan)) for plan in plans]
    return [(s.distance + s.total_tard + s.max_tard, s.overtime) for s in states]


def new_crews(solution: hhcrsp.Solution, keys: dict[str, Caregiver], held: list[Held]) -> dict[int, tuple[int, ...]]:
    """Each visit's crew in the new plan: who keeps a seat first, in the old order, then who joins."""
    placed: dict[str, list[int]] = {}
    for route in solution.routes:
        for visit in route.visits:
            placed.setdefault(visit.patient, []).append(keys[route.caregiver].id)  # type: ignore[arg-type]
    crews = {}
    for h in held:
        assert h.request.id is not None
        new = placed[str(h.request.id)]
        crews[h.request.id] = (*[c for c in h.crew if c in new], *[c for c in new if c not in h.crew])
    return crews
