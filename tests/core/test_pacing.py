"""Socket opens spaced out: a storm waits its turn."""

from __future__ import annotations

import asyncio
import itertools
import time

from backend.core.pacing import Pacer


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


async def test_only_so_many_hold_a_turn_at_once_and_done_frees_a_place_once() -> None:
    pacer = Pacer(1000, burst=10, in_flight=2)
    first = await pacer.turn()
    second = await pacer.turn()
    third = asyncio.create_task(pacer.turn())
    await asyncio.sleep(0.05)
    assert not third.done() and pacer.waiting == 1  # both places taken, however fast the rate
    first()
    first()  # twice is still once: the second call frees nothing more
    done_third = await asyncio.wait_for(third, 1)
    fourth = asyncio.create_task(pacer.turn())
    await asyncio.sleep(0.05)
    assert not fourth.done()
    second()
    await asyncio.wait_for(fourth, 1)
    done_third()


async def test_a_turn_cancelled_while_waiting_takes_no_place() -> None:
    pacer = Pacer(1000, burst=10, in_flight=1)
    held = await pacer.turn()
    waiting = asyncio.create_task(pacer.turn())
    await asyncio.sleep(0.02)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    held()
    again = await asyncio.wait_for(pacer.turn(), 1)  # the place is free, not lost to the cancelled one
    again()
