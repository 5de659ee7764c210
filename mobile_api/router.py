"""The caregiver's phone: offers, accept or decline, today's visits, en route, check-in, check-out."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.access.deps import CurrentCaregiver
from backend.access.personal import WHOLE, holds_visit
from backend.audit import service as audit
from backend.core.config import Settings
from backend.core.deps import SessionDep, SettingsDep
from backend.core.i18n import prefers_english
from backend.core.identity import mask_phone
from backend.core.navigation import navigation_links
from backend.core.paging import Paged
from backend.core.schemas import Location, PathId, PlaceIn
from backend.dispatch import offers as dispatch_offers
from backend.dispatch import waiting
from backend.dispatch.briefs import OfferBrief, offer_briefs
from backend.dispatch.manual import report_absence
from backend.dispatch.models import Offer
from backend.dispatch.schemas import AbsenceBody, AbsencePublic, score_terms
from backend.orders.lifecycle import Actor
from backend.orders.models import ServiceRequest
from backend.registry.models import Caregiver
from backend.registry.schemas import CaregiverPublic, ShiftUpdate
from backend.registry.service import caregiver_public, report_location
from backend.requests import service as requests
from backend.requests import today as todays
from backend.requests.schemas import CheckIn, CheckOut, DeviceTime
from mobile_api.schemas import (
    AssignmentPublic,
    Colleague,
    DeclineBody,
    Destination,
    Navigation,
    OfferPublic,
    StopPublic,
    TodayPublic,
)

router = APIRouter(tags=["mobile"])


def _offer_public(offer: Offer, request: ServiceRequest, brief: OfferBrief | None, *, english: bool) -> OfferPublic:
    public = OfferPublic(
        id=offer.id,
        request_id=offer.request_id,
        status=offer.status,
        expires_at=offer.expires_at,
        explanation=offer.explanation_en if english else offer.explanation,
        distance_m=offer.distance_m,
        breakdown=score_terms(offer.breakdown, english=english),
        service_type=request.service_type,
        priority=request.priority,
        window_start=request.window_start,
        window_end=request.window_end,
    )
    if brief is not None:
        public.elder_name, public.area, public.service_name = brief.elder_name, brief.area, brief.service_name
        public.caregivers_needed = brief.caregivers_needed
        public.partner = Colleague(id=brief.partner.id, name=brief.partner.name) if brief.partner else None
    return public


async def _offers_public(
    session: SessionDep, caregiver: Caregiver, offers: list[tuple[Offer, ServiceRequest]], *, english: bool
) -> list[OfferPublic]:
    briefs = await offer_briefs(session=session, caregiver=caregiver, requests=[r for _, r in offers], english=english)
    return [_offer_public(offer, request, briefs.get(request.id or 0), english=english) for offer, request in offers]


async def _assignments(
    session: SessionDep, requests_: list[ServiceRequest], caregiver: Caregiver | None
) -> list[AssignmentPublic]:
    """Orders with where to go, as ``caregiver`` on their crew sees them: the elder's phone whole while the visit is
    ahead or under way (``holds_visit``), masked before and after (and for no caregiver). The reads are audited."""
    publics = await requests.requests_public(session, requests_)
    elders = await requests.elders_of(session, requests_)
    await audit.record_reads(session, action="elder.read", elder_ids=sorted(elders))
    out = []
    for request, public in zip(requests_, publics, strict=True):
        assignment = AssignmentPublic.model_validate(public.model_dump())
        elder = elders.get(request.elder_id)
        if elder is not None:
            calls = caregiver is not None and holds_visit(caregiver, request)
            assignment.destination = Destination(
                elder_name=elder.name,
                address=elder.address,
                location=Location(lat=elder.lat, lon=elder.lon),
                phone=elder.phone if calls else mask_phone(elder.phone),
            )
        out.append(assignment)
    return out


async def _assignment(
    session: SessionDep, request: ServiceRequest, caregiver: Caregiver | None = None
) -> AssignmentPublic:
    return (await _assignments(session, [request], caregiver))[0]


@router.get("/me", response_model=CaregiverPublic)
async def me(session: SessionDep, caregiver: CurrentCaregiver) -> CaregiverPublic:
    """The signed-in caregiver's own record."""
    return await caregiver_public(session, caregiver, shown=WHOLE)


@router.post("/shift", response_model=CaregiverPublic)
async def shift(body: ShiftUpdate, session: SessionDep, caregiver: CurrentCaregiver) -> CaregiverPublic:
    """Start or end a shift (上班/下班), optionally with the current position; orders waiting near her are offered
    once her shift starts."""
    await waiting.set_shift(session=session, caregiver=caregiver, on_shift=body.on_shift, location=body.location)
    return await caregiver_public(session, caregiver, shown=WHOLE)


@router.post("/absence", response_model=AbsencePublic)
async def absence(
    session: SessionDep, settings: SettingsDep, caregiver: CurrentCaregiver, body: AbsenceBody | None = None
) -> AbsencePublic:
    """Call in sick (请假) from the phone: off shift; visits before ``until`` not yet started go to colleagues."""
    assert caregiver.id is not None
    until, redone = await report_absence(
        session=session,
        settings=settings,
        caregiver_id=caregiver.id,
        reported_by=Actor.of_caregiver(caregiver),
        reason=body.reason if body else None,
        until=body.until if body else None,
    )
    return AbsencePublic(caregiver_id=caregiver.id, on_shift=False, absent_until=until, redispatched=redone)


@router.post("/location", response_model=CaregiverPublic)
async def location(body: PlaceIn, session: SessionDep, caregiver: CurrentCaregiver) -> CaregiverPublic:
    """Report the phone's position (WGS-84 by default; ``crs`` gcj02 or bd09 from a Chinese map SDK)."""
    await report_location(session=session, caregiver=caregiver, location=body)
    return await caregiver_public(session, caregiver, shown=WHOLE)


