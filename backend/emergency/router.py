"""Emergency routes: the ladder's steps with their clocks and the action that stops it (the elder's SOS, which
opens an emergency order, is an order route: ``backend.requests.router``)."""

from __future__ import annotations

from fastapi import APIRouter

from backend.access.deps import CurrentUser, VisibleRequest
from backend.core.deps import SessionDep
from backend.core.paging import Paged
from backend.emergency import service
from backend.emergency.models import LadderStep, StepCode
from backend.emergency.schemas import ActBody, StepPublic

router = APIRouter(tags=["emergency"])


def _public(step: LadderStep) -> StepPublic:
    return StepPublic.model_validate({**step.model_dump(), "message": service.WORDING[StepCode(step.code)]})


@router.get("/requests/{request_id}/ladder", response_model=list[StepPublic])
async def get_ladder(request: VisibleRequest, session: SessionDep, page: Paged) -> list[StepPublic]:
    """An emergency's escalation ladder: every rung, its clock, who acted and when (empty for other orders)."""
    return [_public(s) for s in page.of(await service.steps_of(session, request.id))]  # type: ignore[arg-type]


@router.post("/requests/{request_id}/ladder/act", response_model=list[StepPublic])
async def act(request: VisibleRequest, body: ActBody, session: SessionDep, user: CurrentUser) -> list[StepPublic]:
    """Someone has reached the elder or is handling it (at the last rung: has called 120): the ladder stops.
    Operators, staff of the elder's area, the caregiver on the order; her family (who follow her orders) once the
    ladder has reached them, answering ``reached_elder`` (我已联系上老人) or ``on_my_way`` (我正在赶去).
    409 ``ladder_not_running``, ``family_not_reached``."""
    steps = await service.act(session=session, user=user, request=request, note=body.note, answer=body.answer)
    return [_public(s) for s in steps]
