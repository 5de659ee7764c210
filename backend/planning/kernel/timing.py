"""The timing pass: earliest start times of every task, fully (`schedule`) or only where a move changed them
(`reschedule`, as `schedule.reschedule`). Both run `settle`, one loop of passes to the least fixed point."""

from __future__ import annotations

from typing import Any

from backend.planning.kernel.arrays import Backup, ModelArrays, Routes
from backend.planning.kernel.jit import inline, separate


@separate
def schedule(m: ModelArrays, rt: Routes, out: Any, first: Any, todo: Any) -> bool:
    """Start times of every task into `out`; False when the passes do not settle."""
    for t in range(out.shape[0]):
        out[t] = m.earliest[t]
    for k in range(first.shape[0]):
        first[k] = 0
    return settle(m, rt, out, first, todo)


@separate
def reschedule(
    m: ModelArrays, rt: Routes, bk: Backup, nm: int, base: Any, out: Any, first: Any, stack: Any, todo: Any
) -> bool:
    """`schedule` reusing `base` (the least fixed point before the move) outside the affected cone.

    The cone: every position from the first changed one of each modified route, then transitively the partners
    of its tasks and their routes from there on (as `schedule.reschedule`); only those tasks are recomputed.
    """
    for t in range(out.shape[0]):
        out[t] = base[t]
    top = _changed_positions(rt, bk, nm, first, stack)
    if not _spread_cone(m, rt, out, first, stack, top):
        return False
    return settle(m, rt, out, first, todo)


@inline
def _changed_positions(rt: Routes, bk: Backup, nm: int, first: Any, stack: Any) -> int:
    """first[k] = the first position the move changed in route k (L[k] if none), each pushed on `stack`."""
    R, L = rt.R, rt.L
    BK, BL, mods = bk.BK, bk.BL, bk.mods
    for k in range(L.shape[0]):
        first[k] = L[k]
    top = 0
    for s in range(nm):
        k = mods[s]
        i = 0
        n = min(L[k], BL[s])
        while i < n and R[k, i] == BK[s, i]:
            i += 1
        if i < first[k]:
            first[k] = i
            stack[top, 0] = k
            stack[top, 1] = i
            top += 1
    return top


@inline
def _spread_cone(m: ModelArrays, rt: Routes, out: Any, first: Any, stack: Any, top: int) -> bool:
    """Lower `first` to the partners of the cone's tasks, transitively; reset the cone's tasks to earliest."""
    R, L, where, pos = rt.R, rt.L, rt.where, rt.pos
    earliest, partner = m.earliest, m.partner
    while top > 0:
        top -= 1
        k = stack[top, 0]
        i = stack[top, 1]
        if first[k] < i:
            continue
        for x in range(i, L[k]):
            t = R[k, x]
            out[t] = earliest[t]
            p = partner[t]
            if p >= 0:
                kp = where[p]
                j = pos[p]
                if j < first[kp]:
                    first[kp] = j
                    if top >= stack.shape[0]:
                        return False  # cannot happen: each push lowers a first position
                    stack[top, 0] = kp
                    stack[top, 1] = j
                    top += 1
    return True


@inline
def settle(m: ModelArrays, rt: Routes, out: Any, first: Any, todo: Any) -> bool:
    """Re-time each route from first[k] on, pass after pass, until every pair of a double service agrees.

    False when `max_passes` do not settle it, or when a pair needs a task before `first` to move (a violation
    outside the recomputed cone cannot be repaired here).
    """
    R, L = rt.R, rt.L
    K = L.shape[0]
    for k in range(K):
        todo[k] = 1 if first[k] < L[k] else 0
    for _ in range(m.max_passes):
        for k in range(K):
            if todo[k] == 0:
                continue
            _time_route(m, R, L, k, first[k], out)
        for k in range(K):
            todo[k] = 0
        status = _mark_pair_violations(m, rt, out, first, todo)
        if status == 0:
            return True
        if status < 0:
            return False
    return False


@inline
def _time_route(m: ModelArrays, R: Any, L: Any, k: int, i: int, out: Any) -> None:
    """Earliest starts along route k from position i on, after its predecessor (or the shift start)."""
    node, dur, dist = m.node, m.dur, m.dist
    partner, kind, gmin, gmax = m.partner, m.kind, m.gmin, m.gmax
    if i > 0:
        pv = R[k, i - 1]
        prev = node[pv]
        ready = out[pv] + dur[pv]
    else:
        prev = m.origin[k]
        ready = m.shift_start[k]
    for x in range(i, L[k]):
        t = R[k, x]
        n = node[t]
        s = ready + dist[prev, n]
        if s < out[t]:
            s = out[t]
        p = partner[t]
        if p >= 0:
            kd = kind[t]
            if kd == 1:
                lb = out[p]
            elif kd == 2:
                lb = out[p] - gmax[t]
            else:
                lb = out[p] + gmin[t]
            if lb > s:
                s = lb
        out[t] = s
        ready = s + dur[t]
        prev = n


@inline
def _mark_pair_violations(m: ModelArrays, rt: Routes, out: Any, first: Any, todo: Any) -> int:
    """Mark the route of each task its partner's start pushes later: 0 none, 1 some, -1 one before `first`."""
    where, pos = rt.where, rt.pos
    kind, gmin, gmax = m.kind, m.gmin, m.gmax
    bad = False
    for q in range(m.pf.shape[0]):
        f = m.pf[q]
        g = m.pg[q]
        sf = out[f]
        sg = out[g]
        v = -1
        if kind[f] == 1:
            if sf > sg + 1e-9:
                v = g
            elif sg > sf + 1e-9:
                v = f
        elif sg < sf + gmin[g] - 1e-9:
            v = g
        elif sf < sg - gmax[f] - 1e-9:
            v = f
        if v >= 0:
            kv = where[v]
            if pos[v] < first[kv]:
                return -1
            todo[kv] = 1
            bad = True
    return 1 if bad else 0
