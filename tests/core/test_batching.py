"""Lookups asked for together go to the database together."""

from __future__ import annotations

import asyncio

import pytest

from backend.core.batching import Batcher

pytestmark = pytest.mark.unit


async def test_lookups_asked_together_are_answered_by_one_fetch_and_later_ones_by_the_next() -> None:
    fetched: list[list[int]] = []
    release = asyncio.Event()

    async def fetch(keys: list[int]) -> dict[int, str]:
        fetched.append(sorted(keys))
        await release.wait()
        return {k: f"user {k}" for k in keys if k != 13}

    batcher: Batcher[int, str] = Batcher(fetch)
    first = [asyncio.create_task(batcher.get(k)) for k in (1, 2, 2, 3, 13)]
    await asyncio.sleep(0.01)  # the first batch is out: these wait for it, then go together
    later = [asyncio.create_task(batcher.get(k)) for k in (4, 5, 1)]
    await asyncio.sleep(0.01)
    assert fetched == [[1, 2, 3, 13]]
    release.set()
    assert await asyncio.gather(*first) == ["user 1", "user 2", "user 2", "user 3", None]
    assert await asyncio.gather(*later) == ["user 4", "user 5", "user 1"]
    assert fetched == [[1, 2, 3, 13], [1, 4, 5]]


async def test_a_failed_fetch_fails_its_batch_only() -> None:
    calls = 0

    async def fetch(keys: list[str]) -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("the database blinked")
        return {k: len(k) for k in keys}

    batcher: Batcher[str, int] = Batcher(fetch)
    with pytest.raises(ConnectionError):
        await asyncio.gather(batcher.get("a"), batcher.get("bb"))
    assert await batcher.get("ccc") == 3


async def test_a_large_crowd_is_split_into_batches_of_the_largest_size() -> None:
    sizes: list[int] = []

    async def fetch(keys: list[int]) -> dict[int, int]:
        sizes.append(len(keys))
        return {k: k for k in keys}

    batcher: Batcher[int, int] = Batcher(fetch, max_batch=100)
    assert await asyncio.gather(*(batcher.get(k) for k in range(250))) == list(range(250))
    assert sizes == [100, 100, 50]
