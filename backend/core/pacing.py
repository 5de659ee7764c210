"""Spacing work out in time: at most so many starts a second, each waiting its turn instead of all at once.

Twenty thousand phones that lost the network together come back together. Opening a socket is a few milliseconds
of work (the handshake, the sign-in, the channel, what was missed); twenty thousand of them at once would hold the
event loop for a minute while offers and status changes wait behind them. Paced, the sockets open one after another
at a rate the process can afford beside its live traffic, and each phone waits in its handshake until its turn.
A rate alone is not enough when the process cannot afford it (a loaded machine, a slow database): then the opens
under way pile up, every step of each one queued on the loop before the next offer's. So only ``in_flight`` may be
under way at once: a live message waits behind at most that many steps, whatever the storm.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """``await pacer.turn()`` returns at most ``rate`` times a second (a short burst of ``burst`` at once), and to
    at most ``in_flight`` holders at once: each calls the ``done`` it was given when its work is over."""

    def __init__(self, rate: float, *, burst: int = 20, in_flight: int | None = None) -> None:
        self.interval = 1.0 / rate
        self.burst = burst
        self._next = 0.0  # when the next turn comes (monotonic), once the burst is spent
        self.waiting = 0  # turns being waited for now
        self._places = asyncio.Semaphore(in_flight) if in_flight else None

    async def turn(self) -> Callable[[], None]:
        """Wait for a turn; returns ``done``, to be called (once or more) when the work it allowed is over."""
        if self._places is None:
            await self._paced()
            return _nothing
        self.waiting += 1
        try:
            await self._places.acquire()
        finally:
            self.waiting -= 1
        try:
            await self._paced()
        except BaseException:
            self._places.release()
            raise
        return _once(self._places.release)

    async def _paced(self) -> None:
        now = time.monotonic()
        slot = max(self._next, now - self.burst * self.interval)  # unused turns add up, up to a burst
        self._next = slot + self.interval
        if slot > now:
            self.waiting += 1
            try:
                await asyncio.sleep(slot - now)
            finally:
                self.waiting -= 1


def _nothing() -> None:
    return None


def _once(action: Callable[[], None]) -> Callable[[], None]:
    done = False

    def call() -> None:
        nonlocal done
        if not done:
            done = True
            action()

    return call
