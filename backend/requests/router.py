"""Work order routes for the hotline console, dashboards and the elder app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from backend.access.deps import CurrentUser, ElderToActFor, OperatorUser, StaffUser, VisibleRequest
from backend.core.deps import RuntimeDep, SessionDep, SettingsDep
from backend.core.i18n import prefers_english
from backend.core.paging import Page, Paged, Whole, paging
from backend.core.schemas import QueryId
from backend.dispatch import candidates as search
from backend.dispatch.manual import assign_by_hand
from backend.dispatch.offers import offers_of
from backend.dispatch.schemas import OfferRecord, score_terms
from backend.emergency.schemas import SosBody, SosResult
from backend.orders.lifecycle import Actor
from backend.orders.models import Status
from backend.requests import coming, emergencies, service
from backend.requests.schemas import (
    AssignBody,
    CandidatePublic,
    ComingPublic,
    Exclusion,
    NearbyCaregiverPublic,
    RatingBody,
    ReasonBody,
    RequestCreate,
    RequestPublic,
)

router = APIRouter(prefix="/requests", tags=["requests"])
# The elder's SOS opens an emergency order: an order route, outside /requests.
sos_router = APIRouter(tags=["emergency"])
# The fifty nearest, as the list always answered by default.
NearestPage = Annotated[Page, paging(default=50)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RequestPublic)
async def create_request(
    data: RequestCreate, session: SessionDep, runtime: RuntimeDep, user: CurrentUser
) -> RequestPublic:
    """Create a work order (服务工单); dispatching starts at once. An elder's (or her family's) emergency is her SOS:
    while an emergency of hers is open it is that order (absorbed), and presses past ``ELDERCARE_SOS_LIMIT`` are
    429 with ``Retry-After``."""
    request = await emergencies.place_order(
        session=session, settings=runtime.settings, throttle=runtime.throttle, user=user, data=data
    )
    return await service.new_request_public(session, request)


@router.get("", response_model=list[RequestPublic])
async def list_requests(
    session: SessionDep,
    user: CurrentUser,
    page: Paged,
    community_id: QueryId = None,
    status: Status | None = None,
    elder_id: QueryId = None,
) -> list[RequestPublic]:
    """A queue of orders: a community's, one elder's (the hotline's "recent orders"), or whatever the caller may see."""
    rows = await service.list_requests(
        session=session, user=user, community_id=community_id, status=status, page=page, elder_id=elder_id
    )
    return await service.requests_public(session, rows)


@router.get("/{request_id}", response_model=RequestPublic)
async def get_request(request: VisibleRequest, session: SessionDep) -> RequestPublic:
    """One order with its history."""
    return await service.request_public(session, request)


@router.get("/{request_id}/coming", response_model=ComingPublic)
async def who_is_coming(
    request: VisibleRequest, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> ComingPublic:
    """Who is coming (the elder's and her family's app): the order's caregivers, their phone whole for her and her
    family while the visit is ahead or under way (else masked), and until they arrive the lead's distance from her
    home with the travel estimate, from the position their phone last reported (``position_at``)."""
    return await coming.who_is_coming(session=session, settings=settings, user=user, request=request)


@router.post("/{request_id}/cancel", response_model=RequestPublic)
async def cancel_request(
    request: VisibleRequest, session: SessionDep, user: CurrentUser, body: ReasonBody | None = None
) -> RequestPublic:
    """Cancel an open order."""
    await service.cancel_request(session=session, request=request, user=user, reason=body.reason if body else None)
    return await service.request_public(session, request)


@router.post("/{request_id}/redispatch", response_model=RequestPublic)
async def redispatch(
    request: VisibleRequest,
    session: SessionDep,
    settings: SettingsDep,
    user: OperatorUser,
    body: ReasonBody | None = None,
) -> RequestPublic:
    """Send an escalated order back to the dispatcher."""
    await service.redispatch(
        session=session, settings=settings, request=request, user=user, reason=body.reason if body else None
    )
    return await service.request_public(session, request)


@router.post("/{request_id}/rating", response_model=RequestPublic)
async def rate(
    request: VisibleRequest, body: RatingBody, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> RequestPublic:
    """Rate a finished visit, 1–5 stars (the elder, their family, or staff on a follow-up call, 回访).
    A rating at or below ``ELDERCARE_LOW_RATING`` opens a complaint for the provider."""
    await service.rate_visit(session=session, settings=settings, request=request, user=user, data=body)
    return await service.request_public(session, request)


@router.get("/{request_id}/candidates", response_model=list[CandidatePublic])
async def candidates(
    http: Request, request: VisibleRequest, session: SessionDep, settings: SettingsDep, _user: StaffUser, page: Whole
) -> list[CandidatePublic]:
    """Who the dispatcher would ask now, ranked by score, each with the score's terms in plain words."""
    english = prefers_english(http)
    found = page.of(await search.find_candidates(session, request, settings))
    return [
        CandidatePublic(
            caregiver_id=c.caregiver_id,
            provider_id=c.provider_id,
            name=c.name,
            distance_m=c.distance_m,
            load=c.load,
            rank=c.rank,
            score=round(c.score, 2),
            explanation=c.explanation_en if english else c.explanation,
            breakdown=score_terms(c.breakdown, english=english),
        )
        for c in found
    ]


@router.get("/{request_id}/offers", response_model=list[OfferRecord])
async def offers(
    http: Request, request: VisibleRequest, session: SessionDep, _user: StaffUser, page: Whole
) -> list[OfferRecord]:
    """Every offer made for this order, oldest first, with how each caregiver ranked and why."""
    english = prefers_english(http)
    rows = page.of(await offers_of(session=session, request_id=request.id))  # type: ignore[arg-type]
    return [
        OfferRecord(
            id=offer.id,
            caregiver_id=offer.caregiver_id,
            caregiver_name=name,
            status=offer.status,
            rank=offer.rank,
            score=offer.score,
            distance_m=offer.distance_m,
            explanation=offer.explanation_en if english else offer.explanation,
            breakdown=score_terms(offer.breakdown, english=english),
            created_at=offer.created_at,
            expires_at=offer.expires_at,
            answered_at=offer.answered_at,
        )
        for offer, name in rows
    ]


@router.get("/{request_id}/nearby-caregivers", response_model=list[NearbyCaregiverPublic])
async def nearby_caregivers(
    http: Request,
    request: VisibleRequest,
    session: SessionDep,
    settings: SettingsDep,
    _user: StaffUser,
    page: NearestPage,
    radius_km: float = Query(default=5.0, gt=0, le=50),
    serving_only: bool = Query(default=False, description="only caregivers of providers serving the community"),
) -> list[NearbyCaregiverPublic]:
    """The ``limit`` caregivers nearest the elder and, for each, which rule keeps them from this order (为何不能派)."""
    english = prefers_english(http)
    found = await search.nearby_caregivers(session, request, settings, radius_km=radius_km, serving_only=serving_only)
    return [
        NearbyCaregiverPublic(
            caregiver_id=n.caregiver_id,
            provider_id=n.provider_id,
            name=n.name,
            distance_m=n.distance_m,
            eligible=not n.failed and n.on_order is None,
            excluded_by=[Exclusion(code=r.code, reason=r.en if english else r.zh) for r in n.failed],
            on_this_order=n.on_order,
        )
        for n in page.of(found)
    ]


@router.post("/{request_id}/assign", response_model=RequestPublic)
async def assign(
    request: VisibleRequest, body: AssignBody, session: SessionDep, settings: SettingsDep, user: OperatorUser
) -> RequestPublic:
    """Assign an order to a caregiver by hand (the operator reached them)."""
    assigned = await assign_by_hand(
        session=session,
        settings=settings,
        request_id=request.id,  # type: ignore[arg-type]
        caregiver_id=body.caregiver_id,
        actor=Actor.of_user(user),
        reason=body.reason,
    )
    return await service.request_public(session, assigned)


@sos_router.post("/elders/{elder_id}/sos", status_code=status.HTTP_201_CREATED, response_model=SosResult)
async def sos(
    elder: ElderToActFor, session: SessionDep, runtime: RuntimeDep, user: CurrentUser, body: SosBody | None = None
) -> SosResult:
    """The elder's SOS (紧急呼叫) from her app, her family's (with her consent to act for her) or staff's in her name:
    an emergency order like the one-key device's red button, its escalation ladder started. While an emergency of
    hers is open, a press joins it (``absorbed``, the same ``request_id``) and whoever follows it hears she pressed
    again (``sos.pressed``). 429 with ``Retry-After`` past ``ELDERCARE_SOS_LIMIT`` presses per elder."""
    return await emergencies.press_sos(
        session=session,
        settings=runtime.settings,
        throttle=runtime.throttle,
        user=user,
        elder=elder,
        note=body.note if body else None,
    )
