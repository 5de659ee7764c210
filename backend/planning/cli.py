"""Typer commands: `plan hhcrsp` (solve one instance) and `bench planner` (benchmark against references)."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

plan_app = typer.Typer(help="Plan caregiver routes.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks.", no_args_is_help=True)

DATA_ENV = "ELDERCARE_HHCRSP_DATA"


@plan_app.callback()
def _plan() -> None:
    """Plan caregiver routes (keeps `hhcrsp` a subcommand even when this is the only one)."""


@bench_app.callback()
def _bench() -> None:
    """Benchmarks (keeps `planner` a subcommand even when this is the only one)."""


def default_data_dir() -> Path:
    """Benchmark data folder: $ELDERCARE_HHCRSP_DATA or <repo>/../shared/data/hhcrsp."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hhcrsp"


@plan_app.command("hhcrsp")
def plan_hhcrsp(
    instance: Annotated[Path, typer.Argument(help="Instance JSON file.", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="Where to write the solution JSON.")],
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.0, help="Seconds of search.")] = 30.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Solve a home health care routing instance, validate it and write the solution."""
    from backend.planning.hhcrsp import load_instance, validate, write_solution
    from backend.planning.solver import solve

    inst = load_instance(instance)
    solution = solve(inst, time_limit=time_limit, seed=seed)
    report = validate(inst, solution)
    write_solution(solution, out)
    for violation in report.violations:
        typer.echo(f"violation: {violation}", err=True)
    typer.echo(json.dumps(report.summary()))
    if not report.feasible:
        raise typer.Exit(code=1)


def _size_of(name: str) -> int:
    """Patient count encoded in an instance file name (e.g. InstanzCPLEX_HCSRP_25_3 -> 25)."""
    parts = Path(name).stem.split("_")
    return int(parts[-2]) if len(parts) >= 2 and parts[-2].isdigit() else -1


@bench_app.command("planner")
def bench_planner(
    data: Annotated[
        Path | None, typer.Option("--data", help="Benchmark folder (instances/, reference_costs.csv).")
    ] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.0, help="Seconds per instance.")] = 30.0,
    sizes: Annotated[str, typer.Option("--sizes", help="Comma-separated patient counts.")] = "10,25,50,75,100",
    out: Annotated[Path, typer.Option("--out", help="CSV file for the results.")] = Path("results.csv"),
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Run the planner on the benchmark instances and compare with the reference costs."""
    from rich.console import Console

    folder = data or default_data_dir()
    ref_file = folder / "reference_costs.csv"
    if not ref_file.is_file():
        typer.echo(f"no reference_costs.csv in {folder}", err=True)
        raise typer.Exit(code=2)
    wanted = {int(s) for s in sizes.split(",") if s.strip()}
    with ref_file.open() as fh:
        refs = {row["instance"]: float(row["total_cost"]) for row in csv.DictReader(fh)}
    names = sorted((n for n in refs if _size_of(n) in wanted), key=lambda n: (_size_of(n), _size_of_index(n)))
    console = Console()
    rows = _run_instances(console, folder, names, refs, time_limit, seed)
    console.print(_summary(rows, wanted))
    if rows:
        with out.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def _run_instances(
    console: Console, folder: Path, names: list[str], refs: dict[str, float], time_limit: float, seed: int
) -> list[dict[str, str | float | int | bool]]:
    """Solve and validate each named instance, printing a line each and then the table; one row per instance."""
    from rich.table import Table

    from backend.planning.hhcrsp import load_instance, validate
    from backend.planning.solver import solve

    table = Table(title=f"HHCRSP planner, {time_limit:g} s per instance")
    for col in ("instance", "cost", "reference", "ratio", "seconds", "feasible"):
        table.add_column(col, justify="left" if col == "instance" else "right", no_wrap=True)
    rows: list[dict[str, str | float | int | bool]] = []
    for name in names:
        inst = load_instance(folder / "instances" / name)
        t0 = time.monotonic()
        solution = solve(inst, time_limit=time_limit, seed=seed)
        seconds = time.monotonic() - t0
        report = validate(inst, solution)
        ratio = report.cost / refs[name]
        rows.append(
            {
                "instance": name,
                "size": _size_of(name),
                "cost": round(report.cost, 3),
                "reference": refs[name],
                "ratio": round(ratio, 4),
                "seconds": round(seconds, 2),
                "feasible": report.feasible,
            }
        )
        table.add_row(
            name, f"{report.cost:.3f}", f"{refs[name]:.3f}", f"{ratio:.4f}", f"{seconds:.1f}", str(report.feasible)
        )
        console.print(f"{name}: cost {report.cost:.3f} ratio {ratio:.4f} feasible {report.feasible}")
    console.print(table)
    return rows


def _summary(rows: list[dict[str, str | float | int | bool]], wanted: set[int]) -> Table:
    """Mean cost ratio and feasible count per instance size."""
    from rich.table import Table

    summary = Table(title="Mean cost ratio per size")
    for col in ("size", "instances", "mean ratio", "feasible"):
        summary.add_column(col, justify="right")
    for size in sorted(wanted):
        group = [r for r in rows if r["size"] == size]
        if group:
            mean = sum(float(r["ratio"]) for r in group) / len(group)
            feasible = sum(1 for r in group if r["feasible"])
            summary.add_row(str(size), str(len(group)), f"{mean:.4f}", f"{feasible}/{len(group)}")
    return summary


def _size_of_index(name: str) -> int:
    """Instance number encoded in a file name (e.g. InstanzCPLEX_HCSRP_25_3 -> 3)."""
    last = Path(name).stem.split("_")[-1]
    return int(last) if last.isdigit() else 0
