"""Edits of the route matrix (`arrays.Routes`) and the backup that undoes a rejected move."""

from __future__ import annotations

from typing import Any

from backend.planning.kernel.arrays import Backup, ModelArrays, Routes
from backend.planning.kernel.jit import inline
from backend.planning.kernel.rng import below, rnd


@inline
def insert_position(R: Any, L: Any, k: int, start: Any, target: float, rs: Any) -> int:
    """Where to insert into route k: mostly next to the first task starting at `target` or later."""
    n = L[k]
    if rnd(rs) < 0.7:
        pos = 0
        while pos < n and start[R[k, pos]] < target:
            pos += 1
        pos += below(rs, 3) - 1
        if pos < 0:
            pos = 0
        if pos > n:
            pos = n
        return pos
    return below(rs, n + 1)


@inline
def remove_at(R: Any, L: Any, k: int, i: int) -> None:
    """Take the task at position i out of route k."""
    n = L[k]
    for x in range(i, n - 1):
        R[k, x] = R[k, x + 1]
    L[k] = n - 1


@inline
def insert_at(R: Any, L: Any, k: int, i: int, t: int) -> None:
    """Put task t at position i of route k."""
    n = L[k]
    for x in range(n, i, -1):
        R[k, x] = R[k, x - 1]
    R[k, i] = t
    L[k] = n + 1


@inline
def save(rt: Routes, k: int, bk: Backup, nm: int) -> int:
    """Back route k up unless it already is; the number of routes backed up."""
    R, L = rt.R, rt.L
    BK, BL, mods = bk.BK, bk.BL, bk.mods
    for s in range(nm):
        if mods[s] == k:
            return nm
    mods[nm] = k
    BL[nm] = L[k]
    for x in range(L[k]):
        BK[nm, x] = R[k, x]
    return nm + 1


@inline
def reindex(rt: Routes, k: int) -> None:
    """Update where/pos for the tasks of route k."""
    R, L, where, pos = rt.R, rt.L, rt.where, rt.pos
    for x in range(L[k]):
        t = R[k, x]
        where[t] = k
        pos[t] = x


@inline
def restore(rt: Routes, bk: Backup, nm: int) -> None:
    """Put the nm backed-up routes back as they were."""
    R, L = rt.R, rt.L
    BK, BL, mods = bk.BK, bk.BL, bk.mods
    for s in range(nm):
        k = mods[s]
        L[k] = BL[s]
        for x in range(BL[s]):
            R[k, x] = BK[s, x]
    for s in range(nm):
        reindex(rt, mods[s])


@inline
def route_distance(m: ModelArrays, R: Any, L: Any, k: int) -> float:
    """Travel of route k, from her origin back to where her way ends, with the tasks' extra costs."""
    node, dist, extra = m.node, m.dist, m.extra
    prev = m.origin[k]
    total = 0.0
    for x in range(L[k]):
        t = R[k, x]
        n = node[t]
        total += dist[prev, n] + extra[t, k]
        prev = n
    return float(total + dist[prev, m.back[k]])
