"""Complaint routes: filed on an order, answered by the provider, resolved by the bureau."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.access.deps import CurrentUser
from backend.access.scope import check_request
from backend.core.deps import SessionDep, SettingsDep
from backend.core.paging import Paged
from backend.core.schemas import PathId, QueryId
from backend.feedback import service
from backend.feedback.models import Complaint, ComplaintStatus
from backend.feedback.schemas import ComplaintPublic, Text

router = APIRouter(tags=["complaints"])


def _public(complaint: Complaint) -> ComplaintPublic:
    return ComplaintPublic.model_validate(complaint, from_attributes=True)


@router.post("/requests/{request_id}/complaints", status_code=status.HTTP_201_CREATED, response_model=ComplaintPublic)
async def complain(
    request_id: PathId, body: Text, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> ComplaintPublic:
    """A complaint about an order (the elder, their family, staff taking the call): the provider that served it
    must answer within ``ELDERCARE_COMPLAINT_ANSWER_HOURS``, else the bureau is told."""
    request = await check_request(session, user, request_id)
    return _public(
        await service.complain(session=session, settings=settings, user=user, request=request, text=body.text)
    )


@router.get("/complaints", response_model=list[ComplaintPublic])
async def list_complaints(
    session: SessionDep,
    user: CurrentUser,
    page: Paged,
    provider_id: QueryId = None,
    status_: Annotated[ComplaintStatus | None, Query(alias="status")] = None,
) -> list[ComplaintPublic]:
    """Complaints, nearest deadline first (a provider's admin: their own)."""
    rows = await service.listing(session=session, user=user, provider_id=provider_id, status=status_, page=page)
    return [_public(c) for c in rows]


@router.get("/complaints/{complaint_id}", response_model=ComplaintPublic)
async def get_complaint(complaint_id: PathId, session: SessionDep, user: CurrentUser) -> ComplaintPublic:
    """One complaint."""
    return _public(await service.get(session=session, user=user, complaint_id=complaint_id))


@router.post("/complaints/{complaint_id}/answer", response_model=ComplaintPublic)
async def answer(complaint_id: PathId, body: Text, session: SessionDep, user: CurrentUser) -> ComplaintPublic:
    """The provider's reply (its admin)."""
    return _public(await service.answer(session=session, user=user, complaint_id=complaint_id, text=body.text))


@router.post("/complaints/{complaint_id}/resolve", response_model=ComplaintPublic)
async def resolve(complaint_id: PathId, body: Text, session: SessionDep, user: CurrentUser) -> ComplaintPublic:
    """The bureau closes the case with its resolution (409 ``complaint_resolved`` the second time)."""
    return _public(await service.resolve(session=session, user=user, complaint_id=complaint_id, text=body.text))
