"""The annealing loop: propose a move, skip it when its travel alone cannot be accepted, re-time the rest
incrementally and accept by the annealing rule. `run` is the entry point that `fast` compiles."""

from __future__ import annotations

import math
from typing import Any

from backend.planning.kernel.arrays import Backup, Buffers, ModelArrays, Routes, SearchState
from backend.planning.kernel.jit import inline
from backend.planning.kernel.moves import propose
from backend.planning.kernel.rng import rnd
from backend.planning.kernel.routes import reindex, restore, route_distance
from backend.planning.kernel.timing import reschedule, schedule


def run(m: ModelArrays, rt: Routes, bk: Backup, buf: Buffers, st: SearchState, n_iter: int) -> bool:
    """Run up to `n_iter` iterations; False once the work budget is spent (see `arrays.SearchState`)."""
    params, counters, cur = st.params, st.counters, st.cur
    it_cost = params[0]
    eval_cost = params[1]
    budget = params[2]
    it = int(counters[0])
    evals = int(counters[1])
    work = counters[2]
    temp = _temperature(params, work / budget)
    for _ in range(n_iter):
        if it & 127 == 0:
            done = work / budget
            if done >= 1.0:
                _store(counters, it, evals, work)
                return False
            temp = _temperature(params, done)
        it += 1
        work += it_cost
        nm = propose(m, rt, bk, st.start, st.rs, st.cum)
        if nm == 0:
            continue
        for s in range(nm):
            reindex(rt, bk.mods[s])
        distance = _travel(m, rt, bk, nm, buf.newd, st.rdist, cur[0])
        limit = cur[4] - temp * math.log(1.0 - rnd(st.rs))
        if distance / 3.0 >= limit:
            restore(rt, bk, nm)
            continue
        evals += 1
        work += eval_cost
        if not _retime(m, rt, bk, nm, buf, st):
            restore(rt, bk, nm)
            continue
        tt_sum, mt = _tardiness(buf.scratch, m.latest)
        ot = _overtime(m, rt, buf.scratch)
        cost = (distance + tt_sum + mt + params[6] * ot) / 3.0
        if cost >= limit:
            restore(rt, bk, nm)
            continue
        _accept(rt, bk, nm, buf, st, distance, tt_sum, mt, ot, cost)
    _store(counters, it, evals, work)
    return True


@inline
def _temperature(params: Any, done: float) -> float:
    """The temperature once `done` of the budget is spent (never below the time progress floor)."""
    return float(params[3] * math.exp(params[4] * max(done, params[5])))


@inline
def _store(counters: Any, it: int, evals: int, work: float) -> None:
    """Keep the loop's counters for the next call."""
    counters[0] = it
    counters[1] = evals
    counters[2] = work


@inline
def _travel(m: ModelArrays, rt: Routes, bk: Backup, nm: int, newd: Any, rdist: Any, distance: float) -> float:
    """Total travel after the move, each changed route's new travel into `newd`."""
    for s in range(nm):
        k = bk.mods[s]
        newd[s] = route_distance(m, rt.R, rt.L, k)
        distance += newd[s] - rdist[k]
    return distance


@inline
def _retime(m: ModelArrays, rt: Routes, bk: Backup, nm: int, buf: Buffers, st: SearchState) -> bool:
    """Start times after the move into `buf.scratch`; False when the changed routes cannot be timed."""
    ok: bool = reschedule(m, rt, bk, nm, st.start, buf.scratch, buf.first, buf.stack, buf.todo)
    if st.params[7] > 0.0:  # tests: the incremental pass agrees with the full one
        full = schedule(m, rt, buf.check, buf.first, buf.todo)
        if full != ok:
            st.counters[4] += 1
        elif ok:
            for x in range(buf.check.shape[0]):
                if abs(buf.check[x] - buf.scratch[x]) > 1e-6:
                    st.counters[3] += 1
                    break
    return ok


@inline
def _tardiness(start: Any, latest: Any) -> tuple[float, float]:
    """Total and largest lateness past the tasks' latest starts."""
    tt_sum = 0.0
    mt = 0.0
    for x in range(start.shape[0]):
        d = start[x] - latest[x]
        if d > 0.0:
            tt_sum += d
            if d > mt:
                mt = d
    return tt_sum, mt


@inline
def _overtime(m: ModelArrays, rt: Routes, start: Any) -> float:
    """Minutes worked past the shift end, summed over the caregivers with one."""
    ot = 0.0
    for s in range(m.shifted.shape[0]):
        k = m.shifted[s]
        end = m.shift_end[k]
        for x in range(rt.L[k] - 1, -1, -1):
            t = rt.R[k, x]
            over = start[t] + m.dur[t] - end
            if over <= 0.0:
                break
            ot += over
    return ot


@inline
def _accept(
    rt: Routes,
    bk: Backup,
    nm: int,
    buf: Buffers,
    st: SearchState,
    distance: float,
    tt_sum: float,
    mt: float,
    ot: float,
    cost: float,
) -> None:
    """Make the move's times, travel and cost current; keep the routes when they are the best so far."""
    start, cur = st.start, st.cur
    for x in range(start.shape[0]):
        start[x] = buf.scratch[x]
    for s in range(nm):
        st.rdist[bk.mods[s]] = buf.newd[s]
    cur[0] = distance
    cur[1] = tt_sum
    cur[2] = mt
    cur[3] = ot
    cur[4] = cost
    if cost < st.best[0] - 1e-9:
        st.best[0] = cost
        R, L = rt.R, rt.L
        for k in range(L.shape[0]):
            st.BLn[k] = L[k]
            for x in range(L[k]):
                st.BR[k, x] = R[k, x]
