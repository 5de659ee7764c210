"""Greedy construction and simulated annealing over caregiver routes."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from backend.planning.moves import Proposal, cross_exchange, pair_move, relocate, swap, two_opt
from backend.planning.schedule import (
    OVERTIME_WEIGHT,
    Model,
    overtime_minutes,
    reschedule,
    route_distance,
    schedule,
    tardiness,
)

# Below this many tasks a full timing pass is cheaper than the incremental one.
INCREMENTAL_FROM = 20
MoveFn = Callable[[Model, list[list[int]], list[int], list[float], random.Random], Proposal | None]
# moves.pair_shift is left out: it helped at 5 s on 25-50 patients but hurt at 30 s on 75-100 patients.
MOVES: list[tuple[MoveFn, float]] = [
    (relocate, 0.40),
    (swap, 0.25),
    (pair_move, 0.15),
    (two_opt, 0.08),
    (cross_exchange, 0.12),
]


class State:
    """Routes with cached distances, start times, overtime and cost (the objective plus the overtime penalty)."""

    def __init__(self, model: Model, routes: list[list[int]]) -> None:
        """Evaluate `routes` from scratch; raises ValueError if they cannot be scheduled."""
        self.model = model
        self.routes = routes
        self.where = [0] * model.n_tasks
        for k, r in enumerate(routes):
            for t in r:
                self.where[t] = k
        self.rdist = [route_distance(model, r, k) for k, r in enumerate(routes)]
        self.start = [0.0] * model.n_tasks
        if not schedule(model, routes, self.start):
            raise ValueError("routes cannot be scheduled (cyclic synchronisation)")
        self.distance = sum(self.rdist)
        self.total_tard, self.max_tard = tardiness(model, self.start)
        self.overtime = overtime_minutes(model, routes, self.start)
        self.cost = (self.distance + self.total_tard + self.max_tard + OVERTIME_WEIGHT * self.overtime) / 3.0

    @property
    def objective(self) -> float:
        """The benchmark objective, without the overtime penalty."""
        return (self.distance + self.total_tard + self.max_tard) / 3.0

    def copy_routes(self) -> list[list[int]]:
        """Deep copy of the routes."""
        return [r[:] for r in self.routes]


def work_costs(model: Model) -> tuple[float, float]:
    """Modelled microseconds per annealing iteration and per schedule evaluation on the reference machine.

    Calibrated on the benchmark (2 cores, Python 3.11) so that a run uses about 0.9 of its time limit:
    the per-task terms overstate how the real cost grows, hence the falling correction with the task count.
    """
    n = model.n_tasks
    fit = max(0.3, 0.89 - 0.0035 * n)
    return (2.0 + 0.05 * n) * fit, (8.0 + 0.5 * n) * fit


def construct(model: Model) -> list[list[int]]:
    """Append patients in window order to the caregivers that keep the partial cost (with penalty) lowest."""
    routes: list[list[int]] = [[] for _ in range(model.n_caregivers)]
    start = [0.0] * model.n_tasks
    firsts = [t for t in range(model.n_tasks) if model.partner[t] < 0 or model.partner[t] > t]
    firsts.sort(key=lambda t: (model.earliest[t], model.latest[t], t))
    rdist = [0.0] * model.n_caregivers
    routed: list[tuple[int, int]] = []
    for t in firsts:
        p = model.partner[t]
        options: list[tuple[int, int]] = []
        if p < 0:
            options = [(k, -1) for k in model.allowed[t]]
        else:
            for k1 in model.allowed[t]:
                for k2 in model.allowed[p]:
                    if k1 != k2:
                        options.append((k1, k2))
        best: tuple[float, int, int] | None = None
        pairs = [*routed, (t, p)] if p >= 0 else routed
        for k1, k2 in options:
            routes[k1].append(t)
            if k2 >= 0:
                routes[k2].append(p)
            if schedule(model, routes, start, pairs):
                tt, mt = tardiness(model, start)
                changed = {k1, k2} - {-1}
                d = sum(rdist) + sum(route_distance(model, routes[k], k) - rdist[k] for k in changed)
                c = d + tt + mt + OVERTIME_WEIGHT * overtime_minutes(model, routes, start)
                if best is None or c < best[0] - 1e-9:
                    best = (c, k1, k2)
            if k2 >= 0:
                routes[k2].pop()
            routes[k1].pop()
        if best is None:
            raise ValueError(f"no feasible caregiver for task {model.patient[t]}/{model.service[t]}")
        _, k1, k2 = best
        routes[k1].append(t)
        rdist[k1] = route_distance(model, routes[k1], k1)
        if k2 >= 0:
            routes[k2].append(p)
            rdist[k2] = route_distance(model, routes[k2], k2)
            routed.append((t, p))
    return routes


def anneal(
    model: Model,
    routes: list[list[int]],
    *,
    deadline: float,
    seed: int,
    budget: float,
    t_start: float,
    t_end: float,
) -> tuple[list[list[int]], int]:
    """Simulated annealing with geometric cooling; returns best routes and iterations.

    Cooling progress is the larger of work/budget and elapsed/available time. Work is counted in modelled
    microseconds of the reference machine (per iteration and per schedule evaluation), so the run is
    deterministic for a seed when the machine keeps up with the budget and still cools down fully (stopping
    at `deadline`) when it does not.
    """
    it_cost, eval_cost = work_costs(model)
    incremental = model.n_tasks > INCREMENTAL_FROM
    rng = random.Random(seed)
    t0 = time.monotonic()
    span = max(1e-3, deadline - t0)
    st = State(model, routes)
    best_routes, best_cost = st.copy_routes(), st.cost
    scratch = [0.0] * model.n_tasks
    fns = [f for f, _ in MOVES]
    cum = _cumulated([w for _, w in MOVES])
    log_ratio = math.log(t_end / t_start)
    temp = t_start
    it = evals = 0
    while True:
        if it & 127 == 0:
            now = time.monotonic()
            done = (it * it_cost + evals * eval_cost) / budget
            if now >= deadline or done >= 1.0:
                break
            temp = t_start * math.exp(log_ratio * max(done, (now - t0) / span))
        it += 1
        prop = fns[_pick(cum, rng.random() * cum[-1])](model, st.routes, st.where, st.start, rng)
        if not prop:
            continue
        # Accept if new cost < limit; distance alone is a lower bound on the new cost.
        limit = st.cost - temp * math.log(1.0 - rng.random())
        new_d = {k: route_distance(model, r, k) for k, r in prop.items()}
        distance = st.distance + sum(new_d[k] - st.rdist[k] for k in prop)
        if distance / 3.0 >= limit:
            continue
        old = {k: st.routes[k] for k in prop}
        for k, r in prop.items():
            st.routes[k] = r
        evals += 1
        terms = _evaluate(model, st, old, scratch, distance, incremental)
        if terms is None or terms[3] >= limit:
            _put_back(st, old)
            continue
        scratch = _accept(st, prop, new_d, scratch, distance, terms)
        if st.cost < best_cost - 1e-9:
            best_cost = st.cost
            best_routes = st.copy_routes()
    return best_routes, it


def _cumulated(weights: list[float]) -> list[float]:
    """Running sums of the move weights (the last one is their total)."""
    cum: list[float] = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    return cum


def _pick(cum: list[float], u: float) -> int:
    """The index of the first running sum not below `u`."""
    m = 0
    while cum[m] < u:
        m += 1
    return m


def _evaluate(
    model: Model, st: State, old: dict[int, list[int]], scratch: list[float], distance: float, incremental: bool
) -> tuple[float, float, float, float] | None:
    """Start times of the changed routes (`st.routes`, `old` their routes before) into `scratch`; total and max
    tardiness, overtime and cost, None when the routes cannot be scheduled."""
    if incremental:
        changed: dict[int, int] = {}
        moved: dict[int, int] = {}
        for k, o in old.items():
            r = st.routes[k]
            i, n = 0, min(len(o), len(r))
            while i < n and o[i] == r[i]:
                i += 1
            changed[k] = i
            for t in r[i:]:
                moved[t] = k
        ok = reschedule(model, st.routes, scratch, st.start, changed, st.where, moved)
    else:
        ok = schedule(model, st.routes, scratch)
    if not ok:
        return None
    tt, mt = tardiness(model, scratch)
    ot = overtime_minutes(model, st.routes, scratch)
    return tt, mt, ot, (distance + tt + mt + OVERTIME_WEIGHT * ot) / 3.0


def _put_back(st: State, old: dict[int, list[int]]) -> None:
    """Undo a move: its routes as they were."""
    for k, r in old.items():
        st.routes[k] = r


def _accept(
    st: State,
    prop: dict[int, list[int]],
    new_d: dict[int, float],
    scratch: list[float],
    distance: float,
    terms: tuple[float, float, float, float],
) -> list[float]:
    """Make the evaluated move current in `st`; the old start times, to be reused as scratch."""
    st.start, scratch = scratch, st.start
    st.distance = distance
    st.total_tard, st.max_tard, st.overtime, st.cost = terms
    for k, r in prop.items():
        st.rdist[k] = new_d[k]
        for t in r:
            st.where[t] = k
    return scratch
