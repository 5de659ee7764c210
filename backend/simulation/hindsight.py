"""The ``hindsight`` policy: every request of the day known at the start, planned offline by the day planner.

Not a way to run a city (nobody knows at 08:00 who will call at 15:00): a reference the online policies are
reported against. Providers are grouped with their neighbours (``hindsight_group`` to a group, k-means on where
they stand); each request goes to the group of the provider, among those that serve the elder's community, offer
the service and have enough caregivers with the skill, whose able caregiver lives nearest; each group's requests
are then routed over its caregivers by the planner (``backend/planning``), a request only by caregivers of a
provider that may serve it, every caregiver setting off from where she starts the day, on shift all day, her
route ending at her last visit. A booked visit's window is its own; an order for now may start from when it was
made until ``NOW_WINDOW_MINUTES`` later. A visit counts as served when the plan reaches it no later than
``plan_max_late_minutes`` after its window and within her shift; travel is counted into each served visit (the
first of a two-caregiver crew), as the online days count the trip of whoever sets off.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from scipy.cluster.vq import kmeans2
from sqlmodel import col, select

from backend.core.config import Settings
from backend.core.geo import distance_m
from backend.core.runtime import Runtime
from backend.dispatch.fairness import weighted_gini
from backend.planning import hhcrsp
from backend.planning.solver import solve
from backend.registry.models import Caregiver, CaregiverSkill, Elder, Provider, ProviderCommunity, ProviderService
from backend.registry.models import ServiceType as ServiceTypeRow
from backend.simulation.metrics import summarise
from backend.simulation.scenario import Scenario

NOW_WINDOW_MINUTES = 60.0  # an order for now, planned in hindsight, may start this long after it was made


@dataclass(frozen=True)
class Known:
    """A request of the day, known in advance."""

    created: datetime
    elder_id: int
    service_type: str
    window_start: datetime | None
    window_end: datetime | None


@dataclass
class _Provider:
    id: int
    lat: float
    lon: float
    communities: set[int]
    services: set[str]
    staff: list[Caregiver]


async def plan_in_hindsight(runtime: Runtime, scenario: Scenario, known: list[Known]) -> dict[str, Any]:
    """Plan the whole day at once and judge the plan as the online days are judged."""
    world = await _load(runtime, known)
    providers = world.providers
    group = _groups(list(providers.values()), scenario.hindsight_group, scenario.seed)
    shares, unplaced = _share_out(world, known, group)
    started = time.perf_counter()
    day = _Day(scenario, runtime.settings, world.elders, world.types, world.skills)
    decision_ms = []
    for key, requests in sorted(shares.items()):
        began = time.perf_counter()
        members = [p for p in providers.values() if group[p.id] == key]
        day.plan(key, members, requests)
        decision_ms.append((time.perf_counter() - began) * 1000)
    statuses = {"completed": len(day.travel), "escalated": len(known) - len(day.travel)}
    served = [day.served.get(p.id, 0) / max(1, len(p.staff)) for p in providers.values()]
    weights = [float(len(p.staff)) for p in providers.values()]
    metrics = summarise(
        scenario=scenario.name,
        policy="hindsight",
        batch_seconds=0,
        statuses=statuses,
        offers=0,
        declines=0,
        refused={"unplaceable": len(unplaced)} if unplaced else {},
        provider_gini=round(weighted_gini(served, weights), 4) if sum(served) else 0.0,
        samples={
            "to_accept_s": [],
            "travel_km": day.travel,
            "late_min": day.late,
            "wait_min": day.wait,
            "decision_ms": decision_ms,
        },
    )
    metrics["plan_seconds"] = round(time.perf_counter() - started, 1)
    return metrics


@dataclass
class _World:
    """The day's providers (with their communities, services and staff), skills, service types and elders."""

    providers: dict[int | None, _Provider]
    skills: dict[int, set[str]]
    types: dict[str, ServiceTypeRow]
    elders: dict[int | None, Elder]


