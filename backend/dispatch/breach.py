"""SLA-breach prediction: which open orders will miss their time to be accepted or reached, seen coming.

The sweep (``dispatch.sweep_breaches``, every ``ELDERCARE_BREACH_SWEEP_SECONDS``) scores each open order whose SLA
time (``backend.orders.sla``) is still ahead: the features (``breach_features``), the newest trained model or,
before there is one, the rule (``breach_model``). Each order's latest prediction is kept in ``breach_watch``. An
order at or above ``ELDERCARE_BREACH_THRESHOLD`` is flagged: once for each of its times (to accept, to arrive) the
operators are told (``request.breach_predicted`` on the order's and its area's channels), and the order is boosted:
a round now and every round after offer it to ``ELDERCARE_BREACH_OFFER_FANOUT`` caregivers at once within
``ELDERCARE_BREACH_RADIUS_FACTOR`` × the dispatch radius. What the sweep saw is kept as snapshots (every
``ELDERCARE_BREACH_SNAPSHOT_MINUTES`` per order); the nightly job (``dispatch.train_breach_model``) labels them with
what then happened and trains the model on the platform's own history.
"""

from __future__ import annotations

import logging
import math
import pickle
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.service import area_channels
from backend.core.config import Settings
from backend.core.db import iso
from backend.core.events import emit
from backend.core.offload import compute
from backend.dispatch import breach_model
from backend.dispatch.breach_features import FEATURES, OrderFacts, gather, open_orders
from backend.dispatch.breach_model import Estimate, Trained, predicted_times, rows_of, rule
from backend.dispatch.models import BreachModel, BreachSnapshot, BreachWatch
from backend.dispatch.rounds import dispatch_after_commit
from backend.orders.models import RequestHistory, ServiceRequest, Status, Visit
from backend.orders.sla import accept_due, arrive_due

log = logging.getLogger(__name__)
Risk = Literal["low", "medium", "high"]
BOOSTABLE = (Status.dispatching.value, Status.offered.value)
_loaded: dict[int, Trained] = {}  # this process's unpickled models, by id


def risk_of(probability: float, settings: Settings) -> Risk:
    """High from the threshold, medium from 60 % of it."""
    if probability >= settings.breach_threshold:
        return "high"
    return "medium" if probability >= 0.6 * settings.breach_threshold else "low"


async def current_model(session: AsyncSession) -> tuple[int, Trained] | None:
    """The newest trained model (None: not enough history yet, the rule decides)."""
    newest = (
        await session.execute(select(BreachModel.id).order_by(col(BreachModel.id).desc()).limit(1))
    ).scalar_one_or_none()
    if newest is None:
        return None
    if newest not in _loaded:
        stored = await session.get(BreachModel, newest)
        assert stored is not None
        try:
            _loaded.clear()
            _loaded[newest] = breach_model.load(stored.payload)
        except (ValueError, AttributeError, ImportError, TypeError, EOFError, pickle.UnpicklingError) as exc:
            log.warning("breach model %s unusable (%s): the rule decides", newest, exc)
            return None
    return newest, _loaded[newest]


@dataclass(frozen=True)
class Scored:
    facts: OrderFacts
    estimate: Estimate
    method: str


async def score(*, session: AsyncSession, settings: Settings, now: datetime) -> list[Scored]:
    """Every open order whose SLA time is still ahead, with its estimate (model, else rule)."""
    facts = await gather(session, settings, await open_orders(session), now)
    model = await current_model(session)
    if model is None:
        rows_of(facts, settings)  # fills in the rule's probability (kept in the snapshots)
        return [Scored(f, rule(f, settings), "rule") for f in facts]
    estimates = model[1].estimate(facts, settings)
    return [Scored(f, e, "model") for f, e in zip(facts, estimates, strict=True)]


