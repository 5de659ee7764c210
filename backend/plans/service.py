"""Service plans: recording them, turning a day of them into visits, and planning that day's routes.

Each evening the scheduler generates tomorrow's visits from the active plans (one work order per
visit, status ``new``, never dispatched one by one) and the day planner routes each provider's
visits over its caregivers with the same planner as the HHCRSP benchmark (``backend/planning``):
time windows, skills, travel, two-caregiver visits starting together, and each caregiver's shifts
that day (one planner route per shift, none before an absence ends). The routes are published to
the caregivers' phones; every visit of a route becomes an accepted order with a booking in the
caregiver's calendar. A visit the planner cannot place (nobody at that provider with the skill, not
inside anyone's shift, or only far after its window) goes to the dispatcher instead, and so does a
planned visit still unplanned two hours before its window (the planner did not run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.benefits.service import decide_payer
from backend.calendars.holidays import Day, day_info
from backend.calendars.models import DayKind
from backend.calendars.rosters import Period, working_periods
from backend.calendars.service import book
from backend.core.config import Settings
from backend.core.db import iso, local_midnight, local_today, utcnow
from backend.core.errors import Invalid
from backend.core.events import emit
from backend.core.geo import distance_m
from backend.core.i18n import LOCAL_TZ
from backend.core.lookups import referenced
from backend.core.offload import compute
from backend.dispatch.rounds import dispatch_after_commit
from backend.orders.lifecycle import Actor, lock_request, record_creation, transition
from backend.orders.models import Payer, ServiceRequest, Status
from backend.planning import hhcrsp
from backend.planning.solver import solve
from backend.plans.models import ServicePlan
from backend.plans.schemas import PlanCreate
from backend.policies.cover import cover_on
from backend.policies.models import Scheme
from backend.registry.models import Caregiver, CaregiverSkill, Elder, Provider, ProviderCommunity, ProviderService
from backend.registry.models import ServiceType as ServiceTypeRow
from backend.registry.service import known_service_types
from backend.users.models import User

PLANNER = Actor.system("planner")


async def create_plan(*, session: AsyncSession, elder: Elder, data: PlanCreate, user: User) -> ServicePlan:
    """Record a plan; the provider must serve the elder's community and offer the service."""
    provider = await referenced(session, Provider, data.provider_id, what="服务组织", what_en="provider")
    await known_service_types(session, [data.service_type])
    serves = await session.get(ProviderCommunity, (provider.id, elder.community_id))
    offers = await session.get(ProviderService, (provider.id, data.service_type))
    if not provider.active or serves is None or offers is None:
        raise Invalid(
            "该服务组织不能为这位老人提供此项服务（未覆盖其社区、未开展该服务或已停用）",
            code="provider_cannot_serve",
            message_en="The provider does not serve this elder's community with this service",
        )
    plan = ServicePlan(
        elder_id=elder.id,  # type: ignore[arg-type]
        provider_id=data.provider_id,
        service_type=data.service_type,
        weekdays=sorted(set(data.weekdays)),
        minute_of_day=data.time.hour * 60 + data.time.minute,
        window_minutes=data.window_minutes,
        paid_by=data.paid_by.value,
        starts_on=data.starts_on or local_today(),
        ends_on=data.ends_on,
        skip_holidays=data.skip_holidays,
        follow_adjusted_workdays=data.follow_adjusted_workdays,
        notes=data.notes,
        created_by_user_id=user.id,
    )
    if plan.ends_on is not None and plan.ends_on < plan.starts_on:
        raise Invalid("结束日期不能早于开始日期", code="invalid_dates", message_en="ends_on is before starts_on")
    session.add(plan)
    await session.flush()
    return plan


async def plans_of(*, session: AsyncSession, elder: Elder) -> list[ServicePlan]:
    rows = await session.execute(
        select(ServicePlan).where(col(ServicePlan.elder_id) == elder.id).order_by(col(ServicePlan.id))
    )
    return list(rows.scalars())


async def end_plan(*, session: AsyncSession, plan: ServicePlan) -> ServicePlan:
    """Stop a plan: no visits are generated from it any more (those already generated stay)."""
    plan.active = False
    await session.flush()
    return plan


def runs_on(plan: ServicePlan, day: Day) -> bool:
    """Whether the plan makes a visit that day: on its weekdays, except public holidays when it skips them; and on
    an adjusted working day (调休上班) also when it runs on the weekday that day is worked as, if it follows them."""
    if day.kind is DayKind.holiday and plan.skip_holidays:
        return False
    if day.weekday in plan.weekdays:
        return True
    return day.kind is DayKind.adjusted_workday and plan.follow_adjusted_workdays and day.works_as in plan.weekdays


