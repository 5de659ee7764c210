"""A city's day in parts: each part (a district) simulated on its own, wherever there is a free worker.

Parts never share an order, a caregiver or a provider, so they run anywhere and at once: as Celery tasks on the
``simulation`` queue (``eldercare worker --queues simulation`` on as many machines as there are), or, embedded,
in this process or a few local processes. A part tells how far it has come, and finally its figures, on a board
the caller reads: keys in Redis (never the truth: they expire in a day) or files in a folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

import redis

from backend.core.components import Components, load, loaded
from backend.core.config import Settings
from backend.simulation.metrics import merge
from backend.simulation.scenario import CityDay, Scenario

QUEUE = "simulation"
BOARD_TTL_SECONDS = 86_400


@dataclass
class PartState:
    """What the board says of one part."""

    arrived: int = 0
    planned: int = 0
    metrics: dict[str, Any] | None = None
    error: str | None = None


class Board(Protocol):
    def progress(self, part: int, arrived: int, planned: int) -> None: ...
    def done(self, part: int, metrics: dict[str, Any]) -> None: ...
    def failed(self, part: int, error: str) -> None: ...
    def read(self, parts: int) -> list[PartState]: ...


class FileBoard:
    """A folder: ``<part>.progress`` and ``<part>.json`` (or ``<part>.error``), each written whole."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def _write(self, name: str, text: str) -> None:
        fresh = self.folder / f".{name}.{os.getpid()}"
        fresh.write_text(text, encoding="utf-8")
        fresh.replace(self.folder / name)  # readers never see half a file

    def progress(self, part: int, arrived: int, planned: int) -> None:
        self._write(f"{part}.progress", f"{arrived} {planned}")

    def done(self, part: int, metrics: dict[str, Any]) -> None:
        self._write(f"{part}.json", json.dumps(metrics, ensure_ascii=False))

    def failed(self, part: int, error: str) -> None:
        self._write(f"{part}.error", error)

    def read(self, parts: int) -> list[PartState]:
        states = []
        for part in range(parts):
            state = PartState()
            progress = self.folder / f"{part}.progress"
            if progress.exists():
                state.arrived, state.planned = (int(x) for x in progress.read_text(encoding="utf-8").split())
            if (self.folder / f"{part}.json").exists():
                state.metrics = json.loads((self.folder / f"{part}.json").read_text(encoding="utf-8"))
            if (self.folder / f"{part}.error").exists():
                state.error = (self.folder / f"{part}.error").read_text(encoding="utf-8")
            states.append(state)
        return states


