"""Large neighbourhood search: ruin related patients and recreate them by cheapest exact insertion.

A patient ("unit") is removed and reinserted with all its services at once, so synchronised double-service
visits are always placed as a pair. Insertion candidates are ranked by a lower bound on the cost increase
(added distance plus the inserted services' own tardiness and overtime at their earliest reachable start: adding
a task only adds constraints, so no start time can move earlier) and only the promising ones are evaluated
exactly with the incremental timing pass.
"""

from __future__ import annotations

import math
import random
import time

from backend.planning.schedule import (
    EPS,
    OVERTIME_WEIGHT,
    SEQ_FIRST,
    SIMULTANEOUS,
    Model,
    overtime_minutes,
    route_distance,
    schedule,
    tardiness,
)

# One insertion: (task, route, index in the route after the previous insertions of the same unit).
Insertion = list[tuple[int, int, int]]
# Candidate positions per service first paired for the two services of a synchronised patient.
PAIR_CANDIDATES = 8
# Exact evaluations allowed per inserted patient (candidates are tried in lower-bound order).
MAX_EXACT = 12
# Modelled microseconds per scanned candidate position and per removed-and-reinserted patient.
SCAN_COST = 0.6
UNIT_COST = 15.0


def units_of(model: Model) -> list[tuple[int, ...]]:
    """Tasks grouped per patient (one or two tasks; a synchronised pair is listed first task first)."""
    out: list[tuple[int, ...]] = []
    seen: set[int] = set()
    by_node: dict[int, list[int]] = {}
    for t in range(model.n_tasks):
        by_node.setdefault(model.node[t], []).append(t)
    for t in range(model.n_tasks):
        if t in seen:
            continue
        group = tuple(by_node[model.node[t]])
        seen.update(group)
        out.append(group)
    return out


