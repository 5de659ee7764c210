"""Tests for the HHCRSP data model, validator, solver and CLI."""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from backend.planning import fast
from backend.planning.cli import default_data_dir, plan_app
from backend.planning.hhcrsp import (
    Instance,
    Solution,
    load_instance,
    load_solution,
    solution_from_dict,
    solution_to_dict,
    validate,
    write_solution,
)
from backend.planning.lns import Partial, choose_removal, insertion_order, lns, units_of
from backend.planning.schedule import OVERTIME_WEIGHT, compile_model, overtime_minutes, reschedule, schedule
from backend.planning.search import MOVES, State, construct, work_costs
from backend.planning.solver import solve, to_solution

pytestmark = pytest.mark.unit

DATA = default_data_dir()
if not (DATA / "reference_costs.csv").is_file():
    pytest.skip(f"HHCRSP benchmark data not found at {DATA} (set ELDERCARE_HHCRSP_DATA)", allow_module_level=True)


def _references() -> list[dict[str, str]]:
    with (DATA / "reference_costs.csv").open() as fh:
        return list(csv.DictReader(fh))


REFERENCES = _references()
SMALL = "InstanzCPLEX_HCSRP_10_1"


def _load(name: str) -> tuple[Instance, Solution]:
    row = next(r for r in REFERENCES if r["instance"] == f"{name}.json")
    return load_instance(DATA / "instances" / row["instance"]), load_solution(DATA / "solutions" / row["solution"])


@pytest.mark.parametrize("row", REFERENCES, ids=[r["instance"] for r in REFERENCES])
def test_reference_solutions_are_feasible_with_published_costs(row: dict[str, str]) -> None:
    instance = load_instance(DATA / "instances" / row["instance"])
    report = validate(instance, load_solution(DATA / "solutions" / row["solution"]))
    assert report.violations == []
    assert report.distance == pytest.approx(float(row["distance_traveled"]), abs=0.01)
    assert report.total_tardiness == pytest.approx(float(row["total_tardiness"]), abs=0.01)
    assert report.max_tardiness == pytest.approx(float(row["max_tardiness"]), abs=0.01)
    assert report.cost == pytest.approx(float(row["total_cost"]), abs=0.01)


def test_roundtrip_and_alternative_keys(tmp_path: Path) -> None:
    instance, solution = _load(SMALL)
    raw = solution_to_dict(solution)
    for route in raw["routes"]:
        for loc in route["locations"]:
            loc["patient_id"] = loc.pop("patient")
            loc["service_id"] = loc.pop("service")
    assert validate(instance, solution_from_dict(raw)).feasible
    write_solution(solution, tmp_path / "s.json")
    again = load_solution(tmp_path / "s.json")
    assert validate(instance, again).cost == pytest.approx(validate(instance, solution).cost, abs=1e-3)


def _broken(name: str = SMALL) -> tuple[Instance, dict[str, Any]]:
    instance, solution = _load(name)
    return instance, copy.deepcopy(solution_to_dict(solution))


