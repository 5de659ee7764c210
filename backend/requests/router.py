"""Work order routes for the hotline console, dashboards and the elder app."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, status

from backend.core.deps import SessionDep, SettingsDep
from backend.core.i18n import prefers_english
from backend.core.schemas import QueryId
from backend.dispatch import service as dispatch
from backend.requests import service
from backend.requests.deps import VisibleRequest
from backend.requests.lifecycle import Actor
from backend.requests.models import Status
from backend.requests.schemas import (
    AssignBody,
    CandidatePublic,
    Exclusion,
    NearbyCaregiverPublic,
    ReasonBody,
    RequestCreate,
    RequestPublic,
)
from backend.users.deps import CurrentUser, OperatorUser, StaffUser

router = APIRouter(prefix="/requests", tags=["requests"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RequestPublic)
async def create_request(
    data: RequestCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> RequestPublic:
    """Create a work order (服务工单); dispatching starts at once."""
    request = await service.create_request(session=session, settings=settings, user=user, data=data)
    return await service.request_public(session, request)


@router.get("", response_model=list[RequestPublic])
async def list_requests(
    session: SessionDep,
    user: CurrentUser,
    community_id: QueryId = None,
    status: Status | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> list[RequestPublic]:
    """A queue of orders: a community's, or whatever the caller may see."""
    rows = await service.list_requests(
        session=session, user=user, community_id=community_id, status=status, limit=limit
    )
    return await service.requests_public(session, rows)


@router.get("/{request_id}", response_model=RequestPublic)
async def get_request(request: VisibleRequest, session: SessionDep) -> RequestPublic:
    """One order with its history."""
    return await service.request_public(session, request)


@router.post("/{request_id}/cancel", response_model=RequestPublic)
async def cancel_request(
    request: VisibleRequest, session: SessionDep, user: CurrentUser, body: ReasonBody | None = None
) -> RequestPublic:
    """Cancel an open order."""
    await service.cancel_request(session=session, request=request, user=user, reason=body.reason if body else None)
    return await service.request_public(session, request)


@router.post("/{request_id}/redispatch", response_model=RequestPublic)
async def redispatch(
    request: VisibleRequest, session: SessionDep, user: OperatorUser, body: ReasonBody | None = None
) -> RequestPublic:
    """Send an escalated order back to the dispatcher."""
    await service.redispatch(session=session, request=request, user=user, reason=body.reason if body else None)
    return await service.request_public(session, request)


@router.get("/{request_id}/candidates", response_model=list[CandidatePublic])
async def candidates(
    request: VisibleRequest, session: SessionDep, settings: SettingsDep, _user: StaffUser
) -> list[CandidatePublic]:
    """Who the dispatcher would ask now, and why (for assigning by hand)."""
    found = await dispatch.find_candidates(session, request, settings)
    return [CandidatePublic.model_validate(c, from_attributes=True) for c in found]


@router.get("/{request_id}/nearby-caregivers", response_model=list[NearbyCaregiverPublic])
async def nearby_caregivers(
    http: Request,
    request: VisibleRequest,
    session: SessionDep,
    settings: SettingsDep,
    _user: StaffUser,
    radius_km: float = Query(default=5.0, gt=0, le=50),
) -> list[NearbyCaregiverPublic]:
    """Caregivers near the elder and, for each, which rule keeps them from this order (为何不能派)."""
    english = prefers_english(http)
    found = await dispatch.nearby_caregivers(session, request, settings, radius_km=radius_km)
    return [
        NearbyCaregiverPublic(
            caregiver_id=n.caregiver_id,
            provider_id=n.provider_id,
            name=n.name,
            distance_m=n.distance_m,
            eligible=not n.failed,
            excluded_by=[Exclusion(code=r.code, reason=r.en if english else r.zh) for r in n.failed],
        )
        for n in found
    ]


@router.post("/{request_id}/assign", response_model=RequestPublic)
async def assign(
    request: VisibleRequest, body: AssignBody, session: SessionDep, settings: SettingsDep, user: OperatorUser
) -> RequestPublic:
    """Assign an order to a caregiver by hand (the operator reached them)."""
    assigned = await dispatch.assign_by_hand(
        session=session,
        settings=settings,
        request_id=request.id,  # type: ignore[arg-type]
        caregiver_id=body.caregiver_id,
        actor=Actor.of_user(user),
        reason=body.reason,
    )
    return await service.request_public(session, assigned)
