"""The caregiver's phone: offers, accept or decline, en route, check-in, check-out."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.core.deps import SessionDep, SettingsDep
from backend.core.i18n import prefers_english
from backend.core.identity import mask_phone
from backend.core.schemas import Location, PathId
from backend.dispatch import service as dispatch
from backend.dispatch.models import Offer
from backend.dispatch.schemas import AbsenceBody, AbsencePublic, score_terms
from backend.registry.models import Elder
from backend.registry.schemas import CaregiverPublic, ShiftUpdate
from backend.registry.service import caregiver_public, report_location, set_shift
from backend.requests import service as requests
from backend.requests.lifecycle import Actor
from backend.requests.models import ServiceRequest
from backend.requests.schemas import CheckIn, CheckOut
from backend.users.deps import CurrentCaregiver
from mobile_api.schemas import AssignmentPublic, DeclineBody, Destination, OfferPublic

router = APIRouter(tags=["mobile"])


def _offer_public(offer: Offer, request: ServiceRequest, *, english: bool) -> OfferPublic:
    return OfferPublic(
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


async def _assignment(session: SessionDep, request: ServiceRequest) -> AssignmentPublic:
    public = AssignmentPublic.model_validate((await requests.request_public(session, request)).model_dump())
    elder = await session.get(Elder, request.elder_id)
    if elder is not None:
        public.destination = Destination(
            elder_name=elder.name,
            address=elder.address,
            location=Location(lat=elder.lat, lon=elder.lon),
            phone=mask_phone(elder.phone),
        )
    return public


@router.get("/me", response_model=CaregiverPublic)
async def me(session: SessionDep, caregiver: CurrentCaregiver) -> CaregiverPublic:
    """The signed-in caregiver's own record."""
    return await caregiver_public(session, caregiver, whole=True)


@router.post("/shift", response_model=CaregiverPublic)
async def shift(body: ShiftUpdate, session: SessionDep, caregiver: CurrentCaregiver) -> CaregiverPublic:
    """Start or end a shift (上班/下班), optionally with the current position."""
    await set_shift(session=session, caregiver=caregiver, on_shift=body.on_shift, location=body.location)
    return await caregiver_public(session, caregiver, whole=True)


@router.post("/absence", response_model=AbsencePublic)
async def absence(
    session: SessionDep, settings: SettingsDep, caregiver: CurrentCaregiver, body: AbsenceBody | None = None
) -> AbsencePublic:
    """Call in sick (请假) from the phone: off shift; visits before ``until`` not yet started go to colleagues."""
    assert caregiver.id is not None
    until, redone = await dispatch.report_absence(
        session=session,
        settings=settings,
        caregiver_id=caregiver.id,
        reported_by=Actor.of_caregiver(caregiver),
        reason=body.reason if body else None,
        until=body.until if body else None,
    )
    return AbsencePublic(caregiver_id=caregiver.id, on_shift=False, absent_until=until, redispatched=redone)


@router.post("/location", response_model=CaregiverPublic)
async def location(body: Location, session: SessionDep, caregiver: CurrentCaregiver) -> CaregiverPublic:
    """Report the phone's GPS position (WGS-84)."""
    await report_location(session=session, caregiver=caregiver, location=body)
    return await caregiver_public(session, caregiver, whole=True)


@router.get("/offers", response_model=list[OfferPublic])
async def list_offers(http: Request, session: SessionDep, caregiver: CurrentCaregiver) -> list[OfferPublic]:
    """The caller's open offers, soonest deadline first."""
    english = prefers_english(http)
    offers = await dispatch.open_offers(session=session, caregiver=caregiver)
    return [_offer_public(offer, request, english=english) for offer, request in offers]


@router.post("/offers/{offer_id}/accept", response_model=AssignmentPublic)
async def accept_offer(
    offer_id: PathId, session: SessionDep, settings: SettingsDep, caregiver: CurrentCaregiver
) -> AssignmentPublic:
    """Take the order (接单); 409 when someone else was faster, the offer lapsed, or the time is booked."""
    request = await dispatch.accept_offer(session=session, settings=settings, offer_id=offer_id, caregiver=caregiver)
    return await _assignment(session, request)


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
    offer = await dispatch.decline_offer(
        session=session, settings=settings, offer_id=offer_id, caregiver=caregiver, reason=body.reason if body else None
    )
    request = await session.get(ServiceRequest, offer.request_id)
    assert request is not None
    return _offer_public(offer, request, english=prefers_english(http))


@router.get("/requests", response_model=list[AssignmentPublic])
async def my_requests(session: SessionDep, caregiver: CurrentCaregiver) -> list[AssignmentPublic]:
    """The orders the caller holds now (accepted, en route, in service)."""
    return [
        await _assignment(session, r) for r in await requests.active_assignments(session=session, caregiver=caregiver)
    ]


@router.get("/requests/{request_id}", response_model=AssignmentPublic)
async def my_request(request_id: PathId, session: SessionDep, caregiver: CurrentCaregiver) -> AssignmentPublic:
    """One order the caller holds, with where to go."""
    return await _assignment(session, await requests.assigned_request(session, request_id, caregiver))


@router.post("/requests/{request_id}/en-route", response_model=AssignmentPublic)
async def en_route(request_id: PathId, session: SessionDep, caregiver: CurrentCaregiver) -> AssignmentPublic:
    """Set off to the elder (出发)."""
    return await _assignment(
        session, await requests.start_en_route(session=session, request_id=request_id, caregiver=caregiver)
    )


@router.post("/requests/{request_id}/check-in", response_model=AssignmentPublic)
async def check_in(
    request_id: PathId, body: CheckIn, session: SessionDep, settings: SettingsDep, caregiver: CurrentCaregiver
) -> AssignmentPublic:
    """Check in at the door with GPS (签到); far from home is flagged, not refused."""
    request, _visit = await requests.check_in(
        session=session, settings=settings, request_id=request_id, caregiver=caregiver, lat=body.lat, lon=body.lon
    )
    return await _assignment(session, request)


@router.post("/requests/{request_id}/check-out", response_model=AssignmentPublic)
async def check_out(
    request_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    caregiver: CurrentCaregiver,
    body: CheckOut | None = None,
) -> AssignmentPublic:
    """Check out when the service is done (签退)."""
    request = await requests.check_out(
        session=session,
        settings=settings,
        request_id=request_id,
        caregiver=caregiver,
        notes=body.notes if body else None,
    )
    return await _assignment(session, request)
