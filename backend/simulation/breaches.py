"""``eldercare bench breaches``: SLA-breach prediction measured on simulated days.

Training days (some seeds) run with the breach sweep every simulated minute, the rule deciding; the snapshots it
kept are labelled with what happened and a model is trained on them all. Other seeds are then run once with that
model and once with the rule alone. For each evaluation day: every order that breached its SLA (``backend.requests.
sla``) before the day's end, and whether it was flagged (``request.breach_predicted``) at least ``lead`` minutes
before the breach; and of the orders flagged (whose outcome is known by the end), the share that did breach.
With ``--act`` (the default) a flag also boosts the order as in production, so a warning that saved an order counts
against the precision; ``--no-act`` measures the prediction alone.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.events import OutboxEvent
from backend.core.runtime import Runtime
from backend.dispatch import breach, breach_model
from backend.dispatch.breach import Labelled
from backend.dispatch.models import BreachModel
from backend.orders.models import ServiceRequest
from backend.orders.sla import breach_of
from backend.simulation.engine import Simulation
from backend.simulation.scenario import Scenario, generate

console = Console(width=160)


@dataclass
class Day:
    """What one simulated day gave: its labelled snapshots and its breaches and flags."""

    seed: int
    method: str
    labelled: Labelled
    breaches: dict[int, datetime]  # order → when it breached
    fine: set[int]  # orders that met both times
    flags: dict[int, datetime]  # order → its first flag
    created: dict[int, datetime]


def _sweeper(model: bytes | None, act: bool) -> Any:
    """The tick: the breach sweep as the scheduler runs it, on the day's clock (the model stored first)."""
    ready = False

    async def tick(runtime: Runtime) -> None:
        nonlocal ready
        if not ready:
            changes: dict[str, Any] = {"breach_snapshot_minutes": 2.0}
            if not act:  # flags only: no wider search, no extra offers
                changes |= {"breach_offer_fanout": 1, "breach_radius_factor": 1.0}
            runtime.settings = runtime.settings.model_copy(update=changes)
            if model is not None:
                async with runtime.unit_of_work() as session:
                    session.add(
                        BreachModel(trained_at=utcnow(), samples=0, breaches=0, features=[], scores={}, payload=model)
                    )
            ready = True
        async with runtime.unit_of_work() as session:
            await breach.sweep(session=session, settings=runtime.settings, now=utcnow())

    return tick


async def _outcomes(runtime: Runtime, seed: int, method: str, end: datetime) -> Day:
    settings = runtime.settings
    async with runtime.sessions() as session:
        data = await breach.labelled(session=session, settings=settings, now=end)
        orders = list((await session.execute(select(ServiceRequest))).scalars())
        times = await breach.first_times(session, [r.id for r in orders if r.id is not None])
        events = await session.execute(
            select(OutboxEvent.data, OutboxEvent.created_at)
            .where(col(OutboxEvent.event) == "request.breach_predicted")
            .order_by(col(OutboxEvent.id))
        )
        flags: dict[int, datetime] = {}
        for payload, at in events.all():
            flags.setdefault(int(payload["request_id"]), at)
    breaches, fine = {}, set()
    for request in orders:
        assert request.id is not None
        accepted, arrived, cancelled = times[request.id]
        missed = breach_of(request, settings, accepted_at=accepted, arrived_at=arrived, cancelled_at=cancelled)
        if missed is not None and missed[1] <= end:
            breaches[request.id] = missed[1]
        elif missed is None and (arrived is not None or cancelled is not None):
            fine.add(request.id)
    return Day(seed, method, data, breaches, fine, flags, {r.id: r.created_at for r in orders if r.id is not None})


async def run_day(scenario: Scenario, *, model: bytes | None, act: bool, method: str) -> Day:
    """One simulated day with the breach sweep every minute; its outcomes read from its database."""
    with tempfile.TemporaryDirectory(prefix="eldercare-breach-") as folder:
        simulation = Simulation(scenario, workdir=Path(folder), tick=_sweeper(model, act))
        await simulation.run()
        path = Path(folder) / f"{scenario.name}-{scenario.policy}.db"
        end = scenario.start + timedelta(hours=scenario.hours + scenario.drain_hours)
        runtime = Runtime(simulation.settings(f"sqlite+aiosqlite:///{path}"), role="cli", alone=True)
        try:
            return await _outcomes(runtime, scenario.seed, method, end)
        finally:
            await runtime.stop()


