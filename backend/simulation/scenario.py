"""A simulated day: the city, its people and how they behave, as one JSON document.

The scenario says how to generate the day, not every elder by name: the same scenario and seed
always give the same providers, caregivers, elders and requests, so two dispatch policies can be
compared on exactly the same day. ``generate`` makes ready-made ones (``eldercare simulate
--generate city``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

# lookahead: future positions (backend/calendars/positions.py) and rolling re-optimisation (backend/plans/rolling.py);
# hindsight: the whole day known at the start and planned offline (backend/simulation/hindsight.py), a reference.
Policy = Literal["greedy", "batched", "lookahead", "hindsight"]


class Point(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CaregiverBehaviour(BaseModel):
    """How caregivers answer offers."""

    accept_delay_s: tuple[float, float] = (5.0, 60.0)  # uniform between
    decline_probability: float = Field(default=0.1, ge=0, le=1)
    no_answer_probability: float = Field(default=0.05, ge=0, le=1)
    skills_per_caregiver: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _odds(self) -> CaregiverBehaviour:
        if self.decline_probability + self.no_answer_probability > 1:
            raise ValueError("decline_probability + no_answer_probability must not exceed 1")
        if self.accept_delay_s[0] < 0 or self.accept_delay_s[1] < self.accept_delay_s[0]:
            raise ValueError("accept_delay_s must be [low, high] with 0 <= low <= high")
        return self


class Scenario(BaseModel):
    """One simulated day. Times are local (Asia/Shanghai) when no offset is given."""

    name: str = "scenario"
    seed: int = 1
    start: datetime = datetime.fromisoformat("2026-12-01T08:00:00+08:00")
    hours: float = Field(default=8.0, gt=0, le=24)
    center: Point = Point(lat=31.30, lon=120.62)  # 苏州 姑苏区
    radius_km: float = Field(default=8.0, gt=0, le=60)
    community_spacing_km: float = Field(default=1.5, gt=0.2)
    # The communities' places; when absent, a grid ``community_spacing_km`` apart fills the disk.
    communities: list[Point] | None = Field(default=None, min_length=1)
    providers: int = Field(default=10, ge=1)
    provider_reach_km: float = Field(default=6.0, gt=0)  # a provider serves the communities this close
    caregivers: int = Field(default=200, ge=1)
    elders: int = Field(default=2000, ge=1)
    requests_per_hour: float = Field(default=60.0, gt=0)
    service_mix: dict[str, float] = Field(
        default_factory=lambda: {
            "meal": 0.35,
            "cleaning": 0.2,
            "bathing": 0.15,
            "medical_escort": 0.1,
            "mobility": 0.1,
            "emergency": 0.1,
        }
    )
    emergency_share: float = Field(default=0.02, ge=0, le=1)  # of all requests: red-button emergencies
    scheduled_share: float = Field(default=0.5, ge=0, le=1)  # booked for later the same day
    schedule_ahead_minutes: tuple[float, float] = (60.0, 240.0)
    window_minutes: float = Field(default=60.0, gt=0)  # a booked visit's window
    government_share: float = Field(default=0.6, ge=0, le=1)
    suzhounese_elders: float = Field(default=0.3, ge=0, le=1)
    suzhounese_caregivers: float = Field(default=0.4, ge=0, le=1)
    caregiver: CaregiverBehaviour = Field(default_factory=CaregiverBehaviour)
    policy: Policy = "greedy"
    batch_seconds: float = Field(default=60.0, ge=0)
    replan_minutes: float = Field(default=10.0, ge=0)  # lookahead: how often the day is planned again (0: never)
    replan_seconds: float = Field(default=0.3, gt=0)  # lookahead: the planner's seconds per provider and re-plan
    hindsight_seconds: float = Field(default=3.0, gt=0)  # hindsight: the planner's seconds per provider
    hindsight_group: int = Field(default=4, ge=1)  # hindsight: neighbouring providers planned together
    drain_hours: float = Field(default=6.0, ge=0)  # after the last request: booked visits and services finish

    @model_validator(mode="after")
    def _mix(self) -> Scenario:
        if not self.service_mix or any(w < 0 for w in self.service_mix.values()) or sum(self.service_mix.values()) <= 0:
            raise ValueError("service_mix needs positive weights")
        return self


class CityDay(BaseModel):
    """A day of a whole city, in parts that dispatch never crosses (one per district: a provider serves the
    communities of its own district, and an order goes only to a provider serving the elder's community)."""

    name: str = "city-day"
    seed: int = 1
    policy: Policy = "greedy"
    parts: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> CityDay:
        names = [part.name for part in self.parts]
        if len(set(names)) != len(names):
            raise ValueError("every part needs a name of its own")
        return self

    @property
    def planned_requests(self) -> float:
        return sum(part.requests_per_hour * part.hours for part in self.parts)


def suzhou_day(*, requests: int = 100_000, caregivers: int = 20_000, seed: int = 1) -> CityDay:
    """All ten of Suzhou's districts on one weekday: requests from 06:00 to 22:00, caregivers and elders shared
    out by each district's number of communities and villages, which stand where the city's seed data puts them."""
    from backend.areas.suzhou import city_tree
    from backend.core.geo import distance_m

    districts = city_tree(seed=0)
    weights = [sum(len(street.communities) for street in d.streets) for d in districts]
    total = sum(weights)
    hours = 16.0
    parts = []
    for index, (district, weight) in enumerate(zip(districts, weights, strict=True)):
        share = weight / total
        places = [Point(lat=c.lat, lon=c.lon) for street in district.streets for c in street.communities]
        reach = max(distance_m(district.lat, district.lon, p.lat, p.lon) for p in places) / 1000
        part_caregivers = max(10, round(caregivers * share))
        part_requests = max(1.0, requests * share)
        parts.append(
            Scenario(
                name=f"{district.code}-{district.name}",
                seed=seed * 1000 + index,
                start=datetime.fromisoformat("2026-12-01T06:00:00+08:00"),
                hours=hours,
                center=Point(lat=district.lat, lon=district.lon),
                radius_km=round(reach + 0.5, 1),
                communities=places,
                providers=max(2, part_caregivers // 50),
                provider_reach_km=8,
                caregivers=part_caregivers,
                elders=max(100, round(2 * part_requests)),
                requests_per_hour=part_requests / hours,
            )
        )
    return CityDay(name=f"suzhou-day-{requests}", seed=seed, parts=parts)


def generate(kind: str, *, supply: str = "plentiful", seed: int = 1) -> Scenario:
    """A ready-made day: ``city`` (Suzhou's old town and around, a busy weekday), ``town`` (a county town, most
    visits booked ahead) or ``small`` (for tests)."""
    if kind == "city":
        caregivers = {"plentiful": 1200, "scarce": 260}[supply]
        return Scenario(
            name=f"suzhou-city-{supply}",
            seed=seed,
            hours=10,
            radius_km=15,
            community_spacing_km=1.5,
            providers=40,
            provider_reach_km=8,
            caregivers=caregivers,
            elders=20_000,
            requests_per_hour=240,
        )
    if kind == "town":
        # A county town (太仓-like): fewer, farther caregivers and most visits booked ahead.
        caregivers = {"plentiful": 240, "scarce": 70}[supply]
        return Scenario(
            name=f"county-town-{supply}",
            seed=seed,
            hours=10,
            center=Point(lat=31.45, lon=121.10),
            radius_km=10,
            community_spacing_km=2.0,
            providers=10,
            provider_reach_km=8,
            caregivers=caregivers,
            elders=4000,
            requests_per_hour=60,
            scheduled_share=0.8,
        )
    if kind == "small":
        caregivers = {"plentiful": 40, "scarce": 10}[supply]
        return Scenario(
            name=f"small-{supply}",
            seed=seed,
            hours=2,
            radius_km=4,
            providers=4,
            provider_reach_km=5,
            caregivers=caregivers,
            elders=200,
            requests_per_hour=30,
        )
    raise ValueError(f"unknown scenario kind {kind!r} (city, town, small)")
