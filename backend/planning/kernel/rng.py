"""The kernel's random stream (xorshift64*), one uint64 of state in a one-element array."""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.planning.kernel.jit import inline


def seed_state(seed: int) -> Any:
    """The stream's state for `seed` (never zero)."""
    return np.array([(seed * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) % (1 << 64) or 1], dtype=np.uint64)


@inline
def rnd(rs: Any) -> float:
    """The next number in [0, 1)."""
    x = rs[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rs[0] = x
    return float((x * np.uint64(2685821657736338717)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@inline
def below(rs: Any, n: int) -> int:
    """The next integer in [0, n)."""
    v = int(rnd(rs) * n)
    return v if v < n else n - 1
