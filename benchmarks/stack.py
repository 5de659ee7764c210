"""A benchmark's own platform: API, Celery worker and scheduler on a private PostgreSQL database and Redis index,
exactly as the tests run it, quiet in its logs."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from tests.infra import Process, free_port, migrate, platform_env, private_database, private_redis, wait_ready


@contextlib.contextmanager
def private_stack(name: str, *, concurrency: int = 2, **settings: str) -> Iterator[tuple[str, str]]:
    """The API's base URL and the database URL, while the three processes run (stopped afterwards)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
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
            Process(f"{name}-api", ["serve", "--port", str(port)], env),
        ]
        try:
            wait_ready(base, processes[-1])
            yield base, db
        finally:
            for process in processes:
                process.stop()
