"""Emergency ladder routes: the steps with their clocks, and the action that stops the ladder."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.core.deps import SessionDep
from backend.core.schemas import PathId
from backend.emergency import service
from backend.emergency.models import LadderStep, StepCode
from backend.users.deps import CurrentUser
from backend.users.scope import check_request

router = APIRouter(tags=["emergency"])


class StepPublic(BaseModel):
    position: int
    code: str
    seconds: int
    status: str
    started_at: datetime | None
    due_at: datetime | None
    ended_at: datetime | None
    acted_by: str | None
    note: str | None
    message: str


class ActBody(BaseModel):
    note: str | None = Field(default=None, max_length=500, description="e.g. 已联系上老人 / 已上门 / 已拨打120")


def _public(step: LadderStep) -> StepPublic:
    return StepPublic.model_validate({**step.model_dump(), "message": service.WORDING[StepCode(step.code)]})


@router.get("/requests/{request_id}/ladder", response_model=list[StepPublic])
async def get_ladder(request_id: PathId, session: SessionDep, user: CurrentUser) -> list[StepPublic]:
    """An emergency's escalation ladder: every rung, its clock, who acted and when (empty for other orders)."""
    await check_request(session, user, request_id)
    return [_public(s) for s in await service.steps_of(session, request_id)]


@router.post("/requests/{request_id}/ladder/act", response_model=list[StepPublic])
async def act(request_id: PathId, body: ActBody, session: SessionDep, user: CurrentUser) -> list[StepPublic]:
    """Someone has reached the elder or is handling it (at the last rung: has called 120): the ladder stops.
    Operators, staff of the elder's area, the caregiver on the order. 409 ``ladder_not_running``."""
    request = await check_request(session, user, request_id)
    return [_public(s) for s in await service.act(session=session, user=user, request=request, note=body.note)]
