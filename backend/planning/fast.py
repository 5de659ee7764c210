"""Compiled simulated annealing: the inner loop of `search.anneal` on flat arrays, with numba when installed.

The kernel (`backend.planning.kernel`) keeps routes as rows of an integer matrix, proposes the same kinds of moves
as `moves.py` (relocate, swap, pair move, segment reversal, tail exchange) with its own random stream
(xorshift64*), skips a proposal whose travel alone cannot be accepted, re-times the others incrementally
(`kernel.timing.reschedule`, as `schedule.reschedule`) and accepts by the annealing rule. Work is counted in
modelled microseconds (`work_costs_fast`), so a seed gives the same result when the machine keeps up with the
budget. Without numba (or with ELDERCARE_PLANNER_JIT=0) `available()` is False and the solver uses the
pure-Python annealing of `search.py`. The compiled code is cached on disk (numba's cache, next to the kernel):
the first run on a machine compiles it (about 15-30 s), later processes load it in well under a second.
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from backend.planning.kernel import anneal
from backend.planning.kernel.arrays import SearchState, backup, buffers, model_arrays, routes_arrays
from backend.planning.kernel.jit import HAVE_NUMBA, compile_entry
from backend.planning.kernel.rng import seed_state
from backend.planning.schedule import OVERTIME_WEIGHT, Model

if TYPE_CHECKING:
    from backend.planning.search import State

# Iterations per call of the kernel (the deadline is checked between calls: a few milliseconds apart).
CHUNK = 2000
# Move weights: relocate, swap, pair move, segment reversal, tail exchange (as search.MOVES).
WEIGHTS = (0.40, 0.25, 0.15, 0.08, 0.12)


def available() -> bool:
    """Whether the compiled kernel can be used (numba installed and not switched off)."""
    return HAVE_NUMBA and os.environ.get("ELDERCARE_PLANNER_JIT", "1") != "0"


def work_costs_fast(n_tasks: int) -> tuple[float, float]:
    """Modelled microseconds per compiled iteration and per compiled schedule evaluation (reference machine).

    Calibrated against `search.work_costs` (the pure-Python annealing on the same budget, same machine, 13 to
    130 tasks), the kernel taking about the time the Python loop takes for the same modelled work.
    """
    return 0.1 + 0.0006 * n_tasks, 0.25 + 0.006 * n_tasks


_COMPILED: dict[str, Any] = {}


def _compiled() -> Any:
    """The kernel compiled by numba (cached on disk), the pure-Python kernel when numba is unavailable."""
    if "kernel" in _COMPILED:
        return _COMPILED["kernel"]
    if not available():
        return anneal.run
    kernel = compile_entry(anneal.run)
    _COMPILED["kernel"] = kernel
    return kernel


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
    rt = routes_arrays(routes, n, n_cg)
    search = _search_state(st, rt.R, rt.L, seed, budget, t_start, t_end, check)
    args = (model_arrays(model), rt, backup(rt.R.shape[1]), buffers(n, n_cg), search)
    kernel(*args, 0)  # compiles (or loads) before the clock starts
    t0 = time.monotonic()
    span = max(1e-3, deadline - t0)
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        search.params[5] = (now - t0) / span
        more = kernel(*args, CHUNK)
        if not more:
            break
    counters = search.counters
    out = [[int(t) for t in search.BR[k, : search.BLn[k]]] for k in range(n_cg)]
    if mismatches is not None:
        mismatches[:] = [float(counters[1]), float(counters[3]), float(counters[4])]
    return out, int(counters[0])


def _search_state(
    st: State, R: Any, L: Any, seed: int, budget: float, t_start: float, t_end: float, check: bool
) -> SearchState:
    """The kernel's search state from the starting routes' `search.State` (see `arrays.SearchState`)."""
    it_cost, eval_cost = work_costs_fast(st.model.n_tasks)
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
    return SearchState(
        start=np.array(st.start, dtype=np.float64),
        rdist=np.array(st.rdist, dtype=np.float64),
        cur=np.array([st.distance, st.total_tard, st.max_tard, st.overtime, st.cost], dtype=np.float64),
        BR=R.copy(),
        BLn=L.copy(),
        best=np.array([st.cost], dtype=np.float64),
        rs=seed_state(seed),
        cum=np.cumsum(np.array(WEIGHTS, dtype=np.float64)),
        params=np.array(params_list, dtype=np.float64),
        counters=np.zeros(5, dtype=np.float64),
    )
