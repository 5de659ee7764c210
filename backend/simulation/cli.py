"""``eldercare simulate`` and ``eldercare bench dispatch``: a day of the city under each dispatch policy."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, get_args

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from backend.core.config import get_settings
from backend.simulation.engine import Simulation
from backend.simulation.parts import CityRun, PartState
from backend.simulation.scenario import CityDay, Policy, Scenario, generate, suzhou_day

console = Console(width=160)
POLICIES: tuple[Policy, ...] = get_args(Policy)


def _run(scenario: Scenario) -> dict[str, Any]:
    return asyncio.run(Simulation(scenario).run())


def _run_city(day: CityDay, *, workers: int) -> dict[str, Any]:
    """A city's day in parts, with a progress bar per part and one for the city."""
    settings = get_settings()
    if settings.embedded and workers == 0:
        raise typer.BadParameter("--workers 0 needs ELDERCARE_REDIS_URL (workers elsewhere); embedded, give 1 or more")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with tempfile.TemporaryDirectory(prefix="eldercare-city-") as folder, Progress(*columns, console=console) as bar:
        planned = round(day.planned_requests)
        city = bar.add_task(f"{day.name} · 全市 (city)", total=planned)
        rows = [bar.add_task(f"  {part.name}", total=round(part.requests_per_hour * part.hours)) for part in day.parts]

        def watch(states: list[PartState]) -> None:
            for row, state in zip(rows, states, strict=True):
                total = state.planned or None
                if state.metrics is not None:
                    total = state.metrics["requests"]
                bar.update(row, completed=total if state.metrics is not None else state.arrived, total=total)
            bar.update(city, completed=sum(s.metrics["requests"] if s.metrics else s.arrived for s in states))

        try:
            return CityRun(day, settings, workers=workers, folder=Path(folder)).run(watch)
        except RuntimeError as exc:
            console.print(f"[red]模拟失败 (simulation failed): {exc}[/red]")
            raise typer.Exit(1) from exc


def simulate(
    scenario: Annotated[Path | None, typer.Argument(help="SCENARIO.json (see README: the scenario format)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the metrics (or the scenario)")] = None,
    generate_kind: Annotated[
        str | None,
        typer.Option("--generate", help="Write a ready-made scenario instead: city, town, small or suzhou-day"),
    ] = None,
    supply: Annotated[str, typer.Option(help="With --generate city/town/small: plentiful or scarce")] = "plentiful",
    requests: Annotated[int, typer.Option(help="With --generate suzhou-day: requests in the day", min=1)] = 100_000,
    caregivers: Annotated[int, typer.Option(help="With --generate suzhou-day: caregivers on shift", min=10)] = 20_000,
    policy: Annotated[
        str | None, typer.Option(help="Override the scenario's policy: greedy, batched, lookahead or hindsight")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed")] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="A city day's parts at once: local processes when embedded; with ELDERCARE_REDIS_URL, Celery "
            "worker processes started for the run (0: only workers already consuming the simulation queue)",
            min=0,
        ),
    ] = 1,
) -> None:
    """Simulate a day through the real dispatcher on a simulated clock; write its metrics as JSON."""
    if generate_kind is not None:
        _write_generated(generate_kind, supply=supply, requests=requests, caregivers=caregivers, seed=seed, out=out)
        return
    if scenario is None:
        raise typer.BadParameter("give SCENARIO.json, or --generate city")
    loaded = _read_scenario(scenario)
    changes: dict[str, Any] = {}
    if policy is not None:
        if policy not in POLICIES:
            raise typer.BadParameter(f"policy must be one of {', '.join(POLICIES)}")
        changes["policy"] = policy
    if seed is not None:
        changes["seed"] = seed
    if isinstance(loaded, CityDay):
        metrics = _run_city(loaded.model_copy(update=changes), workers=workers)
    else:
        metrics = _run(loaded.model_copy(update=changes))
    text = json.dumps(metrics, ensure_ascii=False, indent=2)
    (out or Path("metrics.json")).write_text(text + "\n", encoding="utf-8")
    console.print(text)


def _write_generated(
    kind: str, *, supply: str, requests: int, caregivers: int, seed: int | None, out: Path | None
) -> None:
    """Write a ready-made scenario (city, town, small or suzhou-day) to `out`, or print it."""
    made: Scenario | CityDay
    try:
        if kind == "suzhou-day":
            made = suzhou_day(requests=requests, caregivers=caregivers, seed=seed or 1)
        else:
            made = generate(kind, supply=supply, seed=seed or 1)
    except (ValueError, KeyError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    text = made.model_dump_json(indent=2)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"场景已写入 {out} (scenario written)")


