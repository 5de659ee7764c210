"""Benchmark: a Suzhou-wide day (all ten districts) through the real dispatch rules, at several sizes.

For each size (requests in the day; caregivers stay the city's 20,000): the day's wall time on ``--workers``
processes, and what its parts spent setting up (the district's providers, caregivers and elders) and running the
day (``loop``). The cost per 1,000 requests (loop seconds, summed over parts) shows whether the day grows linearly;
a 100,000-request day's wall time on N workers is then about ``loop/1k × 100 / N`` plus setup.

``--part NAME`` runs one part of the day alone (e.g. the largest district of a 100,000-request day: the others are
the same shape, smaller), to measure the cost per 1,000 requests at that size within a benchmark's time.

    .venv/bin/python -m benchmarks.city_day --sizes 1000 10000 --workers 2
    .venv/bin/python -m benchmarks.city_day --sizes 100000 --part 吴中区
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from backend.core.config import Settings
from backend.simulation.engine import Simulation
from backend.simulation.parts import CityRun
from backend.simulation.scenario import suzhou_day


def _row(size: int, workers: int, city: dict[str, Any]) -> dict[str, Any]:
    parts = city["parts"].values()
    loop = sum(p["loop_seconds"] for p in parts)
    setup = sum(p["setup_seconds"] for p in parts)
    requests = city["requests"]
    return {
        "size": size,
        "requests": requests,
        "parts": len(city["parts"]),
        "workers": workers,
        "wall_s": city["wall_seconds"],
        "setup_s": round(setup, 1),
        "loop_s": round(loop, 1),
        "loop_s_per_1k": round(loop / requests * 1000, 1) if requests else None,
        "wall_s_per_1k": round(city["wall_seconds"] / requests * 1000, 1) if requests else None,
        "completed": city["completed"],
        "fill_rate": city["fill_rate"],
        "decision_ms_p50": city["decision_ms"]["p50"],
        "decision_ms_p99": city["decision_ms"]["p99"],
    }


def run_size(size: int, caregivers: int, workers: int, part: str | None) -> dict[str, Any]:
    day = suzhou_day(requests=size, caregivers=caregivers)
    if part is not None:
        chosen = [p for p in day.parts if part in p.name]
        if not chosen:
            raise SystemExit(f"no part named {part!r}: {', '.join(p.name for p in day.parts)}")
        started = time.perf_counter()
        metrics = asyncio.run(Simulation(chosen[0]).run())
        wall = round(time.perf_counter() - started, 1)
        city = {**metrics, "parts": {chosen[0].name: metrics}, "wall_seconds": wall}
        return _row(size, 1, city) | {"part": chosen[0].name}
    settings = Settings(redis_url=None, environment="test", log_level="WARNING")

    def quiet(_states: Any) -> None:
        return None

    with tempfile.TemporaryDirectory(prefix="bench-city-") as folder:
        city = CityRun(day, settings, workers=workers, folder=Path(folder)).run(quiet, poll_seconds=1.0)
    return _row(size, workers, city)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--caregivers", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--part", help="Run only this part (district) of each day")
    parser.add_argument("--out", type=Path, default=Path("var/bench-city-day.json"))
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        row = run_size(size, args.caregivers, args.workers, args.part)
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    if rows:
        print(
            f"\n{'size':>7} {'requests':>8} {'workers':>7} {'wall s':>8} {'setup s':>8} {'loop s':>8} "
            f"{'loop s/1k':>9} {'decision p50/p99 ms':>20}"
        )
        for r in rows:
            print(
                f"{r['size']:>7} {r['requests']:>8} {r['workers']:>7} {r['wall_s']:>8} {r['setup_s']:>8} "
                f"{r['loop_s']:>8} {r['loop_s_per_1k']:>9} {r['decision_ms_p50']:>9}/{r['decision_ms_p99']}"
            )
        per_1k = rows[-1]["loop_s_per_1k"] or 0
        print(
            f"\nA 100,000-request day at {per_1k} loop s per 1,000 requests: about "
            f"{per_1k * 100 / max(1, args.workers) / 60:.0f} min on {args.workers} workers "
            f"({per_1k * 100 / 10 / 60:.0f} min on 10, one per district) plus setup; the goal is 10 min."
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
