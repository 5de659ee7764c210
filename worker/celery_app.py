"""The Celery app: Redis broker; each task runs the registered async function on a per-process loop."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_shutdown

from backend.core.celery_app import make_celery
from backend.core.config import Settings
from backend.core.metrics import process_died


class _ProcessState:
    """One event loop and runtime per worker process, made after the fork."""

    pid: int | None = None
    loop: asyncio.AbstractEventLoop | None = None
    runtime: Any = None


_state = _ProcessState()


def _run(settings: Settings, name: str, args: tuple[Any, ...], request_id: str | None) -> Any:
    from backend.core.jobs import in_task_context, run_task
    from backend.core.runtime import Runtime

    if _state.pid != os.getpid() or _state.loop is None:
        _state.pid = os.getpid()
        _state.loop = asyncio.new_event_loop()
        _state.runtime = Runtime(settings, role="worker")
        _state.loop.run_until_complete(_state.runtime.start())

    async def run() -> Any:
        in_task_context(request_id, name)
        return await run_task(_state.runtime, name, args, asked=request_id is not None)

    return _state.loop.run_until_complete(run())


def build_worker_app(settings: Settings) -> Celery:
    """The worker's Celery app with every registered task bound to it."""
    from worker.registry import REGISTRY

    assert settings.redis_url, "the Celery worker needs ELDERCARE_REDIS_URL"
    app = make_celery(settings.redis_url, settings.redis_prefix)
    for name in REGISTRY:

        def runner(self: Task, *args: Any, _name: str = name) -> Any:
            # The enqueuing request's id, sent as a message header (``CeleryJobs.enqueue``).
            return _run(settings, _name, args, getattr(self.request, "eldercare_request_id", None))

        app.task(name=name, acks_late=True, bind=True)(runner)

    worker_process_shutdown.connect(_child_gone, weak=False)
    return app


def _child_gone(pid: int | None = None, **_: Any) -> None:
    """A worker child exits: its share of the live gauges is dropped."""
    process_died(pid or os.getpid())