async def generate_day(*, session: AsyncSession, day: date) -> list[int]:
    """Create the day's visits from every active plan (idempotent: a visit exists at most once)."""
    plans = (
        await session.execute(
            select(ServicePlan).where(
                col(ServicePlan.active).is_(True),
                col(ServicePlan.starts_on) <= day,
                (col(ServicePlan.ends_on).is_(None)) | (col(ServicePlan.ends_on) >= day),
            )
        )
    ).scalars()
    midnight = local_midnight(day)
    today = await day_info(session, day)
    created = []
    for plan in plans:
        if not runs_on(plan, today):
            continue
        start = midnight + timedelta(minutes=plan.minute_of_day)
        exists = await session.execute(
            select(ServiceRequest.id).where(
                col(ServiceRequest.plan_id) == plan.id, col(ServiceRequest.window_start) == start
            )
        )
        if exists.first() is not None:
            continue
        elder = await session.get(Elder, plan.elder_id)
        assert elder is not None
        now = utcnow()
        # A government-paid plan uses the elder's quota while it lasts; beyond it the visit is self-paid.
        wanted = None if plan.paid_by == Payer.government else Payer.self_paid
        request = ServiceRequest(
            elder_id=plan.elder_id,
            community_id=elder.community_id,
            service_type=plan.service_type,
            paid_by=(await decide_payer(session, elder, wanted, start)).value,
            status=Status.new.value,
            window_start=start,
            window_end=start + timedelta(minutes=plan.window_minutes),
            notes=plan.notes,
            plan_id=plan.id,
            created_at=now,
            updated_at=now,
            dispatch_started_at=now,
        )
        try:
            async with session.begin_nested():  # a concurrent run made it first
                session.add(request)
                await session.flush()
        except IntegrityError:
            continue
        await record_creation(session, request, PLANNER)
        assert request.id is not None
        created.append(request.id)
    return created


@dataclass
class PlannedVisit:
    request_id: int
    arrival: datetime
    departure: datetime


@dataclass
class PlannedRoute:
    caregiver_id: int
    visits: list[PlannedVisit] = field(default_factory=list)


@dataclass
class DayPlan:
    day: date
    routes: list[PlannedRoute] = field(default_factory=list)
    to_dispatcher: list[int] = field(default_factory=list)  # visits the planner could not place

    @property
    def planned(self) -> int:
        return sum(len(r.visits) for r in self.routes)


def _planar(lat: float, lon: float, origin: tuple[float, float]) -> tuple[float, float]:
    """Kilometres east and north of the origin (the solver's coordinates; distances come from the matrix)."""
    return (
        (lon - origin[1]) * 111.32 * math.cos(math.radians(origin[0])),
        (lat - origin[0]) * 111.32,
    )


async def plan_day(
    *, session: AsyncSession, settings: Settings, day: date, provider_id: int | None = None, seconds: float
) -> DayPlan:
    """Route the day's planned, still unassigned visits of each provider over its caregivers, and publish."""
    midnight = local_midnight(day)
    query = (
        select(ServiceRequest, ServicePlan.provider_id)
        .join(ServicePlan, col(ServicePlan.id) == col(ServiceRequest.plan_id))
        .where(
            col(ServiceRequest.status) == Status.new.value,
            col(ServiceRequest.window_start) >= midnight,
            col(ServiceRequest.window_start) < midnight + timedelta(days=1),
        )
        .order_by(col(ServiceRequest.id))
        .with_for_update(of=ServiceRequest, skip_locked=True)
    )
    if provider_id is not None:
        query = query.where(col(ServicePlan.provider_id) == provider_id)
    by_provider: dict[int, list[ServiceRequest]] = {}
    for request, pid in (await session.execute(query)).all():
        by_provider.setdefault(pid, []).append(request)
    result = DayPlan(day=day)
    for pid, visits in sorted(by_provider.items()):
        await _plan_provider(session, settings, pid, visits, midnight, seconds, result)
    return result


@dataclass
class _Staffing:
    """What the planner knows of one provider's day: its caregivers' working periods and skills, the visits'
    service types, and whether its liability cover lets its staff visit."""

    provider: Provider
    periods: dict[str, tuple[Caregiver, Period | None]]
    skills: dict[int, set[str]]
    types: dict[str, ServiceTypeRow]
    covered: bool


