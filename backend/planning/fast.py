"""Compiled simulated annealing: the inner loop of `search.anneal` on flat arrays, with numba when installed.

The kernel keeps routes as rows of an integer matrix, proposes the same kinds of moves as `moves.py` (relocate,
swap, pair move, segment reversal, tail exchange) with its own random stream (xorshift64*), skips a proposal
whose travel alone cannot be accepted, re-times the others incrementally (`_reschedule`, as
`schedule.reschedule`) and accepts by the annealing rule. Work is counted in modelled microseconds
(`work_costs_fast`), so a seed gives the same result when the machine keeps up with the budget. Without numba (or
with ELDERCARE_PLANNER_JIT=0) `available()` is False and the solver uses the pure-Python annealing of `search.py`.
The compiled code is cached on disk (numba's cache, next to this file): the first run on a machine compiles it
(about 15-30 s), later processes load it in well under a second.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np

from backend.planning.schedule import OVERTIME_WEIGHT, SEQ_FIRST, SIMULTANEOUS, Model

try:  # pragma: no cover - depends on the environment
    import numba

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    _HAVE_NUMBA = False

# Iterations per call of the kernel (the deadline is checked between calls: a few milliseconds apart).
CHUNK = 2000
# Move weights: relocate, swap, pair move, segment reversal, tail exchange (as search.MOVES).
WEIGHTS = (0.40, 0.25, 0.15, 0.08, 0.12)


def available() -> bool:
    """Whether the compiled kernel can be used (numba installed and not switched off)."""
    return _HAVE_NUMBA and os.environ.get("ELDERCARE_PLANNER_JIT", "1") != "0"


def work_costs_fast(n_tasks: int) -> tuple[float, float]:
    """Modelled microseconds per compiled iteration and per compiled schedule evaluation (reference machine).

    Calibrated against `search.work_costs` (the pure-Python annealing on the same budget, same machine, 13 to
    130 tasks), the kernel taking about the time the Python loop takes for the same modelled work.
    """
    return 0.1 + 0.0006 * n_tasks, 0.25 + 0.006 * n_tasks


# ---------------------------------------------------------------------------------------------------------------
# Kernel (plain Python functions, compiled by numba in `_compiled`).


def _rnd(rs: Any) -> float:
    x = rs[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rs[0] = x
    return float((x * np.uint64(2685821657736338717)) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def _below(rs: Any, n: int) -> int:
    v = int(_rnd(rs) * n)
    return v if v < n else n - 1


def _insert_position(R: Any, L: Any, k: int, start: Any, target: float, rs: Any) -> int:
    n = L[k]
    if _rnd(rs) < 0.7:
        pos = 0
        while pos < n and start[R[k, pos]] < target:
            pos += 1
        pos += _below(rs, 3) - 1
        if pos < 0:
            pos = 0
        if pos > n:
            pos = n
        return pos
    return _below(rs, n + 1)


def _remove_at(R: Any, L: Any, k: int, i: int) -> None:
    n = L[k]
    for x in range(i, n - 1):
        R[k, x] = R[k, x + 1]
    L[k] = n - 1


def _insert_at(R: Any, L: Any, k: int, i: int, t: int) -> None:
    n = L[k]
    for x in range(n, i, -1):
        R[k, x] = R[k, x - 1]
    R[k, i] = t
    L[k] = n + 1


def _save(R: Any, L: Any, k: int, BK: Any, BL: Any, mods: Any, nm: int) -> int:
    for s in range(nm):
        if mods[s] == k:
            return nm
    mods[nm] = k
    BL[nm] = L[k]
    for x in range(L[k]):
        BK[nm, x] = R[k, x]
    return nm + 1


def _reindex(R: Any, L: Any, k: int, where: Any, pos: Any) -> None:
    for x in range(L[k]):
        t = R[k, x]
        where[t] = k
        pos[t] = x


def _restore(R: Any, L: Any, BK: Any, BL: Any, mods: Any, nm: int, where: Any, pos: Any) -> None:
    for s in range(nm):
        k = mods[s]
        L[k] = BL[s]
        for x in range(BL[s]):
            R[k, x] = BK[s, x]
    for s in range(nm):
        _reindex(R, L, mods[s], where, pos)


def _route_distance(R: Any, L: Any, k: int, node: Any, dist: Any, origin: Any, back: Any, extra: Any) -> float:
    prev = origin[k]
    total = 0.0
    for x in range(L[k]):
        t = R[k, x]
        n = node[t]
        total += dist[prev, n] + extra[t, k]
        prev = n
    return float(total + dist[prev, back[k]])


def _schedule(
    R: Any,
    L: Any,
    where: Any,
    out: Any,
    todo: Any,
    node: Any,
    dur: Any,
    earliest: Any,
    partner: Any,
    kind: Any,
    gmin: Any,
    gmax: Any,
    shift_start: Any,
    dist: Any,
    origin: Any,
    pf: Any,
    pg: Any,
    max_passes: int,
) -> bool:
    n_tasks = out.shape[0]
    K = L.shape[0]
    for t in range(n_tasks):
        out[t] = earliest[t]
    for k in range(K):
        todo[k] = 1
    for _ in range(max_passes):
        for k in range(K):
            if todo[k] == 0:
                continue
            prev = origin[k]
            ready = shift_start[k]
            for x in range(L[k]):
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
        for k in range(K):
            todo[k] = 0
        bad = False
        for q in range(pf.shape[0]):
            f = pf[q]
            g = pg[q]
            sf = out[f]
            sg = out[g]
            if kind[f] == 1:
                if sf > sg + 1e-9:
                    todo[where[g]] = 1
                    bad = True
                elif sg > sf + 1e-9:
                    todo[where[f]] = 1
                    bad = True
            elif sg < sf + gmin[g] - 1e-9:
                todo[where[g]] = 1
                bad = True
            elif sf < sg - gmax[f] - 1e-9:
                todo[where[f]] = 1
                bad = True
        if not bad:
            return True
    return False


def _reschedule(
    R: Any,
    L: Any,
    where: Any,
    pos: Any,
    base: Any,
    out: Any,
    first: Any,
    stack: Any,
    todo: Any,
    mods: Any,
    nm: int,
    BK: Any,
    BL: Any,
    node: Any,
    dur: Any,
    earliest: Any,
    partner: Any,
    kind: Any,
    gmin: Any,
    gmax: Any,
    shift_start: Any,
    dist: Any,
    origin: Any,
    pf: Any,
    pg: Any,
    max_passes: int,
) -> bool:
    """`_schedule` reusing `base` (the least fixed point before the move) outside the affected cone.

    The cone: every position from the first changed one of each modified route, then transitively the partners
    of its tasks and their routes from there on (as `schedule.reschedule`); only those tasks are recomputed.
    """
    n_tasks = out.shape[0]
    K = L.shape[0]
    for t in range(n_tasks):
        out[t] = base[t]
    for k in range(K):
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
    for k in range(K):
        todo[k] = 1 if first[k] < L[k] else 0
    for _ in range(max_passes):
        for k in range(K):
            if todo[k] == 0:
                continue
            i = first[k]
            if i > 0:
                pv = R[k, i - 1]
                prev = node[pv]
                ready = out[pv] + dur[pv]
            else:
                prev = origin[k]
                ready = shift_start[k]
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
        for k in range(K):
            todo[k] = 0
        bad = False
        for q in range(pf.shape[0]):
            f = pf[q]
            g = pg[q]
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
                    return False  # a violation outside the recomputed cone cannot be repaired here
                todo[kv] = 1
                bad = True
        if not bad:
            return True
    return False


def _kernel(
    node: Any,
    dur: Any,
    earliest: Any,
    latest: Any,
    partner: Any,
    kind: Any,
    gmin: Any,
    gmax: Any,
    can: Any,
    al_ptr: Any,
    al_idx: Any,
    shift_start: Any,
    shift_end: Any,
    shifted: Any,
    dist: Any,
    origin: Any,
    back: Any,
    extra: Any,
    pf: Any,
    pg: Any,
    max_passes: int,
    R: Any,
    L: Any,
    where: Any,
    pos: Any,
    start: Any,
    rdist: Any,
    cur: Any,
    BR: Any,
    BLn: Any,
    best: Any,
    rs: Any,
    cum: Any,
    params: Any,
    counters: Any,
    n_iter: int,
) -> bool:
    """Run up to `n_iter` iterations; False once the work budget is spent.

    cur = [distance, total tardiness, max tardiness, overtime, cost]; best = [best cost];
    params = [iteration cost, evaluation cost, budget, t_start, log(t_end / t_start), time progress floor,
    overtime weight];
    counters = [iterations, evaluations, work, start-time mismatches, status mismatches]; params[7] > 0 checks
    every incremental timing pass against the full one and counts disagreements (tests).
    """
    n_tasks = node.shape[0]
    K = L.shape[0]
    cap = R.shape[1]
    BK = np.empty((4, cap), dtype=np.int64)
    BL = np.zeros(4, dtype=np.int64)
    mods = np.zeros(4, dtype=np.int64)
    newd = np.zeros(4)
    scratch = np.empty(n_tasks)
    check = np.empty(n_tasks)
    todo = np.zeros(K, dtype=np.int64)
    first = np.zeros(K, dtype=np.int64)
    stack = np.zeros((n_tasks + 4 * K + 8, 2), dtype=np.int64)
    checking = params[7] > 0.0
    it_cost = params[0]
    eval_cost = params[1]
    budget = params[2]
    t_start = params[3]
    log_ratio = params[4]
    floor = params[5]
    weight = params[6]
    it = int(counters[0])
    evals = int(counters[1])
    work = counters[2]
    done = work / budget
    temp = t_start * math.exp(log_ratio * max(done, floor))
    for _ in range(n_iter):
        if it & 127 == 0:
            done = work / budget
            if done >= 1.0:
                counters[0] = it
                counters[1] = evals
                counters[2] = work
                return False
            temp = t_start * math.exp(log_ratio * max(done, floor))
        it += 1
        work += it_cost
        u = _rnd(rs) * cum[cum.shape[0] - 1]
        m = 0
        while cum[m] < u:
            m += 1
        nm = 0
        t = _below(rs, n_tasks)
        if m == 2 and partner[t] < 0:
            m = 0  # a pair move on a single service is a relocation
        if m == 0:
            a = where[t]
            b = al_idx[al_ptr[t] + _below(rs, al_ptr[t + 1] - al_ptr[t])]
            p = partner[t]
            if p >= 0 and where[p] == b:
                continue
            nm = _save(R, L, a, BK, BL, mods, nm)
            i = pos[t]
            _remove_at(R, L, a, i)
            if a == b:
                target = earliest[t] if _rnd(rs) < 0.3 else start[t]
                j = _insert_position(R, L, a, start, target, rs)
                if j == i:
                    _restore(R, L, BK, BL, mods, nm, where, pos)
                    continue
                _insert_at(R, L, a, j, t)
            else:
                nm = _save(R, L, b, BK, BL, mods, nm)
                target = start[t] if _rnd(rs) < 0.5 else earliest[t]
                _insert_at(R, L, b, _insert_position(R, L, b, start, target, rs), t)
        elif m == 1:
            a = where[t]
            b = al_idx[al_ptr[t] + _below(rs, al_ptr[t + 1] - al_ptr[t])]
            if L[b] == 0:
                continue
            t2 = R[b, _below(rs, L[b])]
            if t2 == t or can[t2, a] == 0:
                continue
            if a == b:
                nm = _save(R, L, a, BK, BL, mods, nm)
                R[a, pos[t]] = t2
                R[a, pos[t2]] = t
            else:
                p1 = partner[t]
                p2 = partner[t2]
                if (p1 >= 0 and where[p1] == b) or (p2 >= 0 and where[p2] == a):
                    continue
                nm = _save(R, L, a, BK, BL, mods, nm)
                nm = _save(R, L, b, BK, BL, mods, nm)
                R[a, pos[t]] = t2
                R[b, pos[t2]] = t
        elif m == 2:
            t2 = partner[t]
            b1 = al_idx[al_ptr[t] + _below(rs, al_ptr[t + 1] - al_ptr[t])]
            b2 = al_idx[al_ptr[t2] + _below(rs, al_ptr[t2 + 1] - al_ptr[t2])]
            if b1 == b2:
                continue
            ka = where[t]
            kb = where[t2]
            nm = _save(R, L, ka, BK, BL, mods, nm)
            nm = _save(R, L, kb, BK, BL, mods, nm)
            nm = _save(R, L, b1, BK, BL, mods, nm)
            nm = _save(R, L, b2, BK, BL, mods, nm)
            _remove_at(R, L, ka, pos[t])
            if kb == ka:
                j = 0
                while R[kb, j] != t2:
                    j += 1
                _remove_at(R, L, kb, j)
            else:
                _remove_at(R, L, kb, pos[t2])
            target = start[t] if _rnd(rs) < 0.5 else earliest[t]
            _insert_at(R, L, b1, _insert_position(R, L, b1, start, target, rs), t)
            target2 = start[t2] if _rnd(rs) < 0.5 else target
            _insert_at(R, L, b2, _insert_position(R, L, b2, start, target2, rs), t2)
        elif m == 3:
            k = _below(rs, K)
            n = L[k]
            if n < 3:
                continue
            i = _below(rs, n - 1)
            j = i + 2 + _below(rs, 3)
            if j > n:
                j = n
            nm = _save(R, L, k, BK, BL, mods, nm)
            lo = i
            hi = j - 1
            while lo < hi:
                x = R[k, lo]
                R[k, lo] = R[k, hi]
                R[k, hi] = x
                lo += 1
                hi -= 1
        else:
            a = _below(rs, K)
            b = _below(rs, K)
            if a == b:
                continue
            na = L[a]
            nb = L[b]
            if na == 0 and nb == 0:
                continue
            pivot = start[R[a, _below(rs, na)]] if na > 0 else start[R[b, _below(rs, nb)]]
            i = 0
            for x in range(na):
                if start[R[a, x]] < pivot:
                    i += 1
            i += _below(rs, 2)
            j = 0
            for x in range(nb):
                if start[R[b, x]] < pivot:
                    j += 1
            j += _below(rs, 2)
            if i > na:
                i = na
            if j > nb:
                j = nb
            if i == na and j == nb:
                continue
            ok = True
            for x in range(i, na):
                tt = R[a, x]
                if can[tt, b] == 0:
                    ok = False
                    break
                p = partner[tt]
                # the partner would share route b: it is in b's head, or it moves to a with b's tail
                if p >= 0 and where[p] == b and pos[p] < j:
                    ok = False
                    break
            if not ok:
                continue
            for x in range(j, nb):
                tt = R[b, x]
                if can[tt, a] == 0:
                    ok = False
                    break
                p = partner[tt]
                if p >= 0 and where[p] == a and pos[p] < i:
                    ok = False
                    break
            if not ok:
                continue
            nm = _save(R, L, a, BK, BL, mods, nm)
            nm = _save(R, L, b, BK, BL, mods, nm)
            # mods[0] = a (backup row 0), mods[1] = b (backup row 1)
            x = i
            for y in range(j, nb):
                R[a, x] = BK[1, y]
                x += 1
            L[a] = x
            x = j
            for y in range(i, na):
                R[b, x] = BK[0, y]
                x += 1
            L[b] = x
        if nm == 0:
            continue
        for s in range(nm):
            _reindex(R, L, mods[s], where, pos)
        distance = cur[0]
        for s in range(nm):
            k = mods[s]
            newd[s] = _route_distance(R, L, k, node, dist, origin, back, extra)
            distance += newd[s] - rdist[k]
        limit = cur[4] - temp * math.log(1.0 - _rnd(rs))
        if distance / 3.0 >= limit:
            _restore(R, L, BK, BL, mods, nm, where, pos)
            continue
        evals += 1
        work += eval_cost
        ok = _reschedule(
            R,
            L,
            where,
            pos,
            start,
            scratch,
            first,
            stack,
            todo,
            mods,
            nm,
            BK,
            BL,
            node,
            dur,
            earliest,
            partner,
            kind,
            gmin,
            gmax,
            shift_start,
            dist,
            origin,
            pf,
            pg,
            max_passes,
        )
        if checking:  # tests: the incremental pass agrees with the full one
            full = _schedule(
                R,
                L,
                where,
                check,
                todo,
                node,
                dur,
                earliest,
                partner,
                kind,
                gmin,
                gmax,
                shift_start,
                dist,
                origin,
                pf,
                pg,
                max_passes,
            )
            if full != ok:
                counters[4] += 1
            elif ok:
                for x in range(n_tasks):
                    if abs(check[x] - scratch[x]) > 1e-6:
                        counters[3] += 1
                        break
        if not ok:
            _restore(R, L, BK, BL, mods, nm, where, pos)
            continue
        tt_sum = 0.0
        mt = 0.0
        for x in range(n_tasks):
            d = scratch[x] - latest[x]
            if d > 0.0:
                tt_sum += d
                if d > mt:
                    mt = d
        ot = 0.0
        for s in range(shifted.shape[0]):
            k = shifted[s]
            end = shift_end[k]
            for x in range(L[k] - 1, -1, -1):
                t = R[k, x]
                over = scratch[t] + dur[t] - end
                if over <= 0.0:
                    break
                ot += over
        cost = (distance + tt_sum + mt + weight * ot) / 3.0
        if cost >= limit:
            _restore(R, L, BK, BL, mods, nm, where, pos)
            continue
        for x in range(n_tasks):
            start[x] = scratch[x]
        for s in range(nm):
            rdist[mods[s]] = newd[s]
        cur[0] = distance
        cur[1] = tt_sum
        cur[2] = mt
        cur[3] = ot
        cur[4] = cost
        if cost < best[0] - 1e-9:
            best[0] = cost
            for k in range(K):
                BLn[k] = L[k]
                for x in range(L[k]):
                    BR[k, x] = R[k, x]
    counters[0] = it
    counters[1] = evals
    counters[2] = work
    return True


_HELPERS = (
    _reschedule,
    _rnd,
    _below,
    _insert_position,
    _remove_at,
    _insert_at,
    _save,
    _reindex,
    _restore,
    _route_distance,
)
_COMPILED: dict[str, Any] = {}


def _compiled() -> Any:
    """The kernel compiled by numba (cached on disk), the pure-Python kernel when numba is unavailable."""
    if "kernel" in _COMPILED:
        return _COMPILED["kernel"]
    if not available():
        return _kernel
    jit = numba.njit(cache=True, nogil=True)
    try:
        jit(_HELPERS[0])  # numba caches next to this file, else in the user's cache directory
    except RuntimeError:  # neither is writable (a read-only image): compile in memory, once per process
        jit = numba.njit(cache=False, nogil=True)
    glb = globals()
    for f in (*_HELPERS, _schedule):
        glb[f.__name__] = jit(f)
    kernel = jit(_kernel)
    _COMPILED["kernel"] = kernel
    return kernel


class Arrays:
    """The model as numpy arrays for the kernel."""

    def __init__(self, model: Model) -> None:
        n, n_cg = model.n_tasks, model.n_caregivers
        self.node = np.array(model.node, dtype=np.int64)
        self.dur = np.array(model.duration, dtype=np.float64)
        self.earliest = np.array(model.earliest, dtype=np.float64)
        self.latest = np.array(model.latest, dtype=np.float64)
        self.partner = np.array(model.partner, dtype=np.int64)
        kind = []
        for k in model.kind:  # 1 simultaneous, 2 first of a sequence, 3 second
            kind.append(1 if k == SIMULTANEOUS else (2 if k == SEQ_FIRST else (3 if k else 0)))
        self.kind = np.array(kind, dtype=np.int64)
        self.gmin = np.array(model.gap_min, dtype=np.float64)
        self.gmax = np.array(model.gap_max, dtype=np.float64)
        self.can = np.array(model.can, dtype=np.uint8).reshape(n, n_cg)
        ptr = [0]
        idx: list[int] = []
        for a in model.allowed:
            idx.extend(a)
            ptr.append(len(idx))
        self.al_ptr = np.array(ptr, dtype=np.int64)
        self.al_idx = np.array(idx, dtype=np.int64)
        self.shift_start = np.array(model.shift_start, dtype=np.float64)
        self.shift_end = np.array(model.shift_end, dtype=np.float64)
        self.shifted = np.array(model.shifted, dtype=np.int64)
        self.dist = np.array(model.dist, dtype=np.float64)
        self.origin = np.array(model.origin, dtype=np.int64)
        self.back = np.array(model.back, dtype=np.int64)
        self.extra = (
            np.array(model.extra, dtype=np.float64).reshape(n, n_cg)
            if model.extra is not None
            else np.zeros((n, n_cg), dtype=np.float64)
        )
        self.pf = np.array([f for f, _ in model.pairs], dtype=np.int64)
        self.pg = np.array([g for _, g in model.pairs], dtype=np.int64)

    def args(self) -> tuple[Any, ...]:
        """Model arrays in kernel order."""
        return (
            self.node,
            self.dur,
            self.earliest,
            self.latest,
            self.partner,
            self.kind,
            self.gmin,
            self.gmax,
            self.can,
            self.al_ptr,
            self.al_idx,
            self.shift_start,
            self.shift_end,
            self.shifted,
            self.dist,
            self.origin,
            self.back,
            self.extra,
            self.pf,
            self.pg,
        )


def warm_up() -> None:
    """Compile the kernel (or load it from numba's disk cache) on a one-visit day, once per process.

    The solver calls this before its clock starts, so compiling never eats into a time limit or breaks the
    determinism of a budgeted run.
    """
    if _COMPILED.get("warm"):
        return
    from backend.planning.hhcrsp import Caregiver, Instance, Patient, Requirement
    from backend.planning.schedule import compile_model

    instance = Instance(
        name="warm-up",
        patients=(Patient("p", (0.0, 0.0), 0.0, 10.0, (Requirement("s", 1.0),)),),
        caregivers=(Caregiver("c", frozenset({"s"})),),
        services={"s": 1.0},
        office=(0.0, 0.0),
        distances=((0.0, 1.0), (1.0, 0.0)),
    )
    model = compile_model(instance)
    anneal_fast(model, [[0]], deadline=math.inf, seed=0, budget=1.0, t_start=1.0, t_end=0.5)
    _COMPILED["warm"] = True


def anneal_fast(
    model: Model,
    routes: list[list[int]],
    *,
    deadline: float,
    seed: int,
    budget: float,
    t_start: float,
    t_end: float,
    check: bool = False,
    mismatches: list[float] | None = None,
) -> tuple[list[list[int]], int]:
    """Compiled counterpart of `search.anneal`: best routes and iterations (deterministic for a seed and budget)."""
    from backend.planning.search import State

    kernel = _compiled()
    st = State(model, routes)
    n, n_cg = model.n_tasks, model.n_caregivers
    if n == 0 or n_cg == 0:
        return st.copy_routes(), 0
    arr = Arrays(model)
    R = np.zeros((n_cg, n + 1), dtype=np.int64)
    L = np.zeros(n_cg, dtype=np.int64)
    where = np.zeros(n, dtype=np.int64)
    pos = np.zeros(n, dtype=np.int64)
    for k, r in enumerate(routes):
        L[k] = len(r)
        for x, t in enumerate(r):
            R[k, x] = t
            where[t] = k
            pos[t] = x
    start = np.array(st.start, dtype=np.float64)
    rdist = np.array(st.rdist, dtype=np.float64)
    cur = np.array([st.distance, st.total_tard, st.max_tard, st.overtime, st.cost], dtype=np.float64)
    BR, BLn = R.copy(), L.copy()
    best = np.array([st.cost], dtype=np.float64)
    rs = np.array([(seed * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) % (1 << 64) or 1], dtype=np.uint64)
    cum = np.cumsum(np.array(WEIGHTS, dtype=np.float64))
    it_cost, eval_cost = work_costs_fast(n)
    params_list = [
        it_cost,
        eval_cost,
        budget,
        t_start,
        math.log(t_end / t_start),
        0.0,
        OVERTIME_WEIGHT,
        1.0 if check else 0.0,
    ]
    params = np.array(params_list, dtype=np.float64)
    counters = np.zeros(5, dtype=np.float64)
    margs = arr.args()
    state = (R, L, where, pos, start, rdist, cur, BR, BLn, best, rs, cum, params, counters)
    kernel(*margs, model.max_passes, *state, 0)  # compiles (or loads) before the clock starts
    t0 = time.monotonic()
    span = max(1e-3, deadline - t0)
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        params[5] = (now - t0) / span
        more = kernel(*margs, model.max_passes, *state, CHUNK)
        if not more:
            break
    out = [[int(t) for t in BR[k, : BLn[k]]] for k in range(n_cg)]
    if mismatches is not None:
        mismatches[:] = [float(counters[1]), float(counters[3]), float(counters[4])]
    return out, int(counters[0])
