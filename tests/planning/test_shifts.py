"""Caregiver shifts: validator, JSON input, and the solver on small hand-made instances."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from backend.planning.hhcrsp import (
    Caregiver,
    Instance,
    Patient,
    Requirement,
    Route,
    Solution,
    Synchronization,
    Visit,
    load_instance,
    overtime,
    validate,
)
from backend.planning.solver import solve

pytestmark = pytest.mark.unit

DURATION = 30.0


def _patient(
    pid: str, x: float, y: float, window: tuple[float, float], *services: str, sync: str | None = None
) -> Patient:
    reqs = tuple(Requirement(s, DURATION) for s in services)
    return Patient(pid, (x, y), window[0], window[1], reqs, Synchronization(sync) if sync else None)


def _caregiver(cid: str, *abilities: str, shift: tuple[float, float] | None = None) -> Caregiver:
    return Caregiver(cid, frozenset(abilities), shift)


def _instance(patients: list[Patient], caregivers: list[Caregiver]) -> Instance:
    """Office at the origin; travel minutes are Euclidean distances."""
    points = [(0.0, 0.0)] + [p.location for p in patients]
    distances = tuple(tuple(math.dist(a, b) for b in points) for a in points)
    services = {r.service: r.duration for p in patients for r in p.requirements}
    return Instance("shifts", tuple(patients), tuple(caregivers), services, (0.0, 0.0), distances)


def _plan(instance: Instance) -> tuple[Solution, dict[str, list[str]]]:
    solution = solve(instance, time_limit=0.3, seed=0)
    return solution, {r.caregiver: [v.patient for v in r.visits] for r in solution.routes}


def _without_shifts(instance: Instance) -> Instance:
    return dataclasses.replace(instance, caregivers=tuple(Caregiver(c.id, c.abilities) for c in instance.caregivers))


def test_validator_reports_visits_outside_the_shift() -> None:
    instance = _instance(
        [_patient("p1", 10, 0, (0, 100), "s"), _patient("p2", 12, 0, (0, 100), "s")],
        [_caregiver("a", "s", shift=(20, 70))],
    )
    early, late = Visit("p1", "s", 15, 45), Visit("p2", "s", 47, 77)
    report = validate(instance, Solution([Route("a", [early, late])]))
    assert "a/p1/s: start 15.000 before shift starts at 20.000" in report.violations
    assert "a/p2/s: end 77.000 after shift ends at 70.000" in report.violations
    assert report.overtime == {"a": ["p1", "p2"]}
    assert overtime(instance, Solution([Route("a", [Visit("p1", "s", 30, 60)])])) == {}
    # Leaving at the shift start, p1 cannot be reached before 20 + 10.
    assert any("earlier than reachable at 30.000" in v for v in report.violations)


def test_load_instance_reads_an_optional_shift(tmp_path: Path) -> None:
    raw = {
        "services": [{"id": "s", "default_duration": 30}],
        "caregivers": [{"id": "a", "abilities": ["s"], "shift": [480, 960]}, {"id": "b", "abilities": ["s"]}],
        "central_offices": [{"id": "d", "location": [0, 0]}],
        "patients": [
            {"id": "p1", "location": [3, 4], "time_window": [500, 600], "required_caregivers": [{"service": "s"}]}
        ],
        "distances": [[0, 5], [5, 0]],
    }
    (tmp_path / "i.json").write_text(json.dumps(raw))
    caregivers = load_instance(tmp_path / "i.json").caregivers
    assert [c.shift for c in caregivers] == [(480.0, 960.0), None]


def test_visit_after_one_shift_end_goes_to_another_caregiver() -> None:
    # Only a can do p1; doing p2 right after it is the cheapest plan, but p2 would end at 90, after a's shift.
    instance = _instance(
        [_patient("p1", 10, 0, (0, 100), "s1"), _patient("p2", 12, 0, (60, 200), "s2")],
        [_caregiver("a", "s1", "s2", shift=(0, 80)), _caregiver("b", "s2")],
    )
    _, unconstrained = _plan(_without_shifts(instance))
    assert unconstrained == {"a": ["p1", "p2"], "b": []}
    solution, routes = _plan(instance)
    assert routes == {"a": ["p1"], "b": ["p2"]}
    report = validate(instance, solution)
    assert report.violations == []
    assert report.overtime == {}


def test_late_shift_start_forces_a_reassignment() -> None:
    # a alone would do p2 early and then p1, but a starts at 150: p2 (window [0, 20]) goes to b.
    instance = _instance(
        [_patient("p1", 10, 0, (200, 300), "s1"), _patient("p2", 11, 0, (0, 20), "s2")],
        [_caregiver("a", "s1", "s2", shift=(150, 600)), _caregiver("b", "s2")],
    )
    _, unconstrained = _plan(_without_shifts(instance))
    assert unconstrained == {"a": ["p2", "p1"], "b": []}
    solution, routes = _plan(instance)
    assert routes == {"a": ["p1"], "b": ["p2"]}
    assert validate(instance, solution).violations == []


def test_impossible_shift_still_returns_a_plan_naming_the_overtime_visit() -> None:
    # No shift can hold p2 (opens at 240, 30 minutes, shifts end by 250): b, who also does p1, overruns least.
    # Without shifts a does all three (p0 is a's alone).
    instance = _instance(
        [
            _patient("p0", 10, 1, (0, 50), "s0"),
            _patient("p1", 10, 0, (200, 210), "s"),
            _patient("p2", 12, 0, (240, 250), "s"),
        ],
        [_caregiver("a", "s0", "s", shift=(0, 100)), _caregiver("b", "s", shift=(0, 250))],
    )
    _, unconstrained = _plan(_without_shifts(instance))
    assert unconstrained == {"a": ["p0", "p1", "p2"], "b": []}
    solution, routes = _plan(instance)
    assert routes == {"a": ["p0"], "b": ["p1", "p2"]}
    assert overtime(instance, solution) == {"b": ["p2"]}
    assert validate(instance, solution).violations == ["b/p2/s: end 270.000 after shift ends at 250.000"]


def test_a_caregiver_who_must_overrun_keeps_no_other_visit_past_the_shift() -> None:
    # Only a can do p2 and it ends at 230, after a's shift; p1 would be cheapest on the way but goes to b.
    instance = _instance(
        [_patient("p1", 10, 0, (120, 200), "s2"), _patient("p2", 12, 0, (200, 300), "s1")],
        [_caregiver("a", "s1", "s2", shift=(0, 100)), _caregiver("b", "s2")],
    )
    _, unconstrained = _plan(_without_shifts(instance))
    assert unconstrained == {"a": ["p1", "p2"], "b": []}
    solution, routes = _plan(instance)
    assert routes == {"a": ["p2"], "b": ["p1"]}
    assert overtime(instance, solution) == {"a": ["p2"]}


def test_simultaneous_pair_is_pushed_by_the_partner_shift_start() -> None:
    # p needs a (s1) and b (s2) together. b leaves at 60, so p cannot start before 70; doing p then q would end
    # at 135, after a's shift, so a must do q first (q: [40, 110]) and p at 75, 5 minutes late.
    instance = _instance(
        [_patient("p", 10, 0, (0, 70), "s1", "s2", sync="simultaneous"), _patient("q", 10, 5, (40, 110), "s1")],
        [_caregiver("a", "s1", shift=(0, 110)), _caregiver("b", "s2", shift=(60, 600))],
    )
    _, unconstrained = _plan(_without_shifts(instance))
    assert unconstrained == {"a": ["p", "q"], "b": ["p"]}
    solution, routes = _plan(instance)
    assert routes == {"a": ["q", "p"], "b": ["p"]}
    report = validate(instance, solution)
    assert report.violations == []
    starts = {(r.caregiver, v.patient): v.arrival for r in solution.routes for v in r.visits}
    assert starts[("a", "p")] == starts[("b", "p")] == 75.0  # q ends at 70, then 5 minutes to p


def test_a_day_of_a_single_visit_is_planned() -> None:
    # A provider with one visit tomorrow (alone, or a two-caregiver one): nothing for the ruin-and-recreate
    # search to move, which once asked it to remove two visits of one and failed the whole day plan.
    for services, sync in ((("s1",), None), (("s1", "s2"), "simultaneous")):
        instance = _instance(
            [_patient("p", 10, 0, (0, 100), *services, sync=sync)],
            [_caregiver("a", "s1", "s2"), _caregiver("b", "s1", "s2")],
        )
        solution, routes = _plan(instance)
        assert validate(instance, solution).violations == []
        assert sorted(c for c, visits in routes.items() if visits) == (["a"] if sync is None else ["a", "b"])
