"""Shared fixtures: the real stack (API, Celery worker, scheduler on PostgreSQL and Redis), and for the fast tier
(``make unit``, tests marked ``unit``) a runtime and a rolled-back session on the suite's database."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

import worker.registry  # noqa: F401  (the suite's in-process runtimes run every task)
from backend.core.config import Settings
from backend.core.runtime import Runtime
from tests.client import ADMIN_PASSWORD, Api, World
from tests.infra import Process, free_port, migrated_database, platform_env, private_redis, wait_ready

# Short clocks so deadlines pass within a test.
STACK_SETTINGS = {
    "ELDERCARE_OFFER_SECONDS_NORMAL": "4",
    "ELDERCARE_OFFER_SECONDS_URGENT": "4",
    "ELDERCARE_OFFER_SECONDS_EMERGENCY": "20",
    "ELDERCARE_OFFER_FANOUT_EMERGENCY": "25",
    "ELDERCARE_SWEEP_SECONDS": "0.5",
    "ELDERCARE_RELAY_SWEEP_SECONDS": "1",
    "ELDERCARE_CHECKIN_RADIUS_M": "300",
    "ELDERCARE_EMERGENCY_ESCALATE_SECONDS": "8",
    "ELDERCARE_FAIRNESS_CACHE_SECONDS": "0",
    "ELDERCARE_STALLED_SECONDS": "2",
    "ELDERCARE_WAITING_RECHECK_SECONDS": "2",
    # The apps' SOS button per elder: small enough for a test to reach (tests/e2e/test_app_api.py).
    "ELDERCARE_SOS_LIMIT": "5/10 minutes",
    # A ladder fast enough to watch climb: two seconds a rung, the last until someone acts.
    "ELDERCARE_EMERGENCY_LADDER": json.dumps(
        [{"code": c, "seconds": 2} for c in ("operator_callback", "family", "community_staff", "caregiver")]
        + [{"code": "public_emergency", "seconds": 0}]
    ),
}


UNIT = "pytest.mark.unit"


def _marks_unit(path: Path) -> bool:
    """Whether a test file, or any test file under a folder, marks a test ``unit``."""
    files = [path] if path.is_file() else path.rglob("test_*.py")
    return any(UNIT in file.read_text(encoding="utf-8") for file in files)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``-m unit`` (make unit) imports only the files that mark tests ``unit``, not every module of the suite: the
    others (browsers, fuzzers, stacks) would take seconds to import for nothing."""
    if config.option.markexpr != "unit" or collection_path == Path(config.rootpath, "tests"):
        return None
    if collection_path.is_file() and not collection_path.name.startswith("test_"):
        return None
    return None if _marks_unit(collection_path) else True


@dataclass
class Stack:
    base_url: str
    database_url: str
    redis_url: str
    processes: dict[str, Process]
    worker_metrics_url: str = ""
    scheduler_metrics_url: str = ""


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with private_redis() as url:
        yield url


@contextmanager
def running_stack(database_url: str, redis_url: str, *, name: str = "", **settings: str) -> Iterator[Stack]:
    """``eldercare serve``, ``eldercare worker`` and ``eldercare scheduler`` as separate processes."""
    port, worker_metrics, scheduler_metrics = free_port(), free_port(), free_port()
    env = platform_env(
        **{
            "ELDERCARE_DATABASE_URL": database_url,
            "ELDERCARE_REDIS_URL": redis_url,
            "ELDERCARE_REDIS_PREFIX": f"eldercare-test-{uuid.uuid4().hex[:8]}",
            "ELDERCARE_WORKER_METRICS_PORT": str(worker_metrics),
            "ELDERCARE_SCHEDULER_METRICS_PORT": str(scheduler_metrics),
            **STACK_SETTINGS,
            **settings,
        }
    )
    processes = {
        "worker": Process(f"{name}worker", ["worker", "--concurrency", "2"], env),
        "scheduler": Process(f"{name}scheduler", ["scheduler"], env),
        "api": Process(f"{name}api", ["serve", "--port", str(port)], env),
    }
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, processes["api"])
        yield Stack(
            base_url,
            database_url,
            redis_url,
            processes,
            worker_metrics_url=f"http://127.0.0.1:{worker_metrics}/metrics",
            scheduler_metrics_url=f"http://127.0.0.1:{scheduler_metrics}/metrics",
        )
    finally:
        for process in processes.values():
            process.stop()


@pytest.fixture(scope="session")
def stack(database_url: str, redis_url: str) -> Iterator[Stack]:
    with running_stack(database_url, redis_url) as running:
        yield running


@pytest.fixture(scope="session")
async def admin(stack: Stack) -> AsyncIterator[Api]:
    api = await Api.login(stack.base_url, "admin", ADMIN_PASSWORD)
    yield api
    await api.close()


@pytest.fixture
async def make_world(stack: Stack, admin: Api) -> AsyncIterator[Callable[..., Awaitable[World]]]:
    """Build isolated worlds (own district, community, provider, caregivers, elders)."""
    worlds: list[World] = []

    async def build(**kw: Any) -> World:
        world = await World.build(stack.base_url, admin, **kw)
        worlds.append(world)
        return world

    yield build
    for world in worlds:
        await world.close()


@pytest.fixture(scope="module")
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    """A runtime on the suite's database, for tests that call the services directly."""
    runtime = Runtime(Settings(database_url=database_url, redis_url=None, environment="test"), role="cli")
    yield runtime
    await runtime.stop()


@pytest.fixture
async def session(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    """A session on the suite's database, inside a transaction rolled back after the test: what the test writes no
    other test sees, and nothing is left behind (SQLAlchemy's "joining a session into an external transaction"; a
    commit inside only releases a savepoint). Work waiting for a commit (jobs, event relays) never runs."""
    async with runtime.engine.connect() as connection:
        outer = await connection.begin()
        session = AsyncSession(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            info={"runtime": runtime},
        )
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()
