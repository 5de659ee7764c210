"""The planner re-planning a day under way: caregivers set off from where they will be free, routes that end at
their last visit, visits an elder refused to a caregiver, a warm start and the cost of changing who holds a visit."""

from __future__ import annotations

import math

import pytest

from backend.planning.hhcrsp import Caregiver, Instance, Patient, Requirement, validate
from backend.planning.schedule import compile_model
from backend.planning.solver import solve, warm_routes

pytestmark = pytest.mark.unit

MEAL = Requirement("meal", 30.0)


def _instance(
    points: list[tuple[float, float]],
    caregivers: list[Caregiver],
    *,
    origins: list[tuple[float, float]] = (),  # type: ignore[assignment]
    windows: list[tuple[float, float]] | None = None,
    holders: list[frozenset[str]] | None = None,
    excluded: list[frozenset[str]] | None = None,
    change_cost: float = 0.0,
) -> Instance:
    """Patients at `points` (office at 0, 0), extra origins after them; distance = straight line in minutes."""
    nodes = [(0.0, 0.0), *points, *origins]
    windows = windows or [(0.0, 600.0)] * len(points)
    return Instance(
        name="replan",
        patients=tuple(
            Patient(
                id=f"p{i}",
                location=point,
                earliest=windows[i][0],
                latest=windows[i][1],
                requirements=(MEAL,),
                holders=holders[i] if holders else frozenset(),
                excluded=excluded[i] if excluded else frozenset(),
            )
            for i, point in enumerate(points)
        ),
        caregivers=tuple(caregivers),
        services={"meal": 30.0},
        office=(0.0, 0.0),
        distances=tuple(tuple(math.dist(a, b) for b in nodes) for a in nodes),
        change_cost=change_cost,
    )


def _who(solution: object) -> dict[str, str]:
    return {v.patient: r.caregiver for r in solution.routes for v in r.visits}  # type: ignore[attr-defined]


def test_each_caregiver_sets_off_from_her_own_origin_and_an_open_route_costs_no_way_back() -> None:
    # West at (-10, 0) and east at (10, 0); from the office the split does not matter, from their origins it does.
    west = Caregiver("west", frozenset({"meal"}), origin=3, returns=False)
    east = Caregiver("east", frozenset({"meal"}), origin=4, returns=False)
    instance = _instance([(-9.0, 0.0), (9.0, 0.0)], [west, east], origins=[(-10.0, 0.0), (10.0, 0.0)])
    solution = solve(instance, time_limit=1.0, seed=1)
    report = validate(instance, solution)
    assert report.feasible, report.violations
    assert _who(solution) == {"p0": "west", "p1": "east"}
    assert report.distance == pytest.approx(2.0)  # one minute each way out, no way back counted
    # Setting off from the office at the shift start, the first visit starts no earlier than the travel allows.
    first = {r.caregiver: r.visits[0].arrival for r in solution.routes}
    assert first == {"west": pytest.approx(1.0), "east": pytest.approx(1.0)}


def test_a_caregiver_the_elder_refused_is_never_given_the_visit() -> None:
    near = Caregiver("near", frozenset({"meal"}), origin=2, returns=False)
    far = Caregiver("far", frozenset({"meal"}), origin=3, returns=False)
    free = _instance([(1.0, 0.0)], [near, far], origins=[(1.0, 1.0), (30.0, 0.0)])
    assert _who(solve(free, time_limit=0.5, seed=0)) == {"p0": "near"}
    refused = _instance([(1.0, 0.0)], [near, far], origins=[(1.0, 1.0), (30.0, 0.0)], excluded=[frozenset({"near"})])
    assert compile_model(refused).allowed == [[1]]
    solution = solve(refused, time_limit=0.5, seed=0)
    assert _who(solution) == {"p0": "far"}
    assert validate(refused, solution).feasible


def _swap_day(change_cost: float) -> Instance:
    """Two caregivers each holding the visit next to the other's origin: swapping saves 2 × 8 minutes of travel."""
    a = Caregiver("a", frozenset({"meal"}), origin=3, returns=False)
    b = Caregiver("b", frozenset({"meal"}), origin=4, returns=False)
    return _instance(
        [(-9.0, 0.0), (9.0, 0.0)],
        [a, b],
        origins=[(-10.0, 0.0), (10.0, 0.0)],
        holders=[frozenset({"b"}), frozenset({"a"})],
        change_cost=change_cost,
    )


def test_a_change_is_made_only_when_it_saves_more_than_it_costs() -> None:
    warm = {"a": ["p1"], "b": ["p0"]}  # today: a crosses the town to p1, b to p0 (19 minutes each)
    cheap = solve(_swap_day(5.0), time_limit=1.0, seed=2, warm=warm)
    assert _who(cheap) == {"p0": "a", "p1": "b"}  # 36 minutes of travel saved for 2 × 5 of changes
    dear = solve(_swap_day(30.0), time_limit=1.0, seed=2, warm=warm)
    assert _who(dear) == {"p0": "b", "p1": "a"}  # 2 × 30 of changes outweigh it: the plan stands


def test_a_warm_start_must_place_every_visit_once_with_an_allowed_caregiver() -> None:
    instance = _swap_day(5.0)
    model = compile_model(instance)
    assert warm_routes(instance, model, {"a": ["p1"], "b": ["p0"]}) == [[1], [0]]
    with pytest.raises(ValueError, match="leaves patients out"):
        warm_routes(instance, model, {"a": ["p1"]})
    with pytest.raises(ValueError, match="placed too often"):
        warm_routes(instance, model, {"a": ["p1", "p1"], "b": ["p0"]})
