"""HHCRSP (Mankowska et al. 2014) data model, JSON I/O and an independent solution validator.

Conventions, checked against all 50 published reference solutions (all feasible with a 1e-6 tolerance, costs
within 0.005 of reference_costs.csv): caregivers leave the office at time 0 and return after their last visit;
waiting before a window opens is allowed; the first `required_caregivers` entry is the first service of a
`sequential` pair (gap = start(second) - start(first) in [min, max]); the two services of a patient are done
by two different caregivers (as the key `required_caregivers` says; no reference solution does otherwise).

Shifts (an extension; benchmark caregivers have none): a caregiver with `shift` (a, b) leaves the office at a
instead of 0 and must end every visit by b; the trip back to the office is not counted (caregivers go home).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Solution files store times rounded to 3 decimals: a start, the previous start and a distance may each be off
# by 0.0005, so time comparisons allow 2e-3 (all 50 reference solutions also pass with 1e-6).
TIME_TOLERANCE = 2e-3


@dataclass(frozen=True)
class Requirement:
    """One service a patient needs, with its duration in minutes."""

    service: str
    duration: float


@dataclass(frozen=True)
class Synchronization:
    """Coupling of a patient's two services: `simultaneous` or `sequential` with a [min, max] gap."""

    kind: str
    min_gap: float = 0.0
    max_gap: float = 0.0


@dataclass(frozen=True)
class Patient:
    """A patient with a time window for the start of service and one or two required services."""

    id: str
    location: tuple[float, float]
    earliest: float
    latest: float
    requirements: tuple[Requirement, ...]
    sync: Synchronization | None = None
    # Re-planning a day under way: the caregivers holding the visit now (moving it to anyone else costs
    # `Instance.change_cost` a service) and those it may not go to (the elder's refusals, a declined offer).
    holders: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Caregiver:
    """A caregiver, the services it is able to perform and its optional shift.

    `shift` = (available from, finished by) on the patients' clock: the caregiver leaves the office at its start
    and every visit must end (start + duration) by its end; the return to the office may be later. None: no limit.
    `origin` is the row of `Instance.distances` she sets off from (0: the office; a day under way: where she will
    be free), and `returns` whether travel back to the office counts (False: the route ends at its last visit).
    """

    id: str
    abilities: frozenset[str]
    shift: tuple[float, float] | None = None
    origin: int = 0
    returns: bool = True


@dataclass(frozen=True)
class Instance:
    """An HHCRSP instance; `distances` is over [office, patients..., caregivers' other origins...] in that order.

    `change_cost`: minutes of travel one service given to a caregiver outside its patient's `holders` is worth
    (the stability of a re-planned day); 0 for a plan made from scratch.
    """

    name: str
    patients: tuple[Patient, ...]
    caregivers: tuple[Caregiver, ...]
    services: dict[str, float]
    office: tuple[float, float]
    distances: tuple[tuple[float, ...], ...]
    change_cost: float = 0.0

    def patient_index(self) -> dict[str, int]:
        """Map patient id to its position (distance-matrix row is position + 1)."""
        return {p.id: i for i, p in enumerate(self.patients)}


@dataclass
class Visit:
    """One service performed at a patient: start (arrival) and end (departure) times."""

    patient: str
    service: str
    arrival: float
    departure: float


@dataclass
class Route:
    """The visits of one caregiver, in visiting order."""

    caregiver: str
    visits: list[Visit] = field(default_factory=list)


@dataclass
class Solution:
    """One route per caregiver."""

    routes: list[Route]


@dataclass
class Report:
    """Result of validation: violations (empty if feasible) and cost components."""

    violations: list[str]
    distance: float
    total_tardiness: float
    max_tardiness: float
    # Caregiver id -> patients whose visit starts before the caregiver's shift or ends after it, in route order.
    overtime: dict[str, list[str]] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        """True when no violation was found."""
        return not self.violations

    @property
    def cost(self) -> float:
        """Objective: (distance + total tardiness + max tardiness) / 3."""
        return (self.distance + self.total_tardiness + self.max_tardiness) / 3.0

    def summary(self) -> dict[str, float]:
        """Cost components rounded to 3 decimals."""
        return {
            "distance": round(self.distance, 3),
            "total_tardiness": round(self.total_tardiness, 3),
            "max_tardiness": round(self.max_tardiness, 3),
            "cost": round(self.cost, 3),
        }