async def _load(runtime: Runtime, known: list[Known]) -> _World:
    """Read what planning the known requests needs from the day's database."""
    async with runtime.sessions() as session:
        providers = {
            p.id: _Provider(p.id, p.lat, p.lon, set(), set(), [])  # type: ignore[arg-type]
            for p in (await session.execute(select(Provider))).scalars()
        }
        for pid, cid in await session.execute(select(ProviderCommunity.provider_id, ProviderCommunity.community_id)):
            providers[pid].communities.add(cid)
        for pid, code in await session.execute(select(ProviderService.provider_id, ProviderService.service_type)):
            providers[pid].services.add(code)
        for caregiver in (await session.execute(select(Caregiver).order_by(col(Caregiver.id)))).scalars():
            providers[caregiver.provider_id].staff.append(caregiver)
        skills: dict[int, set[str]] = {}
        for cid, code in await session.execute(select(CaregiverSkill.caregiver_id, CaregiverSkill.service_type)):
            skills.setdefault(cid, set()).add(code)
        types = {t.code: t for t in (await session.execute(select(ServiceTypeRow))).scalars()}
        elders = {
            e.id: e
            for e in (
                await session.execute(select(Elder).where(col(Elder.id).in_(sorted({k.elder_id for k in known}))))
            ).scalars()
        }
    return _World(providers, skills, types, elders)


def _share_out(
    world: _World, known: list[Known], group: dict[int, int]
) -> tuple[dict[int, list[tuple[Known, frozenset[int]]]], list[Known]]:
    """Each request to the group of the provider whose able caregiver lives nearest, with the providers that may
    serve it; the requests no provider can take."""
    skills = world.skills
    shares: dict[int, list[tuple[Known, frozenset[int]]]] = {}
    unplaced: list[Known] = []
    for request in known:
        elder, needed = world.elders[request.elder_id], world.types[request.service_type].caregivers_needed
        able = [
            p
            for p in world.providers.values()
            if elder.community_id in p.communities
            and request.service_type in p.services
            and sum(request.service_type in skills.get(c.id or 0, set()) for c in p.staff) >= needed
            and needed <= 2
        ]
        if not able:
            unplaced.append(request)
            continue
        # The provider with the caregiver able to do it who lives nearest (the online dispatcher's first choice).
        nearest = min(
            able,
            key=lambda p: min(
                distance_m(c.lat, c.lon, elder.lat, elder.lon)
                for c in p.staff
                if request.service_type in skills.get(c.id or 0, set())
            ),
        )
        # Planned with the providers near that one, by whichever of them may serve her.
        shares.setdefault(group[nearest.id], []).append((request, frozenset(p.id for p in able)))
    return shares, unplaced