class Partial:
    """Routes that may leave whole patients unrouted, with least-fixed-point start times, overtime and cost."""

    def __init__(self, model: Model, routes: list[list[int]]) -> None:
        """Evaluate `routes`; raises ValueError if they cannot be scheduled."""
        self.model = model
        self.routes = routes
        self.where = [-1] * model.n_tasks
        self.start = [0.0] * model.n_tasks
        self.scratch = [0.0] * model.n_tasks
        self.pairs: list[tuple[int, int]] = []
        self.rdist: list[float] = []
        self.distance = self.total_tard = self.max_tard = self.overtime = 0.0
        self.refresh()

    @property
    def total(self) -> float:
        """Three times the search cost: distance + total tardiness + max tardiness + overtime penalty."""
        return self.distance + self.total_tard + self.max_tard + OVERTIME_WEIGHT * self.overtime

    def refresh(self) -> None:
        """Recompute every cached value from the routes."""
        model = self.model
        self.where = [-1] * model.n_tasks
        for k, r in enumerate(self.routes):
            for t in r:
                self.where[t] = k
        self.pairs = [(f, g) for f, g in model.pairs if self.where[f] >= 0]
        self.rdist = [route_distance(model, r, k) for k, r in enumerate(self.routes)]
        if not schedule(model, self.routes, self.start, self.pairs):
            raise ValueError("routes cannot be scheduled (cyclic synchronisation)")
        self.distance = sum(self.rdist)
        self.total_tard, self.max_tard = tardiness(model, self.start)
        self.overtime = overtime_minutes(model, self.routes, self.start)

    def remove(self, units: list[tuple[int, ...]]) -> None:
        """Unroute every task of `units` and reschedule."""
        gone = {t for u in units for t in u}
        for k, r in enumerate(self.routes):
            if not gone.isdisjoint(r):
                self.routes[k] = [t for t in r if t not in gone]
        self.refresh()

    def candidates(self, t: int) -> list[tuple[float, float, float, int, int, float]]:
        """(lower bound, added distance, earliest start, route, index, latest start within the shift) per position."""
        model = self.model
        dist, node, dur, start = model.dist, model.node, model.duration, self.start
        n = node[t]
        e, late, mt = model.earliest[t], model.latest[t], self.max_tard
        out: list[tuple[float, float, float, int, int, float]] = []
        origin, back, extra = model.origin, model.back, model.extra
        for k in model.allowed[t]:
            r = self.routes[k]
            row, ready = dist[origin[k]], model.shift_start[k]
            free = model.shift_end[k] - dur[t]
            given = extra[t][k] if extra is not None else 0.0
            for i in range(len(r) + 1):
                nn = node[r[i]] if i < len(r) else back[k]
                dd = row[n] + dist[n][nn] - row[nn] + given
                a = ready + row[n]
                if a < e:
                    a = e
                tard = a - late if a > late else 0.0
                lb = dd + tard + (tard - mt if tard > mt else 0.0)
                if a > free:
                    lb += OVERTIME_WEIGHT * (a - free)
                out.append((lb, dd, a, k, i, free))
                if i < len(r):
                    prev = r[i]
                    ready = start[prev] + dur[prev]
                    row = dist[node[prev]]
        return out

    def evaluate(self, ins: Insertion, added: float) -> tuple[float, dict[int, float]] | None:
        """Exact new total after applying `ins` (added distance `added`) and the changed start times.

        Inserting tasks only adds constraints, so the new least fixed point is found by pushing start times
        forward from the inserted tasks along route order and synchronisation (label correcting). Tasks that keep
        being pushed (more pushes than three per changed task) signal a cyclic coupling: None.
        """
        model = self.model
        routes, where, start = self.routes, self.where, self.start
        dist, node, dur, partner, kind = model.dist, model.node, model.duration, model.partner, model.kind
        gmin, gmax = model.gap_min, model.gap_max
        for t, k, i in ins:
            routes[k].insert(i, t)
            where[t] = k
        new: dict[int, float] = {}
        stack: list[int] = []
        for t, k, i in ins:
            r = routes[k]
            if i > 0:
                pv = r[i - 1]
                s = new.get(pv, start[pv]) + dur[pv] + dist[node[pv]][node[t]]
            else:
                s = model.shift_start[k] + dist[model.origin[k]][node[t]]
            if s < model.earliest[t]:
                s = model.earliest[t]
            new[t] = s
            stack.append(t)
        pops = 0
        ok = True
        while stack:
            pops += 1
            if pops > 3 * len(new) + 8:
                ok = False  # tasks keep being pushed: a positive cycle (or a chain not worth following)
                break
            u = stack.pop()
            su = new[u]
            r = routes[where[u]]
            j = r.index(u) + 1
            if j < len(r):
                v = r[j]
                lb = su + dur[u] + dist[node[u]][node[v]]
                if lb > new.get(v, start[v]) + EPS:
                    new[v] = lb
                    stack.append(v)
            p = partner[u]
            if p >= 0 and where[p] >= 0:
                kd = kind[u]
                lb = su if kd == SIMULTANEOUS else (su + gmin[u] if kd == SEQ_FIRST else su - gmax[u])
                if lb > new.get(p, start[p]) + EPS:
                    new[p] = lb
                    stack.append(p)
        over = overtime_minutes(model, routes, start, new) if ok else 0.0
        for t, k, i in reversed(ins):
            del routes[k][i]
            where[t] = -1
        if not ok:
            return None
        tt, mt = self._tardiness_with(new)
        return self.distance + added + tt + mt + OVERTIME_WEIGHT * over, new

    def _tardiness_with(self, new: dict[int, float]) -> tuple[float, float]:
        """Total and max tardiness once the tasks in `new` start at their new times (max only grows here)."""
        latest, start = self.model.latest, self.start
        tt, mt = self.total_tard, self.max_tard
        for t, s in new.items():
            late = latest[t]
            if s > late:
                x = s - late
                tt += x
                if x > mt:
                    mt = x
            old = start[t] - late
            if old > 0.0:
                tt -= old
        return tt, mt

    def commit(self, ins: Insertion, new: dict[int, float]) -> None:
        """Apply `ins` with the start times `new` found by `evaluate` and update the cached values."""
        model, start = self.model, self.start
        for t, k, i in ins:
            self.routes[k].insert(i, t)
            self.where[t] = k
        for k in {k for _, k, _ in ins}:
            self.rdist[k] = route_distance(model, self.routes[k], k)
        self.distance = sum(self.rdist)
        self.total_tard, self.max_tard = self._tardiness_with(new)
        for t, s in new.items():
            start[t] = s
        self.overtime = overtime_minutes(model, self.routes, start)
        if len(ins) == 2:
            f, g = ins[0][0], ins[1][0]
            self.pairs.append((f, g) if f < g else (g, f))

    def best_insertion(
        self, unit: tuple[int, ...], rng: random.Random, blink: float
    ) -> tuple[tuple[Insertion, dict[int, float]] | None, int]:
        """Cheapest exact insertion of `unit` among its most promising positions, and the evaluations spent.

        Each candidate is skipped with probability `blink` (randomised greedy insertion).
        """
        ranked = self._ranked(unit)
        ranked.sort(key=lambda c: c[0])
        base = self.total
        best: tuple[Insertion, dict[int, float]] | None = None
        best_delta = math.inf
        evals = 0
        for lb, dd, ins in ranked:
            if lb >= best_delta - 1e-9 or evals >= MAX_EXACT:
                break
            if blink > 0.0 and rng.random() < blink:
                continue
            evals += 1
            res = self.evaluate(ins, dd)
            if res is not None and res[0] - base < best_delta - 1e-9:
                best, best_delta = (ins, res[1]), res[0] - base
        if best is None and evals >= MAX_EXACT:
            # Every cheap candidate was unschedulable: fall back to the full list.
            for _, dd, ins in ranked:
                evals += 1
                res = self.evaluate(ins, dd)
                if res is not None:
                    return (ins, res[1]), evals
        return best, evals

    def _ranked(self, unit: tuple[int, ...]) -> list[tuple[float, float, Insertion]]:
        """Insertion candidates of `unit` with their lower bound and added distance, unsorted."""
        if len(unit) == 1:
            t = unit[0]
            return [(lb, dd, [(t, k, i)]) for lb, dd, _, k, i, _ in self.candidates(t)]
        return self._ranked_pairs(unit[0], unit[1])

    def _ranked_pairs(self, t: int, p: int) -> list[tuple[float, float, Insertion]]:
        """Candidates for a synchronised pair: each service's position in a different route, bounded jointly."""
        model = self.model
        ranked: list[tuple[float, float, Insertion]] = []
        ct, cp = sorted(self.candidates(t)), sorted(self.candidates(p))
        sim = model.kind[t] == SIMULTANEOUS
        lo, hi = model.gap_min[p], model.gap_max[t]
        lt, lp, mt = model.latest[t], model.latest[p], self.max_tard
        # Pair the best positions of each service, or all of them if the best ones all lie in one route.
        for keep in (PAIR_CANDIDATES, None):
            for _, d1, a1, k1, i1, f1 in ct[:keep]:
                for _, d2, a2, k2, i2, f2 in cp[:keep]:
                    if k1 == k2:
                        continue
                    if sim:
                        s1 = s2 = a1 if a1 > a2 else a2
                    else:
                        s1, s2 = a1, a2
                        if s2 < s1 + lo:
                            s2 = s1 + lo
                        if s1 < s2 - hi:
                            s1 = s2 - hi
                    x1 = s1 - lt if s1 > lt else 0.0
                    x2 = s2 - lp if s2 > lp else 0.0
                    worst = x1 if x1 > x2 else x2
                    lb = d1 + d2 + x1 + x2 + (worst - mt if worst > mt else 0.0)
                    if s1 > f1:
                        lb += OVERTIME_WEIGHT * (s1 - f1)
                    if s2 > f2:
                        lb += OVERTIME_WEIGHT * (s2 - f2)
                    ranked.append((lb, d1 + d2, [(t, k1, i1), (p, k2, i2)]))
            if ranked:
                break
        return ranked