async def _plan_provider(
    session: AsyncSession,
    settings: Settings,
    provider_id: int,
    visits: list[ServiceRequest],
    midnight: datetime,
    seconds: float,
    result: DayPlan,
) -> None:
    """Plan one provider's visits of the day: load its staff, build the planner's instance, solve it, apply it."""
    staffing = await _load(session, settings, provider_id, visits, midnight)
    routable = _routable(session, settings, staffing, visits, result)
    if not routable:
        return
    instance = await _build(session, settings, staffing, routable, midnight)
    solution = await compute(solve, instance, time_limit=seconds, seed=0)  # seconds of solving: off the loop
    await _apply(session, settings, staffing, routable, instance, solution, midnight, result)


async def _load(
    session: AsyncSession, settings: Settings, provider_id: int, visits: list[ServiceRequest], midnight: datetime
) -> _Staffing:
    """The provider, its caregivers' working periods and skills that day, the visits' service types, its cover."""
    provider = await session.get(Provider, provider_id)
    assert provider is not None
    staff = list(
        (
            await session.execute(
                select(Caregiver).where(col(Caregiver.provider_id) == provider_id).order_by(col(Caregiver.id))
            )
        ).scalars()
    )
    periods = await working_periods(session, staff, midnight)
    staff = list({c.id: c for c, _ in periods.values()}.values())
    skills: dict[int, set[str]] = {}
    for cid, code in (
        await session.execute(
            select(CaregiverSkill.caregiver_id, CaregiverSkill.service_type).where(
                col(CaregiverSkill.caregiver_id).in_([c.id for c in staff])
            )
        )
    ).all():
        skills.setdefault(cid, set()).add(code)
    types = {
        t.code: t
        for t in (
            await session.execute(
                select(ServiceTypeRow).where(col(ServiceTypeRow.code).in_({v.service_type for v in visits}))
            )
        ).scalars()
    }
    # Without home-care liability cover that day the provider's staff may not visit (docs/contract.md, "Insurance").
    covered = not settings.liability_cover_required or (
        await cover_on(session, Scheme.home_care_liability, provider_id, midnight.date()) is not None
    )
    return _Staffing(provider=provider, periods=periods, skills=skills, types=types, covered=covered)


def _routable(
    session: AsyncSession, settings: Settings, staffing: _Staffing, visits: list[ServiceRequest], result: DayPlan
) -> list[ServiceRequest]:
    """The visits the provider's staff may do that day; the others go to the dispatcher."""
    types = staffing.types
    able = {code: sum(code in mine for mine in staffing.skills.values()) for code in types}
    # A visit needs as many able caregivers as it has seats (the planner pairs at most two).
    routable = [
        v
        for v in visits
        if staffing.provider.active
        and staffing.covered
        and 0 < types[v.service_type].caregivers_needed <= min(2, able[v.service_type])
    ]
    for request in visits:
        if request not in routable:  # nobody (or not enough people) here may do it: the dispatcher looks city-wide
            assert request.id is not None
            result.to_dispatcher.append(request.id)
            dispatch_after_commit(session, settings, request)
    return routable


async def _build(
    session: AsyncSession, settings: Settings, staffing: _Staffing, routable: list[ServiceRequest], midnight: datetime
) -> hhcrsp.Instance:
    """The planner's instance: the visits at the elders' homes within their windows, the caregivers' periods and
    skills, and the travel minutes between every two places, the provider's office first."""
    provider, types = staffing.provider, staffing.types
    durations = {code: float(t.default_minutes) for code, t in types.items()}
    homes = {}
    for request in routable:
        elder = await session.get(Elder, request.elder_id)
        assert elder is not None
        homes[request.id] = (elder.lat, elder.lon)
    origin = (provider.lat, provider.lon)
    points = [origin] + [homes[v.id] for v in routable]
    matrix = tuple(tuple(settings.travel_minutes(distance_m(a[0], a[1], b[0], b[1])) for b in points) for a in points)

    def minutes(at: datetime | None) -> float:
        assert at is not None
        return (at - midnight).total_seconds() / 60

    return hhcrsp.Instance(
        name=f"provider-{provider.id}-{midnight.date()}",
        patients=tuple(
            hhcrsp.Patient(
                id=str(v.id),
                location=_planar(*homes[v.id], origin),
                earliest=minutes(v.window_start),
                latest=minutes(v.window_end) if v.window_end else minutes(v.window_start),
                requirements=(hhcrsp.Requirement(v.service_type, durations[v.service_type]),)
                * types[v.service_type].caregivers_needed,
                sync=hhcrsp.Synchronization("simultaneous") if types[v.service_type].caregivers_needed > 1 else None,
            )
            for v in routable
        ),
        caregivers=tuple(
            hhcrsp.Caregiver(id=key, abilities=frozenset(staffing.skills.get(c.id or 0, set())), shift=shift)
            for key, (c, shift) in staffing.periods.items()
        ),
        services=durations,
        office=(0.0, 0.0),
        distances=matrix,
    )