class RedisBoard:
    """Keys ``<prefix>:simulation:<run>:<part>:{progress,metrics,error}``, gone after a day."""

    def __init__(self, url: str, prefix: str, run: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.base = f"{prefix}:simulation:{run}"

    def _set(self, part: int, what: str, value: str) -> None:
        self.client.set(f"{self.base}:{part}:{what}", value, ex=BOARD_TTL_SECONDS)

    def progress(self, part: int, arrived: int, planned: int) -> None:
        self._set(part, "progress", f"{arrived} {planned}")

    def done(self, part: int, metrics: dict[str, Any]) -> None:
        self._set(part, "metrics", json.dumps(metrics, ensure_ascii=False))

    def failed(self, part: int, error: str) -> None:
        self._set(part, "error", error)

    def read(self, parts: int) -> list[PartState]:
        keys = [f"{self.base}:{part}:{what}" for part in range(parts) for what in ("progress", "metrics", "error")]
        values = self.client.mget(keys)
        states = []
        for part in range(parts):
            progress, metrics, error = values[3 * part : 3 * part + 3]
            state = PartState()
            if progress:
                state.arrived, state.planned = (int(x) for x in progress.split())
            state.metrics = json.loads(metrics) if metrics else None
            state.error = error.decode() if isinstance(error, bytes) else error
            states.append(state)
        return states


def board_from(spec: dict[str, str]) -> Board:
    """The board a spec names (specs travel with the parts, to other processes and machines)."""
    if spec["kind"] == "redis":
        return RedisBoard(spec["url"], spec["prefix"], spec["run"])
    return FileBoard(spec["folder"])


async def run_part(spec: dict[str, str], index: int, scenario_json: str) -> None:
    """Simulate one part and put its figures (with their samples, for the merge) on the board."""
    from backend.simulation.engine import Simulation

    board = board_from(spec)
    scenario = Scenario.model_validate_json(scenario_json)
    try:
        metrics = await Simulation(
            scenario, progress=lambda arrived, planned: board.progress(index, arrived, planned), keep_samples=True
        ).run()
    except Exception as exc:
        board.failed(index, f"{type(exc).__name__}: {exc}")
        raise
    board.done(index, metrics)


def _run_part_here(spec: dict[str, str], index: int, scenario_json: str) -> None:
    asyncio.run(run_part(spec, index, scenario_json))


def _child(components: Components) -> None:
    """A part's process: quiet logs, and the tasks and handlers its parent had."""
    os.environ.setdefault("ELDERCARE_LOG_LEVEL", "WARNING")
    load(components)


class CityRun:
    """One city day being simulated: its parts sent out, its board watched, its figures merged at the end."""

    def __init__(self, day: CityDay, settings: Settings, *, workers: int, folder: Path) -> None:
        self.day = day
        self.settings = settings
        self.workers = workers
        self.folder = folder
        self.parts = [part.model_copy(update={"policy": day.policy}) for part in day.parts]
        self.spec: dict[str, str]
        if settings.embedded:
            self.spec = {"kind": "file", "folder": str(folder)}
        else:
            assert settings.redis_url
            run = uuid.uuid4().hex[:12]
            self.spec = {"kind": "redis", "url": settings.redis_url, "prefix": settings.redis_prefix, "run": run}
        self.board = board_from(self.spec)

    def run(self, watch: Callable[[list[PartState]], None], *, poll_seconds: float = 0.5) -> dict[str, Any]:
        """Run every part; ``watch`` sees the board as it changes; the city's merged figures are returned."""
        started = time.perf_counter()
        jobs = [(self.spec, index, part.model_dump_json()) for index, part in enumerate(self.parts)]
        if self.settings.embedded:
            states = self._locally(jobs, watch, poll_seconds)
        else:
            states = self._on_workers(jobs, watch, poll_seconds)
        failed = [f"{self.parts[i].name}: {s.error}" for i, s in enumerate(states) if s.error]
        failed += [
            f"{self.parts[i].name}: 未完成 (never finished)"
            for i, s in enumerate(states)
            if s.metrics is None and not s.error
        ]
        if failed:
            raise RuntimeError("; ".join(failed))
        parts = [state.metrics for state in states if state.metrics is not None]
        city = merge(self.day.name, parts)
        city["workers"] = self.workers
        city["wall_seconds"] = round(time.perf_counter() - started, 1)
        return city

    def _wait(
        self, finished: Callable[[], bool], watch: Callable[[list[PartState]], None], poll_seconds: float
    ) -> list[PartState]:
        while True:
            states = self.board.read(len(self.parts))
            watch(states)
            if all(s.metrics is not None or s.error for s in states) or finished():
                return self.board.read(len(self.parts))
            time.sleep(poll_seconds)

    def _locally(
        self, jobs: list[tuple[dict[str, str], int, str]], watch: Callable[[list[PartState]], None], poll: float
    ) -> list[PartState]:
        if self.workers <= 1:  # in this process, one part after another
            for job in jobs:
                _run_part_here(*job)
                watch(self.board.read(len(self.parts)))
            return self.board.read(len(self.parts))
        with ProcessPoolExecutor(
            self.workers, mp_context=get_context("spawn"), initializer=_child, initargs=(loaded(),)
        ) as pool:
            futures = [pool.submit(_run_part_here, *job) for job in jobs]
            return self._wait(lambda: all(f.done() for f in futures), watch, poll)

    def _on_workers(
        self, jobs: list[tuple[dict[str, str], int, str]], watch: Callable[[list[PartState]], None], poll: float
    ) -> list[PartState]:
        from backend.core.celery_app import make_celery

        assert self.settings.redis_url
        celery = make_celery(self.settings.redis_url, self.settings.redis_prefix)
        local = None
        if self.workers > 0:  # workers of our own for this run, beside any already consuming the queue
            local = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "backend.cli",
                    "worker",
                    "--queues",
                    QUEUE,
                    "--concurrency",
                    str(self.workers),
                ],
                env={**os.environ, "ELDERCARE_LOG_LEVEL": "WARNING"},
                stdout=subprocess.DEVNULL,
            )
        try:
            for spec, index, scenario_json in jobs:
                celery.send_task("simulation.run_part", args=[spec, index, scenario_json], queue=QUEUE)
            return self._wait(lambda: local is not None and local.poll() is not None, watch, poll)
        finally:
            if local is not None:
                local.terminate()
                try:
                    local.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    local.kill()