def judge(days: list[Day], lead_minutes: float) -> dict[str, Any]:
    """Breaches flagged at least ``lead_minutes`` ahead (of all, and of those the order lived that long before), and
    the precision of the flags whose outcome is known."""
    lead = timedelta(minutes=lead_minutes)
    breaches = ahead = ahead_possible = possible = flagged = flagged_breached = 0
    for day in days:
        for request_id, at in day.breaches.items():
            breaches += 1
            warned = day.flags.get(request_id)
            early = warned is not None and warned <= at - lead
            ahead += early
            if at - day.created[request_id] >= lead:
                possible += 1
                ahead_possible += early
        for request_id in day.flags:
            if request_id in day.breaches or request_id in day.fine:
                flagged += 1
                flagged_breached += request_id in day.breaches
    return {
        "breaches": breaches,
        "flagged_ahead": ahead,
        "recall_ahead": round(ahead / breaches, 4) if breaches else None,
        "breaches_lasting_lead": possible,
        "recall_ahead_of_those": round(ahead_possible / possible, 4) if possible else None,
        "flagged": flagged,
        "precision": round(flagged_breached / flagged, 4) if flagged else None,
    }


def bench_breaches(
    kind: Annotated[str, typer.Option(help="city (Suzhou scale) or small")] = "city",
    supply: Annotated[str, typer.Option(help="plentiful or scarce")] = "scarce",
    hours: Annotated[float, typer.Option(help="Hours of requests in each day")] = 2.0,
    drain_hours: Annotated[float, typer.Option(help="Hours after the last request")] = 2.0,
    train_seeds: Annotated[str, typer.Option(help="Seeds of the training days")] = "1,2",
    eval_seeds: Annotated[str, typer.Option(help="Seeds of the evaluation days")] = "3,4",
    lead: Annotated[float, typer.Option(help="Minutes ahead a warning must come")] = 10.0,
    act: Annotated[bool, typer.Option(help="Flags boost the order as in production")] = True,
    out: Annotated[Path, typer.Option(help="JSON file for the results")] = Path("bench-breaches.json"),
) -> None:
    """Train the breach model on simulated days, then measure its warnings (and the rule's) on other days."""
    results = asyncio.run(_bench(kind, supply, hours, drain_hours, train_seeds, eval_seeds, lead, act))
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    table = Table(title=f"SLA 超时预测 · breaches flagged ≥ {lead:g} min ahead, precision of the flags")
    for column in (
        "method",
        "breaches",
        f"flagged ≥{lead:g} min",
        "recall",
        "recall (lived ≥ lead)",
        "flags",
        "precision",
    ):
        table.add_column(column)
    for method in ("rule", "model"):
        m = results[method]
        table.add_row(
            method,
            str(m["breaches"]),
            str(m["flagged_ahead"]),
            str(m["recall_ahead"]),
            str(m["recall_ahead_of_those"]),
            str(m["flagged"]),
            str(m["precision"]),
        )
    console.print(table)
    console.print(f"model trained on {results['training']['samples']} snapshots: {results['training']['scores']}")


async def _bench(
    kind: str, supply: str, hours: float, drain: float, train_seeds: str, eval_seeds: str, lead: float, act: bool
) -> dict[str, Any]:
    def day(seed: int) -> Scenario:
        return generate(kind, supply=supply, seed=seed).model_copy(update={"hours": hours, "drain_hours": drain})

    data = Labelled.empty()
    for seed in (int(s) for s in train_seeds.split(",")):
        console.print(f"[dim]training day, seed {seed} …[/dim]")
        labelled = (await run_day(day(seed), model=None, act=act, method="rule")).labelled
        labelled.orders = labelled.orders + seed * 10_000_000  # one day's order 5 is not another's
        data = data + labelled
    if len(set(data.y.tolist())) < 2:
        raise typer.BadParameter("the training days had no breach (or nothing but breaches): try --supply scarce")
    trained, scores = breach_model.fit(data.x, data.y, data.accept_minutes, orders=data.orders)
    payload = trained.dump()
    judged: dict[str, Any] = {}
    for method, model in (("rule", None), ("model", payload)):
        days = []
        for seed in (int(s) for s in eval_seeds.split(",")):
            console.print(f"[dim]evaluation day, seed {seed}, {method} …[/dim]")
            days.append(await run_day(day(seed), model=model, act=act, method=method))
        judged[method] = judge(days, lead)
    settings = Settings()
    return {
        "scenario": {"kind": kind, "supply": supply, "hours": hours, "drain_hours": drain},
        "train_seeds": train_seeds,
        "eval_seeds": eval_seeds,
        "lead_minutes": lead,
        "act": act,
        "threshold": settings.breach_threshold,
        "training": {"samples": len(data.y), "breaches": int(data.y.sum()), "scores": scores},
        **judged,
    }
