"""Socket opens spaced out: a storm waits its turn."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from backend.core.pacing import Pacer

pytestmark = pytest.mark.unit


async def test_a_crowd_takes_its_turns_at_the_rate_after_a_short_burst() -> None:
    pacer = Pacer(200, burst=5)
    started = time.monotonic()
    turns: list[float] = []

    async def one() -> None:
        await pacer.turn()
        turns.append(time.monotonic() - started)

    await asyncio.gather(*(one() for _ in range(45)))
    turns.sort()
    assert all(t < 0.02 for t in turns[:5])  # the burst goes at once
    assert 0.18 <= turns[-1] < 0.5  # the other 40 at 200 a second: 0.2 s
    gaps = [b - a for a, b in itertools.pairwise(turns[5:])]
    assert sum(gaps) / len(gaps) > 0.003  # spaced, not all at the end


async def test_a_quiet_pacer_lets_the_next_one_through_at_once() -> None:
    pacer = Pacer(10, burst=2)
    await pacer.turn()
    await asyncio.sleep(0.25)  # unused turns add up (up to the burst)
    started = time.monotonic()
    await pacer.turn()
    await pacer.turn()
    assert time.monotonic() - started < 0.05
