"""A discrete-event simulation of one day, through the platform's real dispatch code.

The day runs on a SQLite database of its own, with a simulated clock (``backend.core.db.set_clock``)
and a job queue that turns every task the services enqueue (dispatch rounds, batches, sweeps) into
an event at its simulated time. Elders' requests arrive as the scenario says; caregivers answer
offers after a delay, or decline, or let the deadline pass; they travel at the platform's own
travel-time estimate, check in at the door and check out after the service's duration. Nothing of
the dispatcher is re-implemented here: requests are created, offered, accepted, declined, expired,
escalated, checked in and out by the same service functions the API calls.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from backend.core.config import Settings
from backend.core.db import set_clock
from backend.core.errors import DomainError
from backend.core.geo import distance_m
from backend.core.jobs import REGISTRY
from backend.core.runtime import Runtime
from backend.dispatch import offers
from backend.dispatch.fairness import provider_fairness
from backend.dispatch.models import Offer, OfferStatus
from backend.orders.models import Payer, Priority, ServiceRequest, Status
from backend.registry.models import (
    Caregiver,
    Elder,
)
from backend.requests import service as requests
from backend.requests.schemas import RequestCreate
from backend.simulation.hindsight import known_requests, plan_in_hindsight
from backend.simulation.metrics import summarise
from backend.simulation.population import populate
from backend.simulation.scenario import Scenario
from backend.users.models import User

log = logging.getLogger(__name__)
DECISION_TASKS = ("dispatch.run_round", "dispatch.run_batch")
PROGRESS_EVERY = 50  # requests between two progress reports
RELAY_EVERY = 1000  # simulated events between two passes of the outbox relay (after each commit in production)


@dataclass
class Tracked:
    """What the simulation saw of one request."""

    created: datetime
    priority: str
    service_type: str
    window_start: datetime | None
    window_end: datetime | None
    accepted: datetime | None = None
    arrived: datetime | None = None
    travel_km: float | None = None


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    payload: tuple[Any, ...] = field(compare=False, default=())


class _SimJobs:
    """The job queue of a simulated day: each task becomes an event at now + countdown."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim

    def enqueue(self, name: str, *args: Any, countdown: float = 0) -> None:
        self._sim.at(self._sim.now + timedelta(seconds=countdown), "job", name, *args)

    async def stop(self) -> None:
        """Nothing runs outside the event loop."""