def load_instance(path: str | Path) -> Instance:
    """Read an instance from the benchmark JSON format (plus an optional caregiver `shift`: [from, to])."""
    path = Path(path)
    raw = json.loads(path.read_text())
    services = {str(s["id"]): float(s.get("default_duration", 0.0)) for s in raw["services"]}
    patients = []
    for p in raw["patients"]:
        reqs = []
        for r in p["required_caregivers"]:
            sid = str(r["service"])
            dur = r.get("duration")
            reqs.append(Requirement(sid, float(dur) if dur is not None else services.get(sid, 0.0)))
        sync = None
        if p.get("synchronization"):
            s = p["synchronization"]
            gap = s.get("distance") or [0, 0]
            sync = Synchronization(str(s["type"]), float(gap[0]), float(gap[1]))
        tw = p["time_window"]
        loc = p.get("location") or [0.0, 0.0]
        patients.append(
            Patient(str(p["id"]), (float(loc[0]), float(loc[1])), float(tw[0]), float(tw[1]), tuple(reqs), sync)
        )
    caregivers = tuple(
        Caregiver(
            str(c["id"]),
            frozenset(str(a) for a in c["abilities"]),
            (float(c["shift"][0]), float(c["shift"][1])) if c.get("shift") else None,
        )
        for c in raw["caregivers"]
    )
    office_loc = raw["central_offices"][0].get("location") or [0.0, 0.0]
    distances = tuple(tuple(float(x) for x in row) for row in raw["distances"])
    return Instance(
        path.stem, tuple(patients), caregivers, services, (float(office_loc[0]), float(office_loc[1])), distances
    )


def load_solution(path: str | Path) -> Solution:
    """Read a solution; accepts `patient`/`patient_id` and `service`/`service_id` keys."""
    raw = json.loads(Path(path).read_text())
    return solution_from_dict(raw)


def solution_from_dict(raw: dict[str, Any]) -> Solution:
    """Build a solution from its JSON object."""
    routes = []
    for r in raw.get("routes", []):
        visits = [
            Visit(
                str(loc.get("patient", loc.get("patient_id"))),
                str(loc.get("service", loc.get("service_id"))),
                float(loc["arrival_time"]),
                float(loc["departure_time"]),
            )
            for loc in r.get("locations", [])
        ]
        routes.append(Route(str(r["caregiver_id"]), visits))
    return Solution(routes)


def solution_to_dict(solution: Solution) -> dict[str, Any]:
    """Serialise a solution to the README's JSON structure."""
    return {
        "routes": [
            {
                "caregiver_id": r.caregiver,
                "locations": [
                    {
                        "patient": v.patient,
                        "service": v.service,
                        "arrival_time": round(v.arrival, 3),
                        "departure_time": round(v.departure, 3),
                    }
                    for v in r.visits
                ],
            }
            for r in solution.routes
        ]
    }


def write_solution(solution: Solution, path: str | Path) -> None:
    """Write a solution as JSON."""
    Path(path).write_text(json.dumps(solution_to_dict(solution), indent=2) + "\n")


def validate(instance: Instance, solution: Solution, tol: float = TIME_TOLERANCE) -> Report:
    """Recompute feasibility and cost of `solution` from the raw instance data."""
    tally = _Tally()
    pidx = instance.patient_index()
    caregivers = {c.id: c for c in instance.caregivers}
    seen_caregivers: set[str] = set()
    for route in solution.routes:
        cg = caregivers.get(route.caregiver)
        if cg is None:
            tally.violations.append(f"unknown caregiver {route.caregiver}")
            continue
        if route.caregiver in seen_caregivers:
            tally.violations.append(f"caregiver {route.caregiver} has more than one route")
        seen_caregivers.add(route.caregiver)
        _check_route(instance, pidx, cg, route, tol, tally)
    for patient in instance.patients:
        _check_patient(patient, tally.performed, tol, tally.violations)
    return Report(tally.violations, tally.distance, tally.total_tard, tally.max_tard, tally.outside)


@dataclass
class _Tally:
    """What `validate` adds up over the routes."""

    violations: list[str] = field(default_factory=list)
    # (patient, service) -> list of (caregiver, start)
    performed: dict[tuple[str, str], list[tuple[str, float]]] = field(default_factory=dict)
    outside: dict[str, list[str]] = field(default_factory=dict)
    distance: float = 0.0
    total_tard: float = 0.0
    max_tard: float = 0.0