def _read_scenario(path: Path) -> Scenario | CityDay:
    """A scenario file: a city's day when it has parts, else one day."""
    try:
        text = path.read_text(encoding="utf-8")
        return CityDay.model_validate_json(text) if '"parts"' in text else Scenario.model_validate_json(text)
    except (OSError, ValidationError) as exc:
        raise typer.BadParameter(f"cannot read the scenario: {exc}") from exc


def bench_dispatch(
    kind: Annotated[str, typer.Option(help="Days, comma-separated: city (Suzhou), town (county) or small")] = "city",
    hours: Annotated[float | None, typer.Option(help="Shorten the day (hours of requests)")] = None,
    batch_seconds: Annotated[float, typer.Option(help="The batched policy's window")] = 60.0,
    seed: Annotated[int, typer.Option()] = 1,
    out: Annotated[Path, typer.Option(help="JSON file for the results")] = Path("bench-dispatch.json"),
    policies: Annotated[str, typer.Option(help="Comma-separated policies to run")] = ",".join(POLICIES),
) -> None:
    """Greedy, batched and look-ahead dispatch on the same generated days, at plentiful and scarce supply, beside
    the day planned in hindsight (every request known at the start)."""
    chosen = [p.strip() for p in policies.split(",") if p.strip()]
    if not chosen or set(chosen) - set(POLICIES):
        raise typer.BadParameter(f"policies must be among {', '.join(POLICIES)}")
    results = []
    for supply, one in ((supply, one) for one in kind.split(",") for supply in ("plentiful", "scarce")):
        base = generate(one.strip(), supply=supply, seed=seed)
        changes: dict[str, Any] = {"batch_seconds": batch_seconds}
        if hours is not None:
            changes["hours"] = hours
        for policy in chosen:
            scenario = base.model_copy(update={**changes, "policy": policy})
            console.print(f"[dim]{scenario.name} · {policy} …[/dim]")
            metrics = _run(scenario)
            metrics["supply"] = f"{one.strip()} {supply}"
            results.append(metrics)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    console.print(_comparison(results, chosen))
    _print_travel_ratios(results)


def _comparison(results: list[dict[str, Any]], chosen: list[str]) -> Table:
    """One row per day and policy: fill rate, travel, lateness, waits, escalations, fairness, decision time."""
    table = Table(title="派单策略对比 · " + " vs ".join(chosen))
    for column in (
        "supply",
        "policy",
        "requests",
        "fill rate",
        "km/visit",
        "late share",
        "late min",
        "wait p50/p95 min",
        "accept p50 s",
        "escalated",
        "gini",
        "decision p99 ms",
    ):
        table.add_column(column)
    for m in results:
        table.add_row(
            m["supply"],
            m["policy"],
            str(m["requests"]),
            f"{m['fill_rate']:.3f}" if m["fill_rate"] is not None else "-",
            f"{m['travel_km_per_visit']:.2f}" if m["travel_km_per_visit"] is not None else "-",
            f"{m['late_share']:.3f}" if m["late_share"] is not None else "-",
            f"{m['lateness_min_mean']:.1f}" if m["lateness_min_mean"] is not None else "-",
            f"{m['wait_to_arrival_min']['p50']}/{m['wait_to_arrival_min']['p95']}",
            str(m["time_to_accept_s"]["p50"]),
            str(m["escalated"]),
            f"{m['provider_gini']:.3f}",
            str(m["decision_ms"]["p99"]),
        )
    return table


def _print_travel_ratios(results: list[dict[str, Any]]) -> None:
    """Per day: the batched and look-ahead travel per visit against greedy's and hindsight's."""
    for supply in dict.fromkeys(m["supply"] for m in results):
        day = {m["policy"]: m for m in results if m["supply"] == supply}
        if "greedy" not in day or "hindsight" not in day:
            continue
        greedy, hindsight = day["greedy"]["travel_km_per_visit"], day["hindsight"]["travel_km_per_visit"]
        for policy in ("batched", "lookahead"):
            travel = day.get(policy, {}).get("travel_km_per_visit")
            if greedy and hindsight and travel:
                console.print(
                    f"{supply}: {policy} travels {travel / greedy:.3f}× greedy and {travel / hindsight:.3f}× hindsight"
                    " per visit"
                )
