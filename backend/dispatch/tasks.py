"""Dispatch tasks: a round for one order, the orders waiting near a freed caregiver, a batch of orders, and the
deadline sweep."""

from __future__ import annotations

from backend.core.db import utcnow
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.dispatch import breach, offers, rounds, waiting
from backend.orders.models import Status


@task("dispatch.run_round")
async def run_round(runtime: Runtime, request_id: int) -> None:
    """Offer the order to its next candidate(s), or escalate it."""
    async with runtime.unit_of_work() as session:
        await rounds.run_round(session=session, settings=runtime.settings, request_id=request_id)


@task("dispatch.wake_waiting")
async def wake_waiting(runtime: Runtime, caregiver_id: int) -> list[int]:
    """A caregiver became free: the orders waiting for someone like her get their next round now, here, first in
    line first, until one of them is offered (to her, as a rule: nobody else was free for it)."""
    async with runtime.sessions() as session:
        woken = await waiting.waiting_for(session=session, settings=runtime.settings, caregiver_id=caregiver_id)
    for request_id in woken:  # a round is idempotent: one under way for the order at once makes nothing twice
        async with runtime.unit_of_work() as session:
            request = await rounds.run_round(session=session, settings=runtime.settings, request_id=request_id)
            if request is not None and request.status == Status.offered:
                break
    return woken


@task("dispatch.run_batch")
async def run_batch(runtime: Runtime) -> None:
    """Match the orders waiting for an offer jointly (the batching window has passed)."""
    async with runtime.unit_of_work() as session:
        await rounds.run_batch(session=session, settings=runtime.settings)


@task("dispatch.sweep_deadlines")
async def sweep_deadlines(runtime: Runtime) -> int:
    """Expire lapsed offers, escalate late emergencies, restart lost rounds: one short transaction per order."""
    now = utcnow()
    async with runtime.sessions() as session:
        lapsed = await offers.orders_with_lapsed_offers(session=session, now=now)
        late = await offers.late_emergencies(session=session, settings=runtime.settings, now=now)
    expired = 0
    for request_id in lapsed:
        async with runtime.unit_of_work() as session:
            expired += await offers.expire_offers_of(
                session=session, settings=runtime.settings, request_id=request_id, now=now
            )
    for request_id in late:
        async with runtime.unit_of_work() as session:
            await offers.escalate_late_emergency(session=session, settings=runtime.settings, request_id=request_id)
    async with runtime.unit_of_work() as session:
        await rounds.restart_stalled(session=session, settings=runtime.settings, now=now)
    return expired


@task("dispatch.sweep_breaches")
async def sweep_breaches(runtime: Runtime) -> int:
    """Score every open order against its SLA; flag, tell and boost those likely to breach (once each)."""
    async with runtime.unit_of_work() as session:
        flagged = await breach.sweep(session=session, settings=runtime.settings, now=utcnow())
    return len(flagged)


@task("dispatch.train_breach_model")
async def train_breach_model(runtime: Runtime) -> int | None:
    """The nightly job: train the breach model on the platform's finished orders (None: too little history yet)."""
    async with runtime.unit_of_work() as session:
        model = await breach.train(session=session, settings=runtime.settings, now=utcnow())
        return model.id if model is not None else None
