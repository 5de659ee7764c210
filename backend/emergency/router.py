"""Emergency routes: the ladder's steps with their clocks, the action that stops it, and the elder's SOS."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.access.deps import CurrentUser, ElderToActFor, VisibleRequest
from backend.core.deps import RuntimeDep, SessionDep
from backend.core.paging import Paged
from backend.emergency import service
from backend.emergency.models import LadderStep, StepCode
from backend.emergency.schemas import ActBody, SosBody, SosResult, StepPublic
from backend.requests import emergencies

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


@router.post("/elders/{elder_id}/sos", status_code=status.HTTP_201_CREATED, response_model=SosResult)
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