async def _apply(
    session: AsyncSession,
    settings: Settings,
    staffing: _Staffing,
    routable: list[ServiceRequest],
    instance: hhcrsp.Instance,
    solution: hhcrsp.Solution,
    midnight: datetime,
    result: DayPlan,
) -> None:
    """Publish each caregiver's route and give them its visits; what the plan could not place goes to the
    dispatcher."""
    by_id = {str(v.id): v for v in routable}
    # A visit the plan could not fit into its caregivers' shifts, or only far after its window, goes to
    # the dispatcher (all its seats): it may find someone elsewhere, or an operator will.
    latest = {p.id: p.latest + settings.plan_max_late_minutes for p in instance.patients}
    unplaced = {patient for late in hhcrsp.overtime(instance, solution).values() for patient in late}
    unplaced |= {v.patient for route in solution.routes for v in route.visits if v.arrival > latest[v.patient]}
    for key in sorted(unplaced, key=int):
        result.to_dispatcher.append(by_id[key].id)  # type: ignore[arg-type]
        dispatch_after_commit(session, settings, by_id[key])
    seats: dict[str, list[Seat]] = {}
    days: dict[int, PlannedRoute] = {}  # one route a person, their shifts' routes in time order
    for route in sorted(solution.routes, key=lambda r: r.visits[0].arrival if r.visits else 0.0):
        caregiver, _shift = staffing.periods[route.caregiver]
        planned = days.setdefault(caregiver.id, PlannedRoute(caregiver_id=caregiver.id))  # type: ignore[arg-type]
        previous_end = None  # each shift's route sets off afresh
        for visit in route.visits:
            if visit.patient in unplaced:
                continue
            arrival = midnight + timedelta(minutes=visit.arrival)
            departure = midnight + timedelta(minutes=visit.departure)
            seats.setdefault(visit.patient, []).append(Seat(caregiver, arrival, departure, previous_end))
            previous_end = departure
            planned.visits.append(PlannedVisit(int(visit.patient), arrival, departure))
    for caregiver_id, planned in sorted(days.items()):
        if not planned.visits:
            continue
        result.routes.append(planned)
        emit(
            session,
            "plan.published",
            [f"caregiver:{caregiver_id}"],
            {
                "day": midnight.date().isoformat(),
                "visits": [
                    {"request_id": v.request_id, "arrival": iso(v.arrival), "departure": iso(v.departure)}
                    for v in planned.visits
                ],
            },
        )
    for key, crew in seats.items():
        await _assign(session, settings, by_id[key], crew)


@dataclass(frozen=True)
class Seat:
    """One caregiver's part in a planned visit: when they arrive and leave, and when their previous visit ends."""

    caregiver: Caregiver
    arrival: datetime
    departure: datetime
    previous_end: datetime | None


async def _assign(session: AsyncSession, settings: Settings, request: ServiceRequest, crew: list[Seat]) -> None:
    """Give a planned visit to its caregiver(s): each one's span of the route booked, then accepted."""
    locked = await lock_request(session, request.id)  # type: ignore[arg-type]
    assert locked is not None
    await transition(session, locked, Status.dispatching, actor=PLANNER, reason="日计划排班")
    elder = await session.get(Elder, locked.elder_id)
    assert elder is not None
    for seat in crew:
        # From leaving the previous visit (or setting off) to the end of this one.
        metres = distance_m(seat.caregiver.lat, seat.caregiver.lon, elder.lat, elder.lon)
        start = seat.previous_end or seat.arrival - timedelta(minutes=settings.travel_minutes(metres))
        await book(
            session=session, settings=settings, request=locked, caregiver=seat.caregiver, span=(start, seat.departure)
        )
    first = min(seat.arrival for seat in crew)
    await transition(
        session,
        locked,
        Status.accepted,
        actor=PLANNER,
        reason=f"日计划：{first.astimezone(LOCAL_TZ):%H:%M} 上门",
        assigned_caregiver_id=crew[0].caregiver.id,
        partner_caregiver_id=crew[1].caregiver.id if len(crew) > 1 else None,
    )


def visits_of_day(day: date) -> tuple[datetime, datetime]:
    midnight = local_midnight(day)
    return midnight, midnight + timedelta(days=1)
