"""Background jobs: one registry of async task functions, run by Celery or in-process.

Tasks take ids, open their own session, and are idempotent. They have dotted names
(``"dispatch.run_round"``). ``enqueue_after_commit`` is how services ask for one: nothing is
enqueued for a transaction that rolled back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import current, open_context, request_id_from
from backend.core.db import after_commit
from backend.core.metrics import TASKS

if TYPE_CHECKING:
    from backend.core.runtime import Runtime

log = logging.getLogger(__name__)
TaskFn = Callable[..., Awaitable[Any]]
REGISTRY: dict[str, TaskFn] = {}


def task(name: str) -> Callable[[TaskFn], TaskFn]:
    """Register an async function ``fn(runtime, *args)`` as the task ``name``."""

    def register(fn: TaskFn) -> TaskFn:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise RuntimeError(f"task {name} registered twice")
        REGISTRY[name] = fn
        return fn

    return register


async def run_task(runtime: Runtime, name: str, args: tuple[Any, ...], *, asked: bool = False) -> Any:
    """Run a registered task (a worker's, or the embedded one's), counted, with a heartbeat when it succeeds.

    ``asked``: a request enqueued it (its log line, with that request's id, is then worth writing; the scheduler's
    sweeps, every few seconds, log at debug)."""
    started = time.perf_counter()
    try:
        result = await REGISTRY[name](runtime, *args)
    except Exception:
        TASKS.labels(name, "failed").inc()
        raise
    TASKS.labels(name, "ok").inc()
    await runtime.heartbeats.beat(f"task:{name}", "worker")
    log.log(
        logging.INFO if asked else logging.DEBUG,
        "task %s done in %.1f ms",
        name,
        (time.perf_counter() - started) * 1000,
    )
    return result


def in_task_context(request_id: str | None, name: str) -> None:
    """Logs of a task carry the id of the request that enqueued it (or a new one) and the task's name."""
    open_context(request_id_from(request_id), "", f"task {name}")


def enqueuing_request_id() -> str | None:
    """The id of the request being served, to travel with the tasks it enqueues."""
    context = current()
    return context.request_id if context else None


class JobQueue(Protocol):
    def enqueue(self, name: str, *args: Any, countdown: float = 0) -> None: ...
    async def stop(self) -> None: ...


def enqueue_after_commit(session: AsyncSession, name: str, *args: Any, countdown: float = 0) -> None:
    """Enqueue a task once the current transaction has committed."""
    runtime: Runtime | None = session.info.get("runtime")
    if runtime is None:
        raise RuntimeError("session has no runtime")
    key = f"job:{name}:{args!r}"
    after_commit(session, lambda: runtime.jobs.enqueue(name, *args, countdown=countdown), key=key)


class InProcessJobs:
    """The embedded worker: tasks run as asyncio tasks in the serving process."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._running: set[asyncio.Task[None]] = set()

    def enqueue(self, name: str, *args: Any, countdown: float = 0) -> None:
        """Run the task soon in this process."""
        if name not in REGISTRY:
            raise KeyError(f"unknown task {name}")
        job = asyncio.get_running_loop().create_task(self._run(name, args, countdown), name=name)
        self._running.add(job)
        job.add_done_callback(self._running.discard)

    async def _run(self, name: str, args: tuple[Any, ...], countdown: float) -> None:
        if countdown > 0:
            await asyncio.sleep(countdown)
        try:
            # The request's context came with the asyncio task (none for the scheduler's sweeps).
            await run_task(self._runtime, name, args, asked=current() is not None)
        except Exception:
            log.exception("task %s%r failed", name, args)

    async def stop(self) -> None:
        """Cancel what is still running."""
        for job in tuple(self._running):
            job.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)


class CeleryJobs:
    """Tasks go to the Celery workers through the Redis broker, sent by a thread of their own in the order asked:
    sending is blocking work (and waits out a broker that blinks), which must not hold the event loop."""

    def __init__(self, broker_url: str, prefix: str) -> None:
        from backend.core.celery_app import make_celery

        self._celery = make_celery(broker_url, prefix)
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celery-send")

    def enqueue(self, name: str, *args: Any, countdown: float = 0) -> None:
        """Send the task to the broker soon, with the id of the request that asked for it."""
        headers = {"eldercare_request_id": enqueuing_request_id()}
        self._sender.submit(self._send, name, list(args), countdown or None, headers)

    def _send(self, name: str, args: list[Any], countdown: float | None, headers: dict[str, Any]) -> None:
        try:
            self._celery.send_task(name, args=args, countdown=countdown, headers=headers)
        except Exception:  # the order is in the database: the sweeps find what was never sent
            log.exception("could not send task %s%r to the broker", name, tuple(args))

    async def stop(self) -> None:
        """Send what is still waiting, then stop the sender."""
        await asyncio.to_thread(self._sender.shutdown, wait=True)
