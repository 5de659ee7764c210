"""Spacing work out in time: at most so many starts a second, each waiting its turn instead of all at once.

Twenty thousand phones that lost the network together come back together. Opening a socket is a few milliseconds
of work (the handshake, the sign-in, the channel, what was missed); twenty thousand of them at once would hold the
event loop for a minute while offers and status changes wait behind them. Paced, the sockets open one after another
at a rate the process can afford beside its live traffic, and each phone waits in its handshake until its turn.
"""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """``await pacer.turn()`` returns at most ``rate`` times a second (a short burst of ``burst`` at once)."""

    def __init__(self, rate: float, *, burst: int = 20) -> None:
        self.interval = 1.0 / rate
        self.burst = burst
        self._next = 0.0  # when the next turn comes (monotonic), once the burst is spent
        self.waiting = 0  # turns being waited for now

    async def turn(self) -> None:
        now = time.monotonic()
        slot = max(self._next, now - self.burst * self.interval)  # unused turns add up, up to a burst
        self._next = slot + self.interval
        if slot > now:
            self.waiting += 1
            try:
                await asyncio.sleep(slot - now)
            finally:
                self.waiting -= 1