def _check_route(
    instance: Instance, pidx: dict[str, int], cg: Caregiver, route: Route, tol: float, tally: _Tally
) -> None:
    """Check the visits of one caregiver's route in order, adding up its travel and tardiness."""
    violations = tally.violations
    shift_start, shift_end = cg.shift or (0.0, math.inf)
    node, ready = cg.origin, shift_start  # set off (from the office) at the shift start (time 0 without one)
    for v in route.visits:
        where = f"{route.caregiver}/{v.patient}/{v.service}"
        i = pidx.get(v.patient)
        if i is None:
            violations.append(f"{where}: unknown patient")
            continue
        patient = instance.patients[i]
        req = next((r for r in patient.requirements if r.service == v.service), None)
        if req is None:
            violations.append(f"{where}: service not required by patient")
            continue
        if v.service not in cg.abilities:
            violations.append(f"{where}: caregiver lacks ability {v.service}")
        if route.caregiver in patient.excluded:
            violations.append(f"{where}: caregiver excluded for this patient")
        tally.performed.setdefault((v.patient, v.service), []).append((route.caregiver, v.arrival))
        travel = instance.distances[node][i + 1]
        tally.distance += travel
        if v.arrival < patient.earliest - tol:
            violations.append(f"{where}: start {v.arrival:.3f} before window opens at {patient.earliest:.3f}")
        if v.arrival < ready + travel - tol:
            violations.append(f"{where}: start {v.arrival:.3f} earlier than reachable at {ready + travel:.3f}")
        if abs(v.departure - (v.arrival + req.duration)) > tol:
            violations.append(f"{where}: departure {v.departure:.3f} != start + duration {req.duration:.3f}")
        end = v.arrival + req.duration
        _check_shift(route.caregiver, v, where, end, (shift_start, shift_end), tol, tally)
        tard = max(0.0, v.arrival - patient.latest)
        tally.total_tard += tard
        tally.max_tard = max(tally.max_tard, tard)
        node, ready = i + 1, end
    if cg.returns:
        tally.distance += instance.distances[node][0]


def _check_shift(
    caregiver: str, v: Visit, where: str, end: float, shift: tuple[float, float], tol: float, tally: _Tally
) -> None:
    """A visit that starts before the caregiver's shift or ends after it: a violation, and named in `outside`."""
    shift_start, shift_end = shift
    early, late = v.arrival < shift_start - tol, end > shift_end + tol
    if early:
        tally.violations.append(f"{where}: start {v.arrival:.3f} before shift starts at {shift_start:.3f}")
    if late:
        tally.violations.append(f"{where}: end {end:.3f} after shift ends at {shift_end:.3f}")
    if early or late:
        tally.outside.setdefault(caregiver, []).append(v.patient)


def _check_patient(
    patient: Patient, performed: dict[tuple[str, str], list[tuple[str, float]]], tol: float, violations: list[str]
) -> None:
    """Each of the patient's services done exactly once, by two caregivers, synchronised as required."""
    starts: list[float | None] = []
    for req in patient.requirements:
        done = performed.get((patient.id, req.service), [])
        if not done:
            violations.append(f"{patient.id}/{req.service}: service missing")
        elif len(done) > 1:
            violations.append(f"{patient.id}/{req.service}: service performed {len(done)} times")
        starts.append(done[0][1] if len(done) == 1 else None)
    if len(starts) == 2 and all(len(performed.get((patient.id, r.service), [])) == 1 for r in patient.requirements):
        who = {performed[(patient.id, r.service)][0][0] for r in patient.requirements}
        if len(who) == 1:
            violations.append(f"{patient.id}: both services performed by the same caregiver {who.pop()}")
    sync = patient.sync
    if sync is None or len(starts) != 2:
        return
    first, second = starts
    if first is None or second is None:
        return
    if sync.kind == "simultaneous":
        if abs(first - second) > tol:
            violations.append(f"{patient.id}: simultaneous services start at {first:.3f} and {second:.3f}")
    elif sync.kind == "sequential":
        gap = second - first
        if gap < sync.min_gap - tol or gap > sync.max_gap + tol:
            violations.append(f"{patient.id}: sequential gap {gap:.3f} outside [{sync.min_gap:g}, {sync.max_gap:g}]")
    else:
        violations.append(f"{patient.id}: unknown synchronisation {sync.kind}")


def overtime(instance: Instance, solution: Solution, tol: float = TIME_TOLERANCE) -> dict[str, list[str]]:
    """Caregiver id -> patients whose visit lies outside the caregiver's shift (see `Report.overtime`)."""
    return validate(instance, solution, tol).overtime