def choose_removal(
    model: Model, st: Partial, units: list[tuple[int, ...]], q: int, rng: random.Random
) -> list[tuple[int, ...]]:
    """Pick `q` patients to remove: related to a random seed (space and time), worst placed, or random."""
    r = rng.random()
    dist, node, start = model.dist, model.node, st.start
    if r < 0.15:
        return rng.sample(units, q)
    if r < 0.3:
        # Worst placed: tardiness, overtime and detour per patient, randomised rank selection.
        scores: list[tuple[float, int]] = []
        for idx, u in enumerate(units):
            s = 0.0
            for t in u:
                k = st.where[t]
                route = st.routes[k]
                i = route.index(t)
                a = node[route[i - 1]] if i > 0 else model.origin[k]
                b = node[route[i + 1]] if i + 1 < len(route) else model.back[k]
                n = node[t]
                s += dist[a][n] + dist[n][b] - dist[a][b]
                late = start[t] - model.latest[t]
                if late > 0:
                    s += 2.0 * late
                over = start[t] + model.duration[t] - model.shift_end[st.where[t]]
                if over > 0:
                    s += OVERTIME_WEIGHT * over
            scores.append((-s, idx))
        scores.sort()
        order = [idx for _, idx in scores]
    else:
        # Related to a seed: travel distance plus difference of start times (both in minutes).
        seed = units[rng.randrange(len(units))]
        sn, ss = node[seed[0]], start[seed[0]]
        rel = sorted(
            (dist[sn][node[u[0]]] + abs(start[u[0]] - ss) * rng.uniform(0.5, 1.5), idx) for idx, u in enumerate(units)
        )
        order = [idx for _, idx in rel]
    picked: list[tuple[int, ...]] = []
    while len(picked) < q:
        j = int(len(order) * rng.random() ** 4)
        picked.append(units[order.pop(j)])
    return picked