@router.get("/offers", response_model=list[OfferPublic])
async def list_offers(
    http: Request, session: SessionDep, caregiver: CurrentCaregiver, page: Paged
) -> list[OfferPublic]:
    """The caller's open offers, soonest deadline first, each with what a caregiver judges it by: the elder as they
    would greet her (「王奶奶」), her street and community, the service, and the partner of a two-caregiver crew."""
    offers = page.of(await dispatch_offers.open_offers(session=session, caregiver=caregiver))
    return await _offers_public(session, caregiver, offers, english=prefers_english(http))


@router.post("/offers/{offer_id}/accept", response_model=AssignmentPublic)
async def accept_offer(
    offer_id: PathId, session: SessionDep, settings: SettingsDep, caregiver: CurrentCaregiver
) -> AssignmentPublic:
    """Take the order (接单); 409 when someone else was faster, the offer lapsed, or the time is booked."""
    request = await dispatch_offers.accept_offer(
        session=session, settings=settings, offer_id=offer_id, caregiver=caregiver
    )
    return await _assignment(session, request, caregiver)


@router.post("/offers/{offer_id}/decline", response_model=OfferPublic)
async def decline_offer(
    http: Request,
    offer_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    caregiver: CurrentCaregiver,
    body: DeclineBody | None = None,
) -> OfferPublic:
    """Turn the order down (拒单); it goes to the next candidate."""
    offer = await dispatch_offers.decline_offer(
        session=session, settings=settings, offer_id=offer_id, caregiver=caregiver, reason=body.reason if body else None
    )
    request = await session.get(ServiceRequest, offer.request_id)
    assert request is not None
    return (await _offers_public(session, caregiver, [(offer, request)], english=prefers_english(http)))[0]


@router.get("/requests", response_model=list[AssignmentPublic])
async def my_requests(session: SessionDep, caregiver: CurrentCaregiver, page: Paged) -> list[AssignmentPublic]:
    """The orders the caller holds now (accepted, en route, in service; or a two-caregiver visit she stays on while
    its other seat is dispatched again: ``crew`` and ``caregivers_needed`` say who is still missing)."""
    held = page.of(await requests.active_assignments(session=session, caregiver=caregiver))
    return await _assignments(session, held, caregiver)


@router.get("/today", response_model=TodayPublic)
async def today(session: SessionDep, settings: SettingsDep, caregiver: CurrentCaregiver) -> TodayPublic:
    """Today's visits (Suzhou's date) in visiting order, by the caller's calendar: those ahead or under way and those
    finished today, each as ``GET /requests/{id}`` answers it, with when the calendar has them at the door and the
    URIs that hand the trip to Amap, Baidu or Tencent Maps (Tencent's in GCJ-02)."""
    day, stops = await todays.day_of(session=session, caregiver=caregiver)
    orders = await _assignments(session, [s.request for s in stops], caregiver)
    return TodayPublic(
        day=day,
        stops=[
            StopPublic(
                order=order,
                planned_arrival=stop.planned_arrival,
                planned_departure=stop.planned_departure,
                navigation=Navigation(**_trip(settings, order.destination)) if order.destination else None,
            )
            for stop, order in zip(stops, orders, strict=True)
        ],
    )


def _trip(settings: Settings, destination: Destination) -> dict[str, str]:
    """The map apps' URIs to the door (named by its address, never by the elder's name)."""
    where = destination.location
    return navigation_links(settings, lat=where.lat, lon=where.lon, name=destination.address)


@router.get("/requests/{request_id}", response_model=AssignmentPublic)
async def my_request(request_id: PathId, session: SessionDep, caregiver: CurrentCaregiver) -> AssignmentPublic:
    """One order the caller holds, with where to go (the elder's phone whole until the visit is over)."""
    return await _assignment(session, await requests.assigned_request(session, request_id, caregiver), caregiver)


@router.post("/requests/{request_id}/en-route", response_model=AssignmentPublic)
async def en_route(
    request_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    caregiver: CurrentCaregiver,
    body: DeviceTime | None = None,
) -> AssignmentPublic:
    """Set off to the elder (出发); ``at``: the phone's time when it was tapped offline."""
    request = await requests.start_en_route(
        session=session, settings=settings, request_id=request_id, caregiver=caregiver, at=body.at if body else None
    )
    return await _assignment(session, request, caregiver)


@router.post("/requests/{request_id}/check-in", response_model=AssignmentPublic)
async def check_in(
    request_id: PathId, body: CheckIn, session: SessionDep, settings: SettingsDep, caregiver: CurrentCaregiver
) -> AssignmentPublic:
    """Check in at the door with GPS (签到); far from home is flagged, not refused. ``at``: the phone's time when
    it was tapped offline (the visit keeps it); ``accuracy_m``: the position's accuracy."""
    request, _visit = await requests.check_in(
        session=session,
        settings=settings,
        request_id=request_id,
        caregiver=caregiver,
        lat=body.lat,
        lon=body.lon,
        at=body.at,
        accuracy_m=body.accuracy_m,
    )
    return await _assignment(session, request, caregiver)


@router.post("/requests/{request_id}/check-out", response_model=AssignmentPublic)
async def check_out(
    request_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    caregiver: CurrentCaregiver,
    body: CheckOut | None = None,
) -> AssignmentPublic:
    """Check out when the service is done (签退); ``at``: the phone's time when it was tapped offline."""
    request = await requests.check_out(
        session=session,
        settings=settings,
        request_id=request_id,
        caregiver=caregiver,
        notes=body.notes if body else None,
        at=body.at if body else None,
        confirmation_code=body.confirmation_code if body else None,
    )
    return await _assignment(session, request)
