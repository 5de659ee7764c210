"""The kernel's inputs as flat numpy arrays: the model, the routes, their backups, the search state, buffers."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from backend.planning.schedule import SEQ_FIRST, SIMULTANEOUS, Model


class ModelArrays(NamedTuple):
    """The model (`schedule.Model`) as numpy arrays, read-only in the kernel."""

    node: Any  # distance-matrix row of each task
    dur: Any
    earliest: Any
    latest: Any
    partner: Any  # the other task of a double service, -1 for a single one
    kind: Any  # 1 simultaneous, 2 first of a sequence, 3 second, 0 single
    gmin: Any
    gmax: Any
    can: Any  # can[task, caregiver] = 1 when she may do it
    al_ptr: Any  # the caregivers allowed for task t: al_idx[al_ptr[t] : al_ptr[t + 1]]
    al_idx: Any
    shift_start: Any
    shift_end: Any
    shifted: Any  # caregivers with a shift end
    dist: Any
    origin: Any
    back: Any
    extra: Any  # extra[task, caregiver]: travel added when she does it (change costs)
    pf: Any  # pairs of a double service: (pf[q], pg[q])
    pg: Any
    max_passes: int


class Routes(NamedTuple):
    """The routes being changed: R[k, : L[k]] are caregiver k's tasks in order; task t is R[where[t], pos[t]]."""

    R: Any
    L: Any
    where: Any
    pos: Any


class Backup(NamedTuple):
    """The routes a move changed, as they were: mods[s] is a route, BK[s, : BL[s]] its tasks (at most four)."""

    BK: Any
    BL: Any
    mods: Any


class SearchState(NamedTuple):
    """The annealing's state, carried from one kernel call to the next.

    cur = [distance, total tardiness, max tardiness, overtime, cost]; best = [best cost], its routes BR/BLn;
    params = [iteration cost, evaluation cost, budget, t_start, log(t_end / t_start), time progress floor,
    overtime weight, check]; counters = [iterations, evaluations, work, start-time mismatches, status
    mismatches]; params[7] > 0 checks every incremental timing pass against the full one and counts
    disagreements (tests).
    """

    start: Any  # start time of each task in the current routes
    rdist: Any  # travel of each route
    cur: Any
    BR: Any
    BLn: Any
    best: Any
    rs: Any  # random stream (rng)
    cum: Any  # cumulated move weights
    params: Any
    counters: Any


class Buffers(NamedTuple):
    """Scratch space of the kernel, overwritten before every use."""

    newd: Any  # new travel of each changed route
    scratch: Any  # start times after a move
    check: Any  # start times of the full timing pass (checking)
    todo: Any  # routes to re-time in the current pass
    first: Any  # first position to re-time in each route
    stack: Any  # (route, position) pairs still to spread the cone from


def model_arrays(model: Model) -> ModelArrays:
    """The model as numpy arrays for the kernel."""
    n, n_cg = model.n_tasks, model.n_caregivers
    kind = []
    for k in model.kind:  # 1 simultaneous, 2 first of a sequence, 3 second
        kind.append(1 if k == SIMULTANEOUS else (2 if k == SEQ_FIRST else (3 if k else 0)))
    ptr = [0]
    idx: list[int] = []
    for a in model.allowed:
        idx.extend(a)
        ptr.append(len(idx))
    extra = (
        np.array(model.extra, dtype=np.float64).reshape(n, n_cg)
        if model.extra is not None
        else np.zeros((n, n_cg), dtype=np.float64)
    )
    return ModelArrays(
        node=np.array(model.node, dtype=np.int64),
        dur=np.array(model.duration, dtype=np.float64),
        earliest=np.array(model.earliest, dtype=np.float64),
        latest=np.array(model.latest, dtype=np.float64),
        partner=np.array(model.partner, dtype=np.int64),
        kind=np.array(kind, dtype=np.int64),
        gmin=np.array(model.gap_min, dtype=np.float64),
        gmax=np.array(model.gap_max, dtype=np.float64),
        can=np.array(model.can, dtype=np.uint8).reshape(n, n_cg),
        al_ptr=np.array(ptr, dtype=np.int64),
        al_idx=np.array(idx, dtype=np.int64),
        shift_start=np.array(model.shift_start, dtype=np.float64),
        shift_end=np.array(model.shift_end, dtype=np.float64),
        shifted=np.array(model.shifted, dtype=np.int64),
        dist=np.array(model.dist, dtype=np.float64),
        origin=np.array(model.origin, dtype=np.int64),
        back=np.array(model.back, dtype=np.int64),
        extra=extra,
        pf=np.array([f for f, _ in model.pairs], dtype=np.int64),
        pg=np.array([g for _, g in model.pairs], dtype=np.int64),
        max_passes=model.max_passes,
    )


def routes_arrays(routes: list[list[int]], n_tasks: int, n_caregivers: int) -> Routes:
    """`routes` (task ids per caregiver) as the kernel's route matrix and indexes."""
    R = np.zeros((n_caregivers, n_tasks + 1), dtype=np.int64)
    L = np.zeros(n_caregivers, dtype=np.int64)
    where = np.zeros(n_tasks, dtype=np.int64)
    pos = np.zeros(n_tasks, dtype=np.int64)
    for k, r in enumerate(routes):
        L[k] = len(r)
        for x, t in enumerate(r):
            R[k, x] = t
            where[t] = k
            pos[t] = x
    return Routes(R, L, where, pos)


def backup(capacity: int) -> Backup:
    """Room for the four routes a move may change."""
    return Backup(np.empty((4, capacity), dtype=np.int64), np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64))


def buffers(n_tasks: int, n_caregivers: int) -> Buffers:
    """The kernel's scratch space for a model of this size."""
    return Buffers(
        newd=np.zeros(4),
        scratch=np.empty(n_tasks),
        check=np.empty(n_tasks),
        todo=np.zeros(n_caregivers, dtype=np.int64),
        first=np.zeros(n_caregivers, dtype=np.int64),
        stack=np.zeros((n_tasks + 4 * n_caregivers + 8, 2), dtype=np.int64),
    )