def _payload(request: ServiceRequest, watch: BreachWatch) -> dict[str, Any]:
    """What the operators' screens learn of a flagged order (no personal data)."""
    times = ("sla_due_at", "predicted_breach_at", "predicted_accept_at", "predicted_arrival_at")
    return {
        "request_id": request.id,
        "community_id": request.community_id,
        "status": request.status,
        "priority": request.priority,
        "service_type": request.service_type,
        "sla": watch.sla,
        "probability": watch.probability,
        "risk": watch.risk,
        "method": watch.method,
        **{name: (iso(t) if (t := getattr(watch, name)) is not None else None) for name in times},
    }


async def record(*, session: AsyncSession, settings: Settings, scored: list[Scored], now: datetime) -> list[int]:
    """Keep each order's prediction and snapshot; flag, tell and boost those likely to breach (once per SLA time).
    Returns the orders flagged now."""
    ids = [s.facts.request.id for s in scored]
    watches = {
        w.request_id: w
        for w in (await session.execute(select(BreachWatch).where(col(BreachWatch.request_id).in_(ids)))).scalars()
    }
    every = timedelta(minutes=settings.breach_snapshot_minutes)
    flagged = []
    for item in scored:
        request, estimate = item.facts.request, item.estimate
        assert request.id is not None
        watch = watches.get(request.id)
        if watch is None:
            watch = BreachWatch(
                request_id=request.id, scored_at=now, probability=0.0, risk="low", method="rule", sla=""
            )
            session.add(watch)
        accept_at, arrive_at = predicted_times(now, estimate)
        likely = estimate.probability >= settings.breach_threshold
        watch.scored_at, watch.probability, watch.method = now, estimate.probability, item.method
        watch.risk, watch.sla, watch.sla_due_at = (
            risk_of(estimate.probability, settings),
            item.facts.sla,
            item.facts.due,
        )
        watch.predicted_accept_at, watch.predicted_arrival_at = accept_at, arrive_at
        watch.predicted_breach_at = item.facts.due if likely else None
        if watch.snapshot_at is None or now - watch.snapshot_at >= every:
            session.add(BreachSnapshot(request_id=request.id, at=now, features=item.facts.row()))
            watch.snapshot_at = now
        if likely and watch.flagged_sla != item.facts.sla:
            watch.flagged_at, watch.flagged_sla, watch.boosted = now, item.facts.sla, True
            channels = [f"request:{request.id}", *await area_channels(session, request.community_id)]
            emit(session, "request.breach_predicted", channels, _payload(request, watch))
            if request.status in BOOSTABLE:  # reach wider and more caregivers now, not only after the next answer
                dispatch_after_commit(session, settings, request)
            flagged.append(request.id)
    # Orders no longer at stake (accepted, arrived, finished, or already late) carry no prediction.
    await session.execute(
        update(BreachWatch)
        .where(col(BreachWatch.predicted_breach_at).is_not(None), col(BreachWatch.request_id).not_in(ids))
        .values(predicted_breach_at=None, risk="low")
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return flagged


async def sweep(*, session: AsyncSession, settings: Settings, now: datetime) -> list[int]:
    """Score every open order and act on those likely to breach; the orders flagged now."""
    return await record(
        session=session, settings=settings, scored=await score(session=session, settings=settings, now=now), now=now
    )


@dataclass
class Labelled:
    """Snapshots with their outcome: features, breached or not, minutes to acceptance (NaN: not accepted), and
    each one's order."""

    x: np.ndarray[Any, Any]
    y: np.ndarray[Any, Any]
    accept_minutes: np.ndarray[Any, Any]
    orders: np.ndarray[Any, Any]

    @classmethod
    def empty(cls) -> Labelled:
        return cls(np.zeros((0, len(FEATURES))), np.zeros(0, dtype=int), np.zeros(0), np.zeros(0, dtype=np.int64))

    def __add__(self, other: Labelled) -> Labelled:
        return Labelled(
            np.vstack([self.x, other.x]),
            np.concatenate([self.y, other.y]),
            np.concatenate([self.accept_minutes, other.accept_minutes]),
            np.concatenate([self.orders, other.orders]),
        )


async def first_times(
    session: AsyncSession, request_ids: list[int]
) -> dict[int, tuple[datetime | None, datetime | None, datetime | None]]:
    """Per order: first accepted, checked in at the door, cancelled."""
    out: dict[int, list[datetime | None]] = {i: [None, None, None] for i in request_ids}
    for chunk in range(0, len(request_ids), 500):
        part = request_ids[chunk : chunk + 500]
        rows = await session.execute(
            select(RequestHistory.request_id, RequestHistory.status, func.min(RequestHistory.at))
            .where(
                col(RequestHistory.request_id).in_(part),
                col(RequestHistory.status).in_([Status.accepted.value, Status.cancelled.value]),
            )
            .group_by(col(RequestHistory.request_id), col(RequestHistory.status))
        )
        for request_id, status, at in rows.all():
            out[request_id][0 if status == Status.accepted.value else 2] = at
        visits = await session.execute(
            select(Visit.request_id, Visit.checkin_at).where(col(Visit.request_id).in_(part))
        )
        for request_id, at in visits.all():
            out[request_id][1] = at
    return {i: (a, b, c) for i, (a, b, c) in out.items()}


async def labelled(*, session: AsyncSession, settings: Settings, now: datetime) -> Labelled:
    """The snapshots of the last ``breach_history_days`` whose outcome is known by ``now``."""
    since = now - timedelta(days=settings.breach_history_days)
    rows = (
        await session.execute(
            select(BreachSnapshot, ServiceRequest)
            .join(ServiceRequest, col(ServiceRequest.id) == col(BreachSnapshot.request_id))
            .where(col(BreachSnapshot.at) >= since)
            .order_by(col(BreachSnapshot.id))
        )
    ).all()
    if not rows:
        return Labelled.empty()
    times = await first_times(session, sorted({r.id for _, r in rows if r.id is not None}))
    xs, ys, minutes, orders = [], [], [], []
    flag = FEATURES.index("sla_accept")
    for snapshot, request in rows:
        if len(snapshot.features) != len(FEATURES):
            continue  # taken by an older version of the features
        assert request.id is not None
        accepted, arrived, cancelled = times[request.id]
        accepting = snapshot.features[flag] == 1
        due = accept_due(request, settings) if accepting else arrive_due(request, settings)
        done = accepted if accepting else arrived
        if done is not None and done <= due:
            breached = False
        elif cancelled is not None and cancelled <= due:
            continue  # nobody waited for it any more: neither a breach nor an order that met its time
        elif due <= now:
            breached = True
        else:
            continue  # its time has not come yet
        xs.append(snapshot.features)
        ys.append(int(breached))
        minutes.append((accepted - snapshot.at).total_seconds() / 60 if accepted is not None else math.nan)
        orders.append(request.id)
    if not xs:
        return Labelled.empty()
    return Labelled(
        np.array(xs, dtype=float),
        np.array(ys, dtype=int),
        np.array(minutes, dtype=float),
        np.array(orders, dtype=np.int64),
    )


async def store_model(
    *, session: AsyncSession, data: Labelled, now: datetime, settings: Settings
) -> BreachModel | None:
    """Train on labelled snapshots and keep the model; None (the rule stays) with too few of them or one outcome."""
    if len(data.y) < settings.breach_min_samples or len(set(data.y.tolist())) < 2:
        return None
    trained, scores = await compute(breach_model.fit, data.x, data.y, data.accept_minutes, orders=data.orders)
    model = BreachModel(
        trained_at=now,
        samples=len(data.y),
        breaches=int(data.y.sum()),
        features=list(FEATURES),
        scores=scores,
        payload=trained.dump(),
    )
    session.add(model)
    await session.flush()
    return model


async def train(*, session: AsyncSession, settings: Settings, now: datetime) -> BreachModel | None:
    """The nightly job: forget snapshots past the history, train on the rest (see ``store_model``)."""
    await session.execute(
        delete(BreachSnapshot).where(col(BreachSnapshot.at) < now - timedelta(days=settings.breach_history_days + 1))
    )
    data = await labelled(session=session, settings=settings, now=now)
    model = await store_model(session=session, data=data, now=now, settings=settings)
    log.info(
        "breach model: %s snapshots labelled, %s",
        len(data.y),
        f"model {model.id} trained" if model is not None else "too few: the rule stays",
    )
    return model