def insertion_order(model: Model, removed: list[tuple[int, ...]], rng: random.Random) -> list[tuple[int, ...]]:
    """Order in which removed patients are reinserted."""
    r = rng.random()
    if r < 0.35:
        rng.shuffle(removed)
        return removed
    if r < 0.65:
        return sorted(removed, key=lambda u: (model.earliest[u[0]], rng.random()))
    if r < 0.85:
        return sorted(removed, key=lambda u: (-len(u), len(model.allowed[u[0]]), rng.random()))
    return sorted(removed, key=lambda u: (model.latest[u[0]], rng.random()))


def lns(
    model: Model,
    routes: list[list[int]],
    *,
    deadline: float,
    seed: int,
    budget: float,
    t_start: float,
    t_end: float,
    eval_cost: float,
) -> tuple[list[list[int]], int]:
    """Ruin-and-recreate with simulated-annealing acceptance; returns the best routes and the iterations.

    Temperatures are in objective units; cooling progress is the larger of modelled work / budget and elapsed /
    available time, as in `search.anneal`, so a run is deterministic for a seed when the work budget binds.
    """
    rng = random.Random(seed)
    units = units_of(model)
    if len(units) < 2:  # a day of one visit: removing two of them is impossible, and there is nothing to reorder
        return [r[:] for r in routes], 0
    st = Partial(model, [r[:] for r in routes])
    cur_total = st.total
    best_routes, best_total = [r[:] for r in st.routes], cur_total
    t0 = time.monotonic()
    span = max(1e-3, deadline - t0)
    log_ratio = math.log(t_end / t_start)
    q_max = max(2, min(30, len(units) // 4))
    work = 0.0
    it = 0
    while True:
        now = time.monotonic()
        done = work / budget
        if now >= deadline or done >= 1.0:
            break
        temp = 3.0 * t_start * math.exp(log_ratio * max(done, (now - t0) / span))
        it += 1
        saved = [r[:] for r in st.routes]
        q = rng.randint(2, q_max)
        removed = choose_removal(model, st, units, q, rng)
        st.remove(removed)
        work += UNIT_COST * (q + len(units) / 4)
        blink = 0.0 if rng.random() < 0.5 else 0.05
        ok = True
        for u in insertion_order(model, removed, rng):
            found, evals = st.best_insertion(u, rng, blink)
            work += evals * eval_cost + SCAN_COST * model.n_tasks
            if found is None:
                ok = False
                break
            st.commit(*found)
        limit = cur_total - temp * math.log(1.0 - rng.random())
        if ok and st.total < limit:
            cur_total = st.total
            if cur_total < best_total - 1e-9:
                best_total = cur_total
                best_routes = [r[:] for r in st.routes]
        else:
            st.routes = saved
            st.refresh()
    return best_routes, it
