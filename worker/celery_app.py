"""The Celery app: Redis broker; each task runs the registered async function on a per-process loop."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from celery import Celery

from backend.core.config import Settings


def make_celery(broker_url: str) -> Celery:
    """A Celery app for sending or running the platform's tasks."""
    app = Celery("eldercare", broker=broker_url)
    app.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        broker_transport_options={"visibility_timeout": 3600},
    )
    return app


class _ProcessState:
    """One event loop and runtime per worker process, made after the fork."""

    pid: int | None = None
    loop: asyncio.AbstractEventLoop | None = None
    runtime: Any = None


_state = _ProcessState()


def _run(settings: Settings, name: str, args: tuple[Any, ...]) -> Any:
    from backend.core.runtime import Runtime
    from worker.registry import REGISTRY

    if _state.pid != os.getpid() or _state.loop is None:
        _state.pid = os.getpid()
        _state.loop = asyncio.new_event_loop()
        _state.runtime = Runtime(settings, role="worker")
        _state.loop.run_until_complete(_state.runtime.start())
    return _state.loop.run_until_complete(REGISTRY[name](_state.runtime, *args))


def build_worker_app(settings: Settings) -> Celery:
    """The worker's Celery app with every registered task bound to it."""
    from worker.registry import REGISTRY

    assert settings.redis_url, "the Celery worker needs ELDERCARE_REDIS_URL"
    app = make_celery(settings.redis_url)
    for name in REGISTRY:

        def runner(*args: Any, _name: str = name) -> Any:
            return _run(settings, _name, args)

        app.task(name=name, acks_late=True)(runner)
    return app