class _Day:
    """The planned day's figures, provider by provider."""

    def __init__(
        self,
        scenario: Scenario,
        settings: Settings,
        elders: dict[int | None, Elder],
        types: dict[str, ServiceTypeRow],
        skills: dict[int, set[str]],
    ) -> None:
        self.scenario, self.settings, self.elders, self.types, self.skills = scenario, settings, elders, types, skills
        self.travel: list[float] = []
        self.late: list[float] = []
        self.wait: list[float] = []
        self.served: dict[int, int] = {}

    def minutes(self, at: datetime) -> float:
        return (at - self.scenario.start).total_seconds() / 60

    def plan(self, key: int, providers: list[_Provider], wanted: list[tuple[Known, frozenset[int]]]) -> None:
        """Route a group's requests over its providers' caregivers, each request only by those whose provider may
        serve it."""
        settings, s = self.settings, self.scenario
        staff = [c for p in providers for c in p.staff if self.skills.get(c.id or 0)]
        requests = [r for r, _ in wanted]
        homes = [(self.elders[r.elder_id].lat, self.elders[r.elder_id].lon) for r in requests]
        points = [(providers[0].lat, providers[0].lon), *homes, *((c.lat, c.lon) for c in staff)]
        matrix = tuple(tuple(settings.travel_minutes(distance_m(*a, *b)) for b in points) for a in points)
        windows = [
            (self.minutes(r.window_start), self.minutes(r.window_end or r.window_start))
            if r.window_start is not None
            else (self.minutes(r.created), self.minutes(r.created) + NOW_WINDOW_MINUTES)
            for r in requests
        ]
        instance = hhcrsp.Instance(
            name=f"hindsight-{key}",
            patients=tuple(
                self._patient(n, r, able, homes[n], windows[n], staff) for n, (r, able) in enumerate(wanted)
            ),
            caregivers=tuple(
                hhcrsp.Caregiver(
                    id=str(c.id),
                    abilities=frozenset(self.skills.get(c.id or 0, set())),
                    shift=(0.0, (s.hours + s.drain_hours) * 60),
                    origin=1 + len(requests) + k,
                    returns=False,
                )
                for k, c in enumerate(staff)
            ),
            services={code: float(t.default_minutes) for code, t in self.types.items()},
            office=(0.0, 0.0),
            distances=matrix,
        )
        solution = solve(instance, time_limit=s.hindsight_seconds * len(providers), seed=s.seed)
        self._count(instance, solution, staff, requests, points, windows)

    def _patient(
        self,
        n: int,
        r: Known,
        able: frozenset[int],
        home: tuple[float, float],
        window: tuple[float, float],
        staff: list[Caregiver],
    ) -> hhcrsp.Patient:
        """Request n as a patient of the plan: one service per caregiver needed, excluded for other providers."""
        needed = self.types[r.service_type].caregivers_needed
        return hhcrsp.Patient(
            id=str(n),
            location=home,
            earliest=window[0],
            latest=window[1],
            requirements=(hhcrsp.Requirement(r.service_type, float(self.types[r.service_type].default_minutes)),)
            * needed,
            sync=hhcrsp.Synchronization("simultaneous") if needed > 1 else None,
            excluded=frozenset(str(c.id) for c in staff if c.provider_id not in able),
        )

    def _count(
        self,
        instance: hhcrsp.Instance,
        solution: hhcrsp.Solution,
        staff: list[Caregiver],
        requests: list[Known],
        points: list[tuple[float, float]],
        windows: list[tuple[float, float]],
    ) -> None:
        """Add the plan's served visits to the day's figures (travel, lateness or wait, served per provider)."""
        settings = self.settings
        homes = points[1 : 1 + len(requests)]
        provider_of = {str(c.id): c.provider_id for c in staff}
        outside = {p for late in hhcrsp.overtime(instance, solution).values() for p in late}
        counted: set[str] = set()
        for k, route in enumerate(solution.routes):
            here = points[1 + len(requests) + k]
            for visit in route.visits:
                n = int(visit.patient)
                trip = distance_m(*here, *homes[n]) * settings.road_factor / 1000
                here = homes[n]
                if visit.patient in counted or visit.patient in outside:
                    continue
                if visit.arrival > windows[n][1] + settings.plan_max_late_minutes:
                    continue
                counted.add(visit.patient)
                self.travel.append(trip)
                pid = provider_of[route.caregiver]
                self.served[pid] = self.served.get(pid, 0) + 1
                if requests[n].window_start is not None:
                    self.late.append(max(0.0, visit.arrival - windows[n][1]))
                else:
                    self.wait.append(visit.arrival - windows[n][0])


def _groups(providers: list[_Provider], size: int, seed: int) -> dict[int, int]:
    """Provider id -> its group: neighbouring providers, about ``size`` to a group (k-means on where they stand),
    planned together so that a request may go to any of them."""
    k = max(1, math.ceil(len(providers) / max(1, size)))
    if k == 1:
        return {p.id: 0 for p in providers}
    points = np.array([(p.lat, p.lon * math.cos(math.radians(p.lat))) for p in providers])
    _centres, labels = kmeans2(points, k, seed=seed, minit="++")
    return {p.id: int(label) for p, label in zip(providers, labels, strict=True)}


def known_requests(events: list[Any]) -> list[Known]:
    """The day's requests from the simulation's planned arrivals (``request`` events, in time order)."""
    out = []
    for event in sorted(events):
        if event.kind == "request":
            elder_id, service_type, _priority, window_start, window_end, _government = event.payload
            out.append(Known(event.at, elder_id, service_type, window_start, window_end))
    return out
