"""Compiled task model and the timing pass (earliest start times under synchronisation coupling)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from backend.planning.hhcrsp import Instance, Patient

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
    tasks = _Tasks()
    for i, p in enumerate(instance.patients):
        tasks.add_patient(instance, i, p)
    n_cg = len(instance.caregivers)
    shifts = [c.shift or (0.0, math.inf) for c in instance.caregivers]
    can = [[k in set(a) for k in range(n_cg)] for a in tasks.allowed]
    dist, back = _distances_and_ends(instance)
    partner = tasks.partner
    return Model(
        len(tasks.node),
        n_cg,
        tasks.node,
        tasks.duration,
        tasks.earliest,
        tasks.latest,
        partner,
        tasks.kind,
        tasks.gap_min,
        tasks.gap_max,
        tasks.allowed,
        can,
        [a for a, _ in shifts],
        [b for _, b in shifts],
        [k for k, c in enumerate(instance.caregivers) if c.shift is not None],
        dist,
        tasks.patient_ids,
        tasks.service_ids,
        min(2 * tasks.n_pairs + 3, MAX_PASSES),
        [(t, partner[t]) for t in range(len(tasks.node)) if partner[t] > t],
        origin=[c.origin for c in instance.caregivers],
        back=back,
        extra=_change_costs(instance),
    )


@dataclass
class _Tasks:
    """The per-task arrays of a `Model`, filled patient by patient."""

    node: list[int] = field(default_factory=list)
    duration: list[float] = field(default_factory=list)
    earliest: list[float] = field(default_factory=list)
    latest: list[float] = field(default_factory=list)
    partner: list[int] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    gap_min: list[float] = field(default_factory=list)
    gap_max: list[float] = field(default_factory=list)
    allowed: list[list[int]] = field(default_factory=list)
    patient_ids: list[str] = field(default_factory=list)
    service_ids: list[str] = field(default_factory=list)
    n_pairs: int = 0

    def add_patient(self, instance: Instance, i: int, p: Patient) -> None:
        """One task per requirement of patient `p` (the i-th), coupled when her two services are synchronised."""
        base = len(self.node)
        paired = p.sync is not None and len(p.requirements) == 2
        self.n_pairs += int(paired)
        for j, req in enumerate(p.requirements):
            self.node.append(i + 1)
            self.duration.append(req.duration)
            self.earliest.append(p.earliest)
            self.latest.append(p.latest)
            self.patient_ids.append(p.id)
            self.service_ids.append(req.service)
            self.allowed.append(
                [k for k, c in enumerate(instance.caregivers) if req.service in c.abilities and c.id not in p.excluded]
            )
            if paired and p.sync is not None:
                self.partner.append(base + 1 - j)
                if p.sync.kind == "simultaneous":
                    self.kind.append(SIMULTANEOUS)
                else:
                    self.kind.append(SEQ_FIRST if j == 0 else SEQ_SECOND)
                self.gap_min.append(p.sync.min_gap)
                self.gap_max.append(p.sync.max_gap)
            else:
                self.partner.append(-1)
                self.kind.append(NONE)
                self.gap_min.append(0.0)
                self.gap_max.append(0.0)


def _distances_and_ends(instance: Instance) -> tuple[list[list[float]], list[int]]:
    """The distance matrix and each caregiver's route end: the office, or a sink when her return does not count."""
    n_cg = len(instance.caregivers)
    dist = [list(row) for row in instance.distances]
    back = [0] * n_cg
    if not all(c.returns for c in instance.caregivers):
        sink = len(dist)  # where a route that does not return ends, nothing away from anywhere
        for row in dist:
            row.append(0.0)
        dist.append([0.0] * (sink + 1))
        back = [0 if c.returns else sink for c in instance.caregivers]
    return dist, back


def _change_costs(instance: Instance) -> list[list[float]] | None:
    """Per task and caregiver, the cost of giving it to her rather than its holders (None: nothing anywhere)."""
    if not (instance.change_cost > 0 and any(p.holders for p in instance.patients)):
        return None
    holders = [p.holders for p in instance.patients for _ in p.requirements]
    return [
        [instance.change_cost if held and c.id not in held else 0.0 for c in instance.caregivers] for held in holders
    ]


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
    if pairs is None:
        pairs = model.pairs
    start[:] = model.earliest
    todo = list(range(len(routes)))
    for _ in range(model.max_passes):
        for k in todo:
            _time_route(model, routes[k], k, 0, start)
        # Route precedence now holds everywhere; collect the routes holding a violated synchronisation.
        bad = _violated(model, start, pairs)
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
    checked = model.pairs if pairs is None else pairs
    start[:] = base
    first = _cone(model, routes, start, changed, where, moved)
    todo = list(first)
    for _ in range(model.max_passes):
        for k in todo:
            _time_route(model, routes[k], k, first[k], start)
        bad = _violated(model, start, checked)
        if not bad:
            return True
        marks = set(bad)
        todo = [k for k in first if not marks.isdisjoint(routes[k][first[k] :])]
        if not todo:
            return False  # a violation outside the recomputed cone cannot be repaired here
    return False


def _cone(
    model: Model,
    routes: list[list[int]],
    start: list[float],
    changed: dict[int, int],
    where: list[int],
    moved: dict[int, int],
) -> dict[int, int]:
    """The first position to recompute in each affected route: the changed positions, then transitively the
    partners of the tasks after them; those tasks' start times are reset to their window openings."""
    partner = model.partner
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
    return first


def _time_route(model: Model, route: list[int], k: int, i: int, start: list[float]) -> None:
    """Earliest starts along caregiver k's route from position i on, after its predecessor (or her shift start)."""
    dist, node, dur, partner, kind = model.dist, model.node, model.duration, model.partner, model.kind
    gmin, gmax = model.gap_min, model.gap_max
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
            lb = start[p] if kk == SIMULTANEOUS else (start[p] - gmax[t] if kk == SEQ_FIRST else start[p] + gmin[t])
            if lb > s:
                s = lb
        start[t] = s
        ready = s + dur[t]
        row = dist[n]


def _violated(model: Model, start: list[float], pairs: list[tuple[int, int]]) -> list[int]:
    """The task of each synchronised pair that starts too early for its partner (the one to move later)."""
    kind, gmin, gmax = model.kind, model.gap_min, model.gap_max
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
    return bad
