"""Lookups asked for by many coroutines at once, answered by one query.

Thousands of phones reconnecting together each need their account, their caregiver record and where their channel
stands. Asked one by one, that is a session and a round trip each; through a ``Batcher`` the keys asked for while
a query is out wait for it to come back and then go in one ``IN (...)`` query together. Under light load a lookup
goes at once (a batch of one); under a storm batches grow by themselves, and no lookup waits more than one query.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
log = logging.getLogger(__name__)


class Batcher(Generic[K, V]):
    """``await batcher.get(key)``: the value ``fetch`` finds for the key (None when it finds none)."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[dict[K, V]]], *, max_batch: int = 1000) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._running: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._running is None:
            # After the callbacks already due in this turn of the loop, so that what they ask for joins the batch.
            self._running = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: dict[K, list[asyncio.Future[V | None]]] = {}
        try:
            await asyncio.sleep(0)
            while self._waiting:
                keys = list(self._waiting)[: self._max_batch]
                batch = {key: self._waiting.pop(key) for key in keys}
                try:
                    found = await self._fetch(keys)
                except Exception as exc:  # every waiter of the batch hears it; the next batch tries again
                    _settle(batch, error=exc)
                    continue
                _settle(batch, found=found)
        except asyncio.CancelledError:  # stopping: nobody is left to answer what is still waiting
            _settle(batch | self._waiting, error=None)
            self._waiting.clear()
            raise
        finally:
            self._running = None


def _settle(
    batch: dict[K, list[asyncio.Future[V | None]]],
    *,
    found: dict[K, V] | None = None,
    error: BaseException | None = None,
) -> None:
    """Answer each waiter: its key's value, or the error (or a cancellation, with neither)."""
    for key, futures in batch.items():
        for future in futures:
            if future.done():
                continue
            if found is not None:
                future.set_result(found.get(key))
            elif error is not None:
                future.set_exception(error)
            else:
                future.cancel()