class Simulation:
    """One scenario under one dispatch policy."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        workdir: Path | None = None,
        progress: Callable[[int, int], None] | None = None,
        keep_samples: bool = False,
        tick: Callable[[Runtime], Awaitable[None]] | None = None,
    ) -> None:
        """``progress(arrived, planned)`` is told as requests arrive; ``keep_samples`` keeps the raw figures in the
        metrics, for a city's parts to be merged; ``tick(runtime)`` is called every simulated minute (a benchmark's
        periodic sweep)."""
        self.tick = tick
        self.scenario = scenario
        self.progress = progress
        self.keep_samples = keep_samples
        self.planned = 0
        self.arrived = 0
        self.rng = random.Random(scenario.seed)
        self.behaviour_rng = random.Random(scenario.seed * 7919 + 1)
        self._workdir = workdir
        self.now = scenario.start
        self._events: list[_Event] = []
        self._seq = itertools.count()
        self._seen_offer = 0
        self.tracked: dict[int, Tracked] = {}
        self.decision_ms: list[float] = []
        self.refused: dict[str, int] = {}
        self.offers = 0
        self.declines = 0
        self.elders: list[int] = []
        self.homes: dict[int, tuple[float, float]] = {}
        self.holder: dict[int, int] = {}  # an accepted visit -> who sets off for it
        self._elder_of: dict[int, int] = {}
        self.moved = 0  # visits a re-plan gave to other hands
        self.minutes: dict[str, int] = {}

    def at(self, when: datetime, kind: str, *payload: Any) -> None:
        heapq.heappush(self._events, _Event(when, next(self._seq), kind, payload))

    def settings(self, database_url: str) -> Settings:
        s = self.scenario
        batch = s.batch_seconds if s.policy == "batched" else 0.0
        return Settings(
            database_url=database_url,
            redis_url=None,
            environment="test",
            dispatch_policy=None if s.policy == "hindsight" else s.policy,  # hindsight dispatches nothing online
            dispatch_batch_seconds=batch,
            replan_minutes=s.replan_minutes,
            replan_seconds=s.replan_seconds,
            candidate_radius_km=max(10.0, self.scenario.radius_km * 1.2),
            log_level="WARNING",
        )

    async def run(self) -> dict[str, Any]:
        """Simulate the day; return its metrics."""
        with tempfile.TemporaryDirectory(prefix="eldercare-sim-") as tmp:
            path = (self._workdir or Path(tmp)) / f"{self.scenario.name}-{self.scenario.policy}.db"
            started = time.perf_counter()
            _fresh_database(path)
            runtime = Runtime(self.settings(f"sqlite+aiosqlite:///{path}"), role="cli", alone=True)
            runtime.jobs = _SimJobs(self)
            set_clock(lambda: self.now)
            try:
                await self._populate(runtime)
                self._plan_requests()
                if self.tick is not None:
                    ticks = int((self.scenario.hours + self.scenario.drain_hours) * 60)
                    for minute in range(1, ticks + 1):
                        self.at(self.now + timedelta(minutes=minute), "tick")
                populated = time.perf_counter()
                if self.scenario.policy == "hindsight":
                    metrics = await plan_in_hindsight(runtime, self.scenario, known_requests(self._events))
                    looped = time.perf_counter()
                else:
                    self._plan_replans(runtime.settings)
                    await self._loop(runtime)
                    looped = time.perf_counter()
                    metrics = await self._metrics(runtime)
            finally:
                set_clock(None)
                await runtime.stop()
            metrics["setup_seconds"] = round(populated - started, 1)
            metrics["loop_seconds"] = round(looped - populated, 1)
            metrics["wall_seconds"] = round(time.perf_counter() - started, 1)
            return metrics

    async def _populate(self, runtime: Runtime) -> None:
        async with runtime.unit_of_work() as session:
            people = await populate(session, self.scenario, self.rng, self.now)
        self.minutes, self.operator_id = people.minutes, people.operator_id
        self.elders, self.homes = people.elders, people.homes

    def _plan_requests(self) -> None:
        s, rng = self.scenario, self.rng
        types = sorted(s.service_mix)
        weights = [s.service_mix[t] for t in types]
        t = 0.0
        end = s.hours * 3600
        while True:
            t += rng.expovariate(s.requests_per_hour / 3600)
            if t >= end:
                break
            elder_id = rng.choice(self.elders)
            emergency = rng.random() < s.emergency_share
            service_type = "emergency" if emergency and "emergency" in self.minutes else rng.choices(types, weights)[0]
            priority = Priority.emergency if emergency else Priority.normal
            at = s.start + timedelta(seconds=t)
            window_start = window_end = None
            if not emergency and rng.random() < s.scheduled_share:
                window_start = at + timedelta(minutes=rng.uniform(*s.schedule_ahead_minutes))
                window_end = window_start + timedelta(minutes=s.window_minutes)
            government = rng.random() < s.government_share
            self.at(at, "request", elder_id, service_type, priority, window_start, window_end, government)
            self.planned += 1

    def _plan_replans(self, settings: Settings) -> None:
        """Looking ahead, the scheduler asks for a re-plan of the day every few minutes while requests come in."""
        if not settings.looks_ahead or settings.replan_minutes <= 0:
            return
        every = timedelta(minutes=settings.replan_minutes)
        at = self.scenario.start + every
        while at < self.scenario.start + timedelta(hours=self.scenario.hours):
            self.at(at, "job", "plans.replan_all")
            at += every

    async def _loop(self, runtime: Runtime) -> None:
        s = self.scenario
        stop = s.start + timedelta(hours=s.hours + s.drain_hours)
        handled = 0
        while self._events:
            event = heapq.heappop(self._events)
            if event.at > stop:
                break
            self.now = max(self.now, event.at)
            try:
                await self._handle(runtime, event)
            except DomainError as exc:  # a lost race or a lapsed offer: what a real user would see as 409
                self.refused[f"{event.kind}:{exc.code}"] = self.refused.get(f"{event.kind}:{exc.code}", 0) + 1
            if event.kind in ("job", "tick"):  # only the dispatcher's tasks (and a tick's) make offers
                await self._watch_offers(runtime)
                if event.payload[0] == "plans.replan":
                    await self._watch_moves(runtime)
            handled += 1
            if handled % RELAY_EVERY == 0:  # events are sequenced into their channels in bulk, as the relay does
                await runtime.relay_now()
        await runtime.relay_now()

    async def _handle(self, runtime: Runtime, event: _Event) -> None:
        kind, p = event.kind, event.payload
        if kind == "request":
            self.arrived += 1
            if self.progress is not None and (self.arrived % PROGRESS_EVERY == 0 or self.arrived == self.planned):
                self.progress(self.arrived, self.planned)
            await self._request(runtime, *p)
        elif kind == "job":
            name, *args = p
            started = time.perf_counter()
            await REGISTRY[name](runtime, *args)
            if name in DECISION_TASKS:
                self.decision_ms.append((time.perf_counter() - started) * 1000)
        elif kind == "answer":
            await self._answer(runtime, *p)
        elif kind == "depart":
            await self._depart(runtime, *p)
        elif kind == "arrive":
            await self._arrive(runtime, *p)
        elif kind == "finish":
            await self._finish(runtime, *p)
        elif kind == "tick" and self.tick is not None:
            await self.tick(runtime)

    async def _request(
        self,
        runtime: Runtime,
        elder_id: int,
        service_type: str,
        priority: Priority,
        window_start: datetime | None,
        window_end: datetime | None,
        government: bool,
    ) -> None:
        async with runtime.unit_of_work() as session:
            operator = await session.get(User, self.operator_id)
            assert operator is not None
            request = await requests.create_request(
                session=session,
                settings=runtime.settings,
                user=operator,
                data=RequestCreate(
                    elder_id=elder_id,
                    service_type=service_type,
                    priority=priority,
                    paid_by=None if government else Payer.self_paid,  # government while the quota lasts
                    window_start=window_start,
                    window_end=window_end,
                ),
            )
        assert request.id is not None
        self.tracked[request.id] = Tracked(self.now, priority.value, service_type, window_start, window_end)
        self._elder_of[request.id] = elder_id
        if priority == Priority.emergency:  # the sweep that escalates an emergency nobody took
            self.at(
                self.now + timedelta(seconds=runtime.settings.emergency_escalate_seconds + 1),
                "job",
                "dispatch.sweep_deadlines",
            )

    async def _watch_offers(self, runtime: Runtime) -> None:
        """Caregivers see new offers on their phones and decide."""
        behaviour = self.scenario.caregiver
        async with runtime.sessions() as session:
            fresh = list(
                (
                    await session.execute(select(Offer).where(col(Offer.id) > self._seen_offer).order_by(col(Offer.id)))
                ).scalars()
            )
        for offer in fresh:
            assert offer.id is not None
            self._seen_offer = offer.id
            if offer.status != OfferStatus.pending.value:
                continue
            self.offers += 1
            self.at(offer.expires_at + timedelta(seconds=0.5), "job", "dispatch.sweep_deadlines")
            roll = self.behaviour_rng.random()
            delay = timedelta(seconds=self.behaviour_rng.uniform(*behaviour.accept_delay_s))
            if roll < behaviour.no_answer_probability:
                continue  # the phone stays in a pocket: the deadline passes
            accept = roll >= behaviour.no_answer_probability + behaviour.decline_probability
            self.at(self.now + delay, "answer", offer.id, offer.caregiver_id, accept)

    async def _answer(self, runtime: Runtime, offer_id: int, caregiver_id: int, accept: bool) -> None:
        async with runtime.unit_of_work() as session:
            caregiver = await session.get(Caregiver, caregiver_id)
            assert caregiver is not None
            if not accept:
                self.declines += 1
                await offers.decline_offer(
                    session=session,
                    settings=runtime.settings,
                    offer_id=offer_id,
                    caregiver=caregiver,
                    reason="模拟拒单",
                )
                return
            request = await offers.accept_offer(
                session=session, settings=runtime.settings, offer_id=offer_id, caregiver=caregiver
            )
        assert request.id is not None
        if request.status != Status.accepted.value:
            return  # the first of a two-caregiver crew: the visit waits for the second
        tracked = self.tracked[request.id]
        tracked.accepted = self.now
        home = self.homes[request.elder_id]
        travel = runtime.settings.travel_minutes(distance_m(caregiver.lat, caregiver.lon, *home))
        leave = (tracked.window_start - timedelta(minutes=travel)) if tracked.window_start else self.now
        self.holder[request.id] = caregiver_id
        self.at(max(self.now, leave), "depart", request.id, caregiver_id)

    async def _watch_moves(self, runtime: Runtime) -> None:
        """A re-plan gave visits to other hands: whoever holds one now sets off for it, the other does not."""
        async with runtime.sessions() as session:
            rows = await session.execute(
                select(ServiceRequest.id, ServiceRequest.assigned_caregiver_id, Caregiver.lat, Caregiver.lon).where(
                    col(ServiceRequest.status) == Status.accepted.value,
                    col(ServiceRequest.id).in_(list(self.holder)),
                    col(Caregiver.id) == col(ServiceRequest.assigned_caregiver_id),
                )
            )
            for request_id, caregiver_id, lat, lon in rows.all():
                if self.holder.get(request_id) == caregiver_id:
                    continue
                self.holder[request_id] = caregiver_id
                self.moved += 1
                tracked = self.tracked[request_id]
                travel = runtime.settings.travel_minutes(distance_m(lat, lon, *self.homes[self._elder_of[request_id]]))
                leave = (tracked.window_start - timedelta(minutes=travel)) if tracked.window_start else self.now
                self.at(max(self.now, leave), "depart", request_id, caregiver_id)

    async def _depart(self, runtime: Runtime, request_id: int, caregiver_id: int) -> None:
        if self.holder.get(request_id, caregiver_id) != caregiver_id:
            return  # the visit went to someone else in a re-plan: she does not set off for it
        async with runtime.unit_of_work() as session:
            caregiver = await session.get(Caregiver, caregiver_id)
            assert caregiver is not None
            request = await requests.start_en_route(
                session=session, settings=runtime.settings, request_id=request_id, caregiver=caregiver
            )
            elder = await session.get(Elder, request.elder_id)
            assert elder is not None
            metres = distance_m(caregiver.lat, caregiver.lon, elder.lat, elder.lon)
        self.tracked[request_id].travel_km = metres * runtime.settings.road_factor / 1000
        self.at(
            self.now + timedelta(minutes=runtime.settings.travel_minutes(metres)), "arrive", request_id, caregiver_id
        )

    async def _arrive(self, runtime: Runtime, request_id: int, caregiver_id: int) -> None:
        async with runtime.unit_of_work() as session:
            caregiver = await session.get(Caregiver, caregiver_id)
            request = await session.get(ServiceRequest, request_id)
            assert caregiver is not None and request is not None
            elder = await session.get(Elder, request.elder_id)
            assert elder is not None
            await requests.check_in(
                session=session,
                settings=runtime.settings,
                request_id=request_id,
                caregiver=caregiver,
                lat=elder.lat,
                lon=elder.lon,
            )
        self.tracked[request_id].arrived = self.now
        minutes = self.minutes.get(self.tracked[request_id].service_type, 60)
        self.at(self.now + timedelta(minutes=minutes), "finish", request_id, caregiver_id)

    async def _finish(self, runtime: Runtime, request_id: int, caregiver_id: int) -> None:
        async with runtime.unit_of_work() as session:
            caregiver = await session.get(Caregiver, caregiver_id)
            assert caregiver is not None
            await requests.check_out(
                session=session, settings=runtime.settings, request_id=request_id, caregiver=caregiver, notes=None
            )

    async def _metrics(self, runtime: Runtime) -> dict[str, Any]:
        async with runtime.sessions() as session:
            rows = await session.execute(select(ServiceRequest.id, ServiceRequest.status))
            statuses: dict[int, str] = {int(rid): status for rid, status in rows.all() if rid is not None}
            fairness = await provider_fairness(session=session, settings=runtime.settings)
        done = [t for rid, t in self.tracked.items() if statuses.get(rid) == Status.completed.value]
        booked = [t for t in done if t.window_end is not None and t.arrived is not None]
        now_orders = [t for t in done if t.window_start is None and t.arrived is not None]
        samples = {
            "to_accept_s": [(t.accepted - t.created).total_seconds() for t in self.tracked.values() if t.accepted],
            "travel_km": [t.travel_km for t in done if t.travel_km is not None],
            "late_min": [max(0.0, (t.arrived - t.window_end).total_seconds() / 60) for t in booked],  # type: ignore[operator]
            "wait_min": [(t.arrived - t.created).total_seconds() / 60 for t in now_orders],  # type: ignore[operator]
            "decision_ms": self.decision_ms,
        }
        metrics = summarise(
            scenario=self.scenario.name,
            policy=self.scenario.policy,
            batch_seconds=self.scenario.batch_seconds,
            statuses=dict(Counter(statuses[rid] for rid in self.tracked if rid in statuses)),
            offers=self.offers,
            declines=self.declines,
            refused=self.refused,
            provider_gini=fairness.gini,
            samples=samples,
        )
        if self.scenario.policy == "lookahead":
            metrics["replanned_visits"] = self.moved
        if self.keep_samples:
            metrics["samples"] = {key: [round(v, 2) for v in values] for key, values in samples.items()}
        return metrics


_template: Path | None = None  # this process's migrated empty database, copied for each day it simulates


def _fresh_database(path: Path) -> None:
    """An empty, migrated database at ``path``: migrated once per process, then copied (3 s saved a day)."""
    global _template
    if _template is None or not _template.exists():
        folder = Path(tempfile.mkdtemp(prefix="eldercare-sim-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _migrate(f"sqlite:///{folder / 'template.db'}")
        _template = folder / "template.db"
    path.unlink(missing_ok=True)
    shutil.copyfile(_template, path)


def _migrate(sync_url: str) -> None:
    from alembic import command
    from backend.core.migrations import alembic_config

    config: Any = alembic_config()
    config.attributes["url"] = sync_url
    command.upgrade(config, "head")