def _find(raw: dict[str, Any], patient: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(route, location) pairs visiting `patient`."""
    hits = []
    for route in raw["routes"]:
        for loc in route["locations"]:
            if loc["patient"] == patient:
                hits.append((route, loc))
    return hits


def _violations(instance: Instance, raw: dict[str, Any]) -> list[str]:
    return validate(instance, solution_from_dict(raw)).violations


def _sync_patient(instance: Instance, kind: str) -> str:
    return next(p.id for p in instance.patients if p.sync is not None and p.sync.kind == kind)


def test_rejects_missing_service() -> None:
    instance, raw = _broken()
    route, loc = _find(raw, "p1")[0]
    route["locations"].remove(loc)
    assert any("p1/" in v and "service missing" in v for v in _violations(instance, raw))


def test_rejects_duplicated_service() -> None:
    instance, raw = _broken()
    route, loc = _find(raw, "p1")[0]
    route["locations"].append(dict(loc))
    assert any("p1/" in v and "performed 2 times" in v for v in _violations(instance, raw))


def test_rejects_caregiver_without_ability() -> None:
    instance, raw = _broken()
    abilities = {c.id: c.abilities for c in instance.caregivers}
    for route in raw["routes"]:
        for loc in route["locations"]:
            target = next((r for r in raw["routes"] if loc["service"] not in abilities[str(r["caregiver_id"])]), None)
            if target is not None:
                route["locations"].remove(loc)
                target["locations"].append(loc)
                where = f"{target['caregiver_id']}/{loc['patient']}/{loc['service']}"
                assert f"{where}: caregiver lacks ability {loc['service']}" in _violations(instance, raw)
                return
    pytest.fail("every caregiver can perform every service")


def test_rejects_broken_simultaneous_sync() -> None:
    instance, raw = _broken()
    pid = _sync_patient(instance, "simultaneous")
    _, loc = _find(raw, pid)[0]
    loc["arrival_time"] = float(loc["arrival_time"]) + 5
    loc["departure_time"] = float(loc["departure_time"]) + 5
    assert any(v.startswith(f"{pid}: simultaneous") for v in _violations(instance, raw))


def test_rejects_broken_sequential_gap() -> None:
    instance, raw = _broken()
    pid = _sync_patient(instance, "sequential")
    patient = next(p for p in instance.patients if p.id == pid)
    assert patient.sync is not None
    second = patient.requirements[1].service
    _, loc = next(h for h in _find(raw, pid) if h[1]["service"] == second)
    shift = patient.sync.max_gap + 1
    loc["arrival_time"] = float(loc["arrival_time"]) + shift
    loc["departure_time"] = float(loc["departure_time"]) + shift
    assert any(v.startswith(f"{pid}: sequential gap") for v in _violations(instance, raw))


def test_rejects_both_services_by_one_caregiver() -> None:
    instance, raw = _broken()
    pid = _sync_patient(instance, "sequential")
    (route_a, _), (route_b, loc_b) = _find(raw, pid)
    route_b["locations"].remove(loc_b)
    route_a["locations"].append(loc_b)
    assert f"{pid}: both services performed by the same caregiver {route_a['caregiver_id']}" in _violations(
        instance, raw
    )


def test_rejects_start_before_window() -> None:
    instance, raw = _broken()
    route = next(r for r in raw["routes"] if r["locations"])
    loc = route["locations"][0]
    patient = next(p for p in instance.patients if p.id == loc["patient"])
    loc["arrival_time"] = patient.earliest - 10
    loc["departure_time"] = loc["arrival_time"] + patient.requirements[0].duration
    assert any("before window opens" in v for v in _violations(instance, raw))


def test_rejects_start_earlier_than_travel_allows() -> None:
    instance, raw = _broken()
    route = next(r for r in raw["routes"] if len(r["locations"]) >= 2)
    first, second = route["locations"][0], route["locations"][1]
    second["arrival_time"] = float(first["departure_time"])
    second["departure_time"] = second["arrival_time"] + 14.0
    assert any("earlier than reachable" in v for v in _violations(instance, raw))


@pytest.mark.parametrize(
    "name", ["InstanzCPLEX_HCSRP_10_1", "InstanzCPLEX_HCSRP_10_3", "InstanzCPLEX_HCSRP_25_1", "InstanzCPLEX_HCSRP_25_6"]
)
def test_solver_output_is_feasible(name: str) -> None:
    instance = load_instance(DATA / "instances" / f"{name}.json")
    solution = solve(instance, time_limit=1.5, seed=0)
    report = validate(instance, solution)
    assert report.violations == []
    assert len(solution.routes) == len(instance.caregivers)
    ref = float(next(r["total_cost"] for r in REFERENCES if r["instance"] == f"{name}.json"))
    assert report.cost < 1.5 * ref


def test_cli_plan_writes_solution(tmp_path: Path) -> None:
    out = tmp_path / "sol.json"
    result = CliRunner().invoke(
        plan_app,
        ["hhcrsp", str(DATA / "instances" / f"{SMALL}.json"), "--time-limit", "1", "--out", str(out), "--seed", "3"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert set(summary) == {"distance", "total_tardiness", "max_tardiness", "cost"}
    instance = load_instance(DATA / "instances" / f"{SMALL}.json")
    report = validate(instance, load_solution(out))
    assert report.feasible
    assert summary["cost"] == pytest.approx(report.cost, abs=2e-3)


def _shifted(instance: Instance) -> Instance:
    """The instance with shifts: every other caregiver starts at 150, the others end at 300."""
    caregivers = tuple(
        dataclasses.replace(c, shift=(150.0, 1e4) if k % 2 else (0.0, 300.0)) for k, c in enumerate(instance.caregivers)
    )
    return dataclasses.replace(instance, caregivers=caregivers)


@pytest.mark.parametrize("shifts", [False, True])
def test_incremental_schedule_matches_full_pass(shifts: bool) -> None:
    instance = load_instance(DATA / "instances" / "InstanzCPLEX_HCSRP_25_1.json")
    model = compile_model(_shifted(instance) if shifts else instance)
    model.max_passes = 200  # compare fixed points, not pass caps
    state = State(model, construct(model))
    rng = random.Random(7)
    compared = 0
    for _ in range(3000):
        move = rng.choice([fn for fn, _ in MOVES])
        proposal = move(model, state.routes, state.where, state.start, rng)
        if not proposal:
            continue
        changed: dict[int, int] = {}
        moved: dict[int, int] = {}
        for k, new in proposal.items():
            old, i = state.routes[k], 0
            while i < min(len(old), len(new)) and old[i] == new[i]:
                i += 1
            changed[k] = i
            moved.update({t: k for t in new[i:]})
        routes = [proposal.get(k, r) for k, r in enumerate(state.routes)]
        full, inc = [0.0] * model.n_tasks, [0.0] * model.n_tasks
        ok = schedule(model, routes, full)
        assert reschedule(model, routes, inc, state.start, changed, state.where, moved) == ok
        if ok:
            compared += 1
            assert max(abs(a - b) for a, b in zip(full, inc, strict=True)) < 1e-6
            if rng.random() < 0.3:
                state = State(model, routes)
    assert compared > 500


def test_solver_is_deterministic_for_a_seed_and_budget() -> None:
    instance = load_instance(DATA / "instances" / "InstanzCPLEX_HCSRP_25_3.json")
    runs = [solution_to_dict(solve(instance, time_limit=60, seed=5, budget=3e5)) for _ in range(2)]
    assert runs[0] == runs[1]


def test_solver_respects_time_limit() -> None:
    instance = load_instance(DATA / "instances" / "InstanzVNS_HCSRP_100_1.json")
    if fast.available():
        fast.warm_up()  # a cold numba cache compiles once per process, before any clock starts
    t0 = time.monotonic()
    solution = solve(instance, time_limit=1.0)
    assert time.monotonic() - t0 < 1.5
    assert validate(instance, solution).feasible


@pytest.mark.parametrize("shifts", [False, True])
def test_lns_insertion_matches_full_schedule(shifts: bool) -> None:
    instance = load_instance(DATA / "instances" / "InstanzCPLEX_HCSRP_25_3.json")
    if shifts:
        instance = _shifted(instance)
    model = compile_model(instance)
    units = units_of(model)
    rng = random.Random(3)
    state = Partial(model, construct(model))
    checked = overtimes = 0
    for _ in range(30):
        removed = choose_removal(model, state, units, rng.randint(2, 6), rng)
        state.remove(removed)
        for unit in insertion_order(model, removed, rng):
            if len(unit) == 1:  # the ranking bound never exceeds the exact cost increase
                for lb, dd, _, k, i, _ in state.candidates(unit[0]):
                    exact = state.evaluate([(unit[0], k, i)], dd)
                    assert exact is None or lb <= exact[0] - state.total + 1e-6
            found, _ = state.best_insertion(unit, rng, 0.0)
            assert found is not None
            state.commit(*found)
            full = [0.0] * model.n_tasks
            assert schedule(model, state.routes, full, state.pairs)
            routed = [t for r in state.routes for t in r]
            assert max(abs(full[t] - state.start[t]) for t in routed) < 1e-6
            assert state.overtime == pytest.approx(overtime_minutes(model, state.routes, full), abs=1e-6)
            overtimes += state.overtime > 0
            checked += 1
        assert sorted(t for r in state.routes for t in r) == list(range(model.n_tasks))
        report = validate(instance, to_solution(instance, model, state.routes))
        assert [v for v in report.violations if "shift" not in v] == []
        assert bool(report.overtime) == (state.overtime > 0)
        assert report.cost * 3 + OVERTIME_WEIGHT * state.overtime == pytest.approx(state.total, abs=1e-6)
    assert checked > 50
    assert (overtimes > 0) == shifts


def test_lns_result_is_feasible_and_not_worse() -> None:
    instance = load_instance(DATA / "instances" / "InstanzCPLEX_HCSRP_25_10.json")
    model = compile_model(instance)
    routes = construct(model)
    initial = State(model, routes).cost
    found, iterations = lns(
        model,
        [r[:] for r in routes],
        deadline=time.monotonic() + 30,
        seed=1,
        budget=2e5,
        t_start=1.0,
        t_end=0.01,
        eval_cost=work_costs(model)[1],
    )
    assert iterations > 10
    report = validate(instance, to_solution(instance, model, found))
    assert report.violations == []
    assert report.cost <= initial + 1e-9
