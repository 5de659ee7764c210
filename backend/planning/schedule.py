"""Compiled task model and the timing pass (earliest start times under synchronisation coupling)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from backend.planning.hhcrsp import Instance

NONE, SIMULTANEOUS, SEQ_FIRST, SEQ_SECOND = 0, 1, 2, 3
EPS = 1e-9
MAX_PASSES = 10
# Search penalty per minute a visit ends after its caregiver's shift, in minutes of travel or tardiness.
OVERTIME_WEIGHT = 1000.0


@dataclass
class Model:
    """Flat arrays describing every task (one service of one patient) of an instance, and caregiver shifts."""

    n_tasks: int
    n_caregivers: int
    node: list[int]
    duration: list[float]
    earliest: list[float]
    latest: list[float]
    partner: list[int]
    kind: list[int]
    gap_min: list[float]
    gap_max: list[float]
    allowed: list[list[int]]
    can: list[list[bool]]
    shift_start: list[float]
    shift_end: list[float]
    shifted: list[int]
    dist: list[list[float]]
    patient: list[str]
    service: list[str]
    max_passes: int
    pairs: list[tuple[int, int]]
    # Per caregiver: the node her route sets off from and the node it ends at (a zero-distance sink when her
    # return does not count); per task and caregiver, the cost of giving it to her (None: nothing anywhere).
    origin: list[int]
    back: list[int]
    extra: list[list[float]] | None = None


def compile_model(instance: Instance) -> Model:
    """Flatten an instance into per-task arrays; task order follows patients and their requirements."""
    node: list[int] = []
    duration: list[float] = []
    earliest: list[float] = []
    latest: list[float] = []
    partner: list[int] = []
    kind: list[int] = []
    gap_min: list[float] = []
    gap_max: list[float] = []
    allowed: list[list[int]] = []
    patient_ids: list[str] = []
    service_ids: list[str] = []
    n_pairs = 0
    for i, p in enumerate(instance.patients):
        base = len(node)
        paired = p.sync is not None and len(p.requirements) == 2
        n_pairs += int(paired)
        for j, req in enumerate(p.requirements):
            node.append(i + 1)
            duration.append(req.duration)
            earliest.append(p.earliest)
            latest.append(p.latest)
            patient_ids.append(p.id)
            service_ids.append(req.service)
            allowed.append(
                [k for k, c in enumerate(instance.caregivers) if req.service in c.abilities and c.id not in p.excluded]
            )
            if paired and p.sync is not None:
                partner.append(base + 1 - j)
                if p.sync.kind == "simultaneous":
                    kind.append(SIMULTANEOUS)
                else:
                    kind.append(SEQ_FIRST if j == 0 else SEQ_SECOND)
                gap_min.append(p.sync.min_gap)
                gap_max.append(p.sync.max_gap)
            else:
                partner.append(-1)
                kind.append(NONE)
                gap_min.append(0.0)
                gap_max.append(0.0)
    n_cg = len(instance.caregivers)
    shifts = [c.shift or (0.0, math.inf) for c in instance.caregivers]
    can = [[k in set(a) for k in range(n_cg)] for a in allowed]
    dist = [list(row) for row in instance.distances]
    back = [0] * n_cg
    if not all(c.returns for c in instance.caregivers):
        sink = len(dist)  # where a route that does not return ends, nothing away from anywhere
        for row in dist:
            row.append(0.0)
        dist.append([0.0] * (sink + 1))
        back = [0 if c.returns else sink for c in instance.caregivers]
    extra = None
    if instance.change_cost > 0 and any(p.holders for p in instance.patients):
        holders = [p.holders for p in instance.patients for _ in p.requirements]
        extra = [
            [instance.change_cost if held and c.id not in held else 0.0 for c in instance.caregivers]
            for held in holders
        ]
    return Model(
        len(node),
        n_cg,
        node,
        duration,
        earliest,
        latest,
        partner,
        kind,
        gap_min,
        gap_max,
        allowed,
        can,
        [a for a, _ in shifts],
        [b for _, b in shifts],
        [k for k, c in enumerate(instance.caregivers) if c.shift is not None],
        dist,
        patient_ids,
        service_ids,
        min(2 * n_pairs + 3, MAX_PASSES),
        [(t, partner[t]) for t in range(len(node)) if partner[t] > t],
        origin=[c.origin for c in instance.caregivers],
        back=back,
        extra=extra,
    )


def route_distance(model: Model, route: list[int], k: int) -> float:
    """Travel distance of caregiver `k`'s route, from where she sets off to where it ends, plus the cost of giving
    her its tasks (re-planning: each one moved to her from someone else)."""
    dist, node = model.dist, model.node
    prev, total = model.origin[k], 0.0
    for t in route:
        n = node[t]
        total += dist[prev][n]
        prev = n
    total += dist[prev][model.back[k]]
    if model.extra is not None:
        extra = model.extra
        for t in route:
            total += extra[t][k]
    return total


def schedule(
    model: Model, routes: list[list[int]], start: list[float], pairs: list[tuple[int, int]] | None = None
) -> bool:
    """Fill `start` with the earliest feasible start times; False if the coupling is cyclic (infeasible).

    Start times are the least fixed point of the difference constraints (route precedence with travel from the
    office at the shift start, window opening, simultaneous equality, sequential [min, max] gap), found by
    repeated forward passes that only revisit routes holding a violated synchronisation. Every cost term
    (overtime included) is non-decreasing in the start times, so this schedule is optimal for fixed routes.
    `pairs` restricts the synchronised (first, second) task pairs that are checked (default: all; the
    construction passes only the routed ones).
    """
    dist, node, dur, partner, kind = model.dist, model.node, model.duration, model.partner, model.kind
    gmin, gmax, shift_start = model.gap_min, model.gap_max, model.shift_start
    if pairs is None:
        pairs = model.pairs
    start[:] = model.earliest
    todo = list(range(len(routes)))
    for _ in range(model.max_passes):
        for k in todo:
            row, ready = dist[model.origin[k]], shift_start[k]
            for t in routes[k]:
                n = node[t]
                s = ready + row[n]
                if s < start[t]:
                    s = start[t]
                p = partner[t]
                if p >= 0:
                    k = kind[t]
                    lb = (
                        start[p]
                        if k == SIMULTANEOUS
                        else (start[p] - gmax[t] if k == SEQ_FIRST else start[p] + gmin[t])
                    )
                    if lb > s:
                        s = lb
                start[t] = s
                ready = s + dur[t]
                row = dist[n]
        # Route precedence now holds everywhere; collect the routes holding a violated synchronisation.
        bad: list[int] = []
        for f, g in pairs:
            sf, sg = start[f], start[g]
            if kind[f] == SIMULTANEOUS:
                if sf > sg + EPS:
                    bad.append(g)
                elif sg > sf + EPS:
                    bad.append(f)
            elif sg < sf + gmin[g] - EPS:
                bad.append(g)
            elif sf < sg - gmax[f] - EPS:
                bad.append(f)
        if not bad:
            return True
        if len(bad) == 1:
            todo = [k for k, r in enumerate(routes) if bad[0] in r]
        else:
            marks = set(bad)
            todo = [k for k, r in enumerate(routes) if not marks.isdisjoint(r)]
    return False


def tardiness(model: Model, start: list[float]) -> tuple[float, float]:
    """Total and maximum tardiness of a schedule."""
    total, worst = 0.0, 0.0
    for s, late in zip(start, model.latest, strict=True):
        if s > late:
            d = s - late
            total += d
            if d > worst:
                worst = d
    return total, worst


def overtime_minutes(
    model: Model, routes: list[list[int]], start: list[float], new: Mapping[int, float] | None = None
) -> float:
    """Sum over visits of the minutes each ends after its caregiver's shift (start times in `new` first).

    Visits end in route order, so each route is scanned backwards up to its last visit ending in time.
    """
    dur, total = model.duration, 0.0
    for k in model.shifted:
        end = model.shift_end[k]
        for t in reversed(routes[k]):
            x = (start[t] if new is None else new.get(t, start[t])) + dur[t] - end
            if x <= 0.0:
                break
            total += x
    return total


def reschedule(
    model: Model,
    routes: list[list[int]],
    start: list[float],
    base: list[float],
    changed: dict[int, int],
    where: list[int],
    moved: dict[int, int],
    pairs: list[tuple[int, int]] | None = None,
) -> bool:
    """Like `schedule`, but reuses `base` (the least fixed point before the change) outside the affected cone.

    `changed` maps each modified route to its first modified position, `moved` gives the new route of tasks in
    modified routes (other tasks are found through `where`). Tasks that depend on no modified position through
    route order or synchronisation keep their times; the others are recomputed from their window openings.
    `pairs` restricts the checked synchronised pairs as in `schedule` (default: all).
    """
    dist, node, dur, partner, kind = model.dist, model.node, model.duration, model.partner, model.kind
    gmin, gmax = model.gap_min, model.gap_max
    checked = model.pairs if pairs is None else pairs
    start[:] = base
    first = dict(changed)
    stack = list(changed.items())
    while stack:
        k, i = stack.pop()
        route = routes[k]
        if first[k] < i:
            continue  # this suffix is already covered by a longer one
        for t in route[i:]:
            start[t] = model.earliest[t]
            p = partner[t]
            if p >= 0:
                kp = moved.get(p, -1)
                if kp < 0:
                    kp = where[p]
                rp = routes[kp]
                j = rp.index(p)
                if j < first.get(kp, len(rp)):
                    first[kp] = j
                    stack.append((kp, j))
    todo = list(first)
    for _ in range(model.max_passes):
        for k in todo:
            route = routes[k]
            i = first[k]
            if i > 0:
                prev = route[i - 1]
                row, ready = dist[node[prev]], start[prev] + dur[prev]
            else:
                row, ready = dist[model.origin[k]], model.shift_start[k]
            for idx in range(i, len(route)):
                t = route[idx]
                n = node[t]
                s = ready + row[n]
                if s < start[t]:
                    s = start[t]
                p = partner[t]
                if p >= 0:
                    kk = kind[t]
                    lb = (
                        start[p]
                        if kk == SIMULTANEOUS
                        else (start[p] - gmax[t] if kk == SEQ_FIRST else start[p] + gmin[t])
                    )
                    if lb > s:
                        s = lb
                start[t] = s
                ready = s + dur[t]
                row = dist[n]
        bad: list[int] = []
        for f, g in checked:
            sf, sg = start[f], start[g]
            if kind[f] == SIMULTANEOUS:
                if sf > sg + EPS:
                    bad.append(g)
                elif sg > sf + EPS:
                    bad.append(f)
            elif sg < sf + gmin[g] - EPS:
                bad.append(g)
            elif sf < sg - gmax[f] - EPS:
                bad.append(f)
        if not bad:
            return True
        marks = set(bad)
        todo = [k for k in first if not marks.isdisjoint(routes[k][first[k] :])]
        if not todo:
            return False  # a violation outside the recomputed cone cannot be repaired here
    return False
