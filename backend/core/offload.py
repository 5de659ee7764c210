"""CPU-bound work away from the event loop: one solve, one large computation, never on the loop that serves.

In an API process, work goes to a small pool of processes (two at most, started on first use, with ``spawn``: no
inherited sockets or loops), so a day plan's seconds of solving leave the loop free for every other request and socket.
Elsewhere (a Celery worker's child, which may not have children; the CLI) it goes to a thread. The function and its
arguments must be picklable: module-level functions and plain data.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")
WORKERS = min(2, os.cpu_count() or 1)  # an import need not wait for a day plan's seconds of solving


class _Offload:
    processes = False
    pool: ProcessPoolExecutor | None = None


_state = _Offload()
_preloaded: list[str] = []  # modules the pool's processes import as they start (``preload``)


def use_processes(enabled: bool) -> None:
    """An API process sends CPU-bound work to processes; any other to threads (``Runtime`` says which)."""
    _state.processes = enabled


def preload(module: str) -> None:
    """A module whose functions run in the pool (``compute``) asks for itself to be imported there as the pool
    starts, so the first import or plan does not wait for it (``preload(__name__)`` at the module's top level)."""
    if module not in _preloaded:
        _preloaded.append(module)


def warm() -> None:
    """Start the pool's processes now (an API starting), so that the first import or plan does not wait seconds
    for them to start and import what they run."""
    if _state.processes:
        for _ in range(WORKERS):
            _pool().submit(_prepare, tuple(_preloaded))


def _prepare(modules: tuple[str, ...]) -> None:
    for module in modules:
        importlib.import_module(module)


def _pool() -> ProcessPoolExecutor:
    if _state.pool is None:
        _state.pool = ProcessPoolExecutor(
            max_workers=WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_follow_parent,
            initargs=(os.getpid(),),
        )
    return _state.pool


def _follow_parent(parent: int) -> None:
    """A pool process ends with its API: one killed outright (no shutdown to stop the pool) must not leave
    processes behind it, each holding a copy of the platform's modules."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="offload-parent-watch", daemon=True).start()


async def compute(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` off the event loop."""
    job = partial(fn, *args, **kwargs)
    if not _state.processes:
        return await anyio.to_thread.run_sync(job)
    return await asyncio.get_running_loop().run_in_executor(_pool(), job)


def shutdown() -> None:
    """Stop the pool's processes (the API is stopping)."""
    if _state.pool is not None:
        _state.pool.shutdown(wait=False, cancel_futures=True)
        _state.pool = None
