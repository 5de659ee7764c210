"""The simulation's task: one part of a city's day, on a worker consuming the ``simulation`` queue."""

from __future__ import annotations

from backend.core import crypto
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.simulation import parts


@task("simulation.run_part")
async def run_part(runtime: Runtime, spec: dict[str, str], index: int, scenario_json: str) -> None:
    """Simulate one part of a day on its own SQLite file; its figures go to the run's board."""
    try:
        await parts.run_part(spec, index, scenario_json)
    finally:
        crypto.configure(runtime.settings)  # the day configured its own keys: this process's come back
