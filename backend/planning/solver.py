"""HHCRSP solver entry point: greedy construction, multi-start simulated annealing, then ruin-and-recreate."""

from __future__ import annotations

import time

from backend.core.offload import preload
from backend.planning import fast
from backend.planning.hhcrsp import Instance, Route, Solution, Visit
from backend.planning.lns import lns
from backend.planning.schedule import Model, compile_model, schedule
from backend.planning.search import State, anneal, construct, work_costs

preload(__name__)  # compute() runs this module's functions in the API's pool of processes

# Share of the time limit converted into a deterministic work budget (modelled microseconds, see work_costs).
BUDGET_SHARE = 0.9
# Initial LNS temperature relative to the best annealing cost, and the LNS share of the second half (the rest
# goes to the final annealing run; 0.7 before the annealing was compiled, when it was as slow as the LNS).
LNS_T0 = 0.005
LNS_SHARE = 0.3


def to_solution(instance: Instance, model: Model, routes: list[list[int]]) -> Solution:
    """Convert task routes into a Solution with earliest feasible start times."""
    start = [0.0] * model.n_tasks
    if not schedule(model, routes, start):
        raise ValueError("routes cannot be scheduled")
    out = []
    for k, cg in enumerate(instance.caregivers):
        visits = [Visit(model.patient[t], model.service[t], start[t], start[t] + model.duration[t]) for t in routes[k]]
        out.append(Route(cg.id, visits))
    return Solution(out)


def warm_routes(instance: Instance, model: Model, warm: dict[str, list[str]]) -> list[list[int]]:
    """Task routes from caregiver id -> patient ids in visiting order (a patient of two services in two routes);
    ValueError unless every task is placed exactly once with a caregiver allowed to do it."""
    tasks: dict[str, list[int]] = {}
    for t in range(model.n_tasks):
        tasks.setdefault(model.patient[t], []).append(t)
    routes: list[list[int]] = []
    for k, caregiver in enumerate(instance.caregivers):
        route = []
        for patient in warm.get(caregiver.id, []):
            left = tasks.get(patient)
            if not left:
                raise ValueError(f"patient {patient} is not in the instance, or placed too often")
            t = left.pop(0)
            if k not in model.allowed[t]:
                raise ValueError(f"caregiver {caregiver.id} may not serve patient {patient}")
            route.append(t)
        routes.append(route)
    if any(tasks.values()):
        raise ValueError("the warm start leaves patients out")
    return routes


def solve(
    instance: Instance,
    *,
    time_limit: float,
    seed: int = 0,
    budget: float | None = None,
    restarts: int = 4,
    warm: dict[str, list[str]] | None = None,
) -> Solution:
    """Plan routes for `instance` within `time_limit` seconds (deterministic for a seed and work budget).

    `restarts` independent annealing runs from the greedy solution share half of the budget; the best one is
    then improved by ruin-and-recreate (`lns`, LNS_SHARE of the other half) and polished by a cool annealing run.
    The annealing runs use the compiled kernel (`fast.anneal_fast`) when numba is installed, `search.anneal`
    otherwise; the kernel is compiled or loaded from numba's disk cache before the clock starts.
    Shifts are soft in the search (overtime is penalised by OVERTIME_WEIGHT), so a full solution is always
    returned; `hhcrsp.overtime` names the visits still outside a shift. Temperatures follow the objective alone.
    `warm` starts from a plan already made (caregiver id -> patient ids, see `warm_routes`) instead of the greedy
    construction; nothing worse than it (travel, tardiness, overtime and `change_cost` together) is returned.
    """
    if fast.available():
        fast.warm_up()  # compiling (or loading the compiled kernel) is not search time
    t0 = time.monotonic()
    end = t0 + max(0.0, time_limit - 0.1)
    model = compile_model(instance)
    routes = warm_routes(instance, model, warm) if warm is not None else construct(model)
    initial = State(model, routes)
    if budget is None:
        budget = max(0.05, time_limit) * 1e6 * BUDGET_SHARE
    t_start = max(1.0, 0.008 * initial.objective)
    runs = max(1, restarts)
    first_share = 0.5 if runs > 1 else 1.0
    best, best_cost = _restarts(model, routes, initial.cost, (t0, end), seed, budget, first_share, t_start, runs)
    if runs > 1:
        lns_share = (1.0 - first_share) * LNS_SHARE
        budgets = (budget * lns_share, budget * (1.0 - first_share - lns_share))
        best = _improve(model, best, best_cost, end, seed * 7919 + runs, budgets, t_start)
    return to_solution(instance, model, best)


def _restarts(
    model: Model,
    routes: list[list[int]],
    cost0: float,
    clock: tuple[float, float],
    seed: int,
    budget: float,
    share: float,
    t_start: float,
    runs: int,
) -> tuple[list[list[int]], float]:
    """The best of `runs` independent annealing runs from `routes` (of cost `cost0`), sharing `share` of the
    budget and of the time from clock = (t0, end); its routes and cost."""
    run = fast.anneal_fast if fast.available() else anneal
    t0, end = clock
    best, best_cost = routes, cost0
    for i in range(runs):
        now = time.monotonic()
        deadline = now + (end - t0) * share / runs
        found, _ = run(
            model,
            [r[:] for r in routes],
            deadline=min(deadline, end),
            seed=seed * 7919 + i,
            budget=budget * share / runs,
            t_start=t_start,
            t_end=0.01,
        )
        cost = State(model, found).cost
        if cost < best_cost:
            best, best_cost = found, cost
    return best, best_cost


def _improve(
    model: Model,
    best: list[list[int]],
    best_cost: float,
    end: float,
    seed: int,
    budgets: tuple[float, float],
    t_start: float,
) -> list[list[int]]:
    """Ruin-and-recreate on the best routes (LNS_SHARE of the time left, the first of `budgets`), then a cool
    annealing run on the rest (the second)."""
    run = fast.anneal_fast if fast.available() else anneal
    now = time.monotonic()
    found, _ = lns(
        model,
        [r[:] for r in best],
        deadline=min(end, now + (end - now) * LNS_SHARE),
        seed=seed,
        budget=budgets[0],
        t_start=max(0.3, LNS_T0 * State(model, best).objective),
        t_end=0.01,
        eval_cost=work_costs(model)[1],
    )
    cost = State(model, found).cost
    if cost < best_cost:
        best, best_cost = found, cost
    found, _ = run(
        model,
        [r[:] for r in best],
        deadline=end,
        seed=seed + 1,
        budget=budgets[1],
        t_start=t_start / 16,
        t_end=0.01,
    )
    if State(model, found).cost < best_cost:
        best = found
    return best
