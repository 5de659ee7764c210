"""The compiled annealing kernel (backend.planning.fast): valid, not worse, deterministic, all model features."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from backend.planning import fast
from backend.planning.cli import default_data_dir
from backend.planning.hhcrsp import Instance, load_instance, validate
from backend.planning.schedule import OVERTIME_WEIGHT, compile_model
from backend.planning.search import State, construct
from backend.planning.solver import to_solution

DATA: Path = default_data_dir()

pytestmark = [pytest.mark.unit, pytest.mark.skipif(not fast.available(), reason="numba is not installed")]


def _shifted(instance: Instance) -> Instance:
    caregivers = tuple(
        dataclasses.replace(c, shift=(150.0, 1e4) if k % 2 else (0.0, 300.0)) for k, c in enumerate(instance.caregivers)
    )
    return dataclasses.replace(instance, caregivers=caregivers)


def _open_routes(instance: Instance) -> Instance:
    caregivers = tuple(dataclasses.replace(c, returns=bool(k % 2)) for k, c in enumerate(instance.caregivers))
    return dataclasses.replace(instance, caregivers=caregivers)


@pytest.mark.parametrize("variant", ["plain", "shifts", "open"])
def test_compiled_annealing_is_valid_not_worse_and_deterministic(variant: str) -> None:
    instance = load_instance(DATA / "instances" / "InstanzCPLEX_HCSRP_25_6.json")
    if variant == "shifts":
        instance = _shifted(instance)
    elif variant == "open":
        instance = _open_routes(instance)
    model = compile_model(instance)
    routes = construct(model)
    initial = State(model, routes)
    runs = [
        fast.anneal_fast(
            model,
            [r[:] for r in routes],
            deadline=time.monotonic() + 60,
            seed=3,
            budget=2e5,
            t_start=max(1.0, 0.008 * initial.objective),
            t_end=0.01,
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    found, iterations = runs[0]
    assert iterations > 10000
    assert sorted(t for r in found for t in r) == list(range(model.n_tasks))
    for k, r in enumerate(found):
        assert all(k in model.allowed[t] for t in r)
    best = State(model, found)
    assert best.cost <= initial.cost + 1e-9
    report = validate(instance, to_solution(instance, model, found))
    assert [v for v in report.violations if "shift" not in v] == []
    assert report.cost * 3 + OVERTIME_WEIGHT * best.overtime == pytest.approx(best.cost * 3, abs=1e-6)
    if variant == "plain":
        assert best.cost < 0.9 * initial.cost


@pytest.mark.parametrize("variant", ["plain", "shifts", "open"])
def test_incremental_timing_pass_matches_the_full_one(variant: str) -> None:
    instance = load_instance(DATA / "instances" / "InstanzCPLEX_HCSRP_50_6.json")
    if variant == "shifts":
        instance = _shifted(instance)
    elif variant == "open":
        instance = _open_routes(instance)
    model = compile_model(instance)
    model.max_passes = 200  # compare fixed points, not pass caps
    routes = construct(model)
    counts: list[float] = []
    fast.anneal_fast(
        model,
        routes,
        deadline=time.monotonic() + 60,
        seed=11,
        budget=1e5,
        t_start=max(1.0, 0.008 * State(model, routes).objective),
        t_end=0.01,
        check=True,
        mismatches=counts,
    )
    evaluations, times, statuses = counts
    assert evaluations > 5000
    assert times == 0
    assert statuses == 0
