"""A benchmark's own platform: API(s), Celery worker and scheduler on a private PostgreSQL database and Redis index,
exactly as the tests run it, quiet in its logs."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from tests.infra import Process, free_port, migrate, platform_env, private_database, private_redis, wait_ready


@dataclass
class BenchStack:
    """The API processes' base URLs and the database URL; unpacks as ``base, db`` (the first API)."""

    bases: list[str]
    db: str

    def __iter__(self) -> Iterator[str]:
        return iter((self.bases[0], self.db))


@contextlib.contextmanager
def private_stack(name: str, *, concurrency: int = 2, apis: int = 1, **settings: str) -> Iterator[BenchStack]:
    """``apis`` API processes (behind no balancer: each on its own port), a worker and a scheduler, while they run."""
    ports = [free_port() for _ in range(apis)]
    with private_database() as db, private_redis() as redis_url:
        migrate(db)
        env = platform_env(
            ELDERCARE_DATABASE_URL=db,
            ELDERCARE_REDIS_URL=redis_url,
            ELDERCARE_REDIS_PREFIX=f"bench-{uuid.uuid4().hex[:8]}",
            ELDERCARE_LOG_LEVEL="WARNING",
            **settings,
        )
        processes = [
            Process(f"{name}-worker", ["worker", "--concurrency", str(concurrency)], env),
            Process(f"{name}-scheduler", ["scheduler"], env),
            *(Process(f"{name}-api{i}", ["serve", "--port", str(port)], env) for i, port in enumerate(ports)),
        ]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            for base, process in zip(bases, processes[2:], strict=True):
                wait_ready(base, process)
            yield BenchStack(bases, db)
        finally:
            for process in processes:
                process.stop()
