"""Payloads of the caregiver and elder app."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from backend.core.schemas import Body, Location, UtcTime
from backend.dispatch.schemas import ScoreTerm
from backend.requests.schemas import RequestPublic


class Colleague(BaseModel):
    id: int
    name: str


class OfferPublic(BaseModel):
    """An offer as the caregiver judges it: what, where, when, with whom; of the elder only how to greet her
    (no full name, address, phone or ID number before the order is theirs)."""

    id: int
    request_id: int
    status: str
    expires_at: datetime
    explanation: str
    distance_m: float
    breakdown: list[ScoreTerm] = Field(default_factory=list)
    service_type: str
    priority: str
    window_start: datetime | None
    window_end: datetime | None
    elder_name: str = ""  # her surname as a caregiver greets her: 「王奶奶」, 「李爷爷」
    area: str = ""  # "{street} {community}"
    service_name: str = ""  # the service's name, in English with Accept-Language: en
    caregivers_needed: int = 1
    partner: Colleague | None = None  # the other caregiver already on a two-caregiver crew


class DeclineBody(Body):
    reason: str | None = Field(default=None, max_length=200)


class Destination(BaseModel):
    """Where to go, shown to the caregiver who holds the order."""

    elder_name: str
    address: str
    location: Location
    phone: str  # whole while the visit is ahead or under way (accepted, en route, in service), masked after


class AssignmentPublic(RequestPublic):
    destination: Destination | None = None


class Navigation(BaseModel):
    """URIs that hand the trip to the phone's map app (from where the phone is to the elder's door)."""

    amap: str  # https://uri.amap.com/navigation?… (WGS-84, coordinate=wgs84)
    baidu: str  # baidumap://map/direction?… (WGS-84, coord_type=wgs84)
    tencent: str  # qqmap://map/routeplan?… (GCJ-02, converted)


class StopPublic(BaseModel):
    order: AssignmentPublic
    planned_arrival: UtcTime | None  # when the caregiver's calendar has them at the door (finished visits: null)
    planned_departure: datetime | None
    navigation: Navigation | None


class TodayPublic(BaseModel):
    """The caregiver's visits of today (Suzhou), in visiting order, finished ones included."""

    day: date
    stops: list[StopPublic] = Field(default_factory=list)
