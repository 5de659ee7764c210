"""Follow-up HTTP routes: an area's callbacks and checks, and their outcomes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.access.deps import CurrentUser
from backend.core.deps import SessionDep
from backend.core.paging import Paged
from backend.core.schemas import PathId, QueryId
from backend.followups import service
from backend.followups.models import FollowUp, FollowUpKind, FollowUpStatus
from backend.followups.schemas import FollowUpPublic, Outcome

router = APIRouter(prefix="/follow-ups", tags=["follow-ups"])


def _public(follow_up: FollowUp) -> FollowUpPublic:
    return FollowUpPublic.model_validate(follow_up, from_attributes=True)


@router.get("", response_model=list[FollowUpPublic])
async def list_follow_ups(
    session: SessionDep,
    user: CurrentUser,
    page: Paged,
    community_id: QueryId = None,
    street_id: QueryId = None,
    district_id: QueryId = None,
    kind: Annotated[FollowUpKind | None, Query()] = None,
    status: Annotated[FollowUpStatus | None, Query()] = FollowUpStatus.open,
) -> list[FollowUpPublic]:
    """An area's follow-ups (none: the city, for operators), soonest due first; open ones by default."""
    rows = await service.listing(
        session=session,
        user=user,
        community_id=community_id,
        street_id=street_id,
        district_id=district_id,
        kind=kind,
        status=status,
        page=page,
    )
    return [_public(f) for f in rows]


@router.post("/{follow_up_id}/done", response_model=FollowUpPublic)
async def finish(follow_up_id: PathId, body: Outcome, session: SessionDep, user: CurrentUser) -> FollowUpPublic:
    """Close a follow-up with what was done (staff of the elder's area)."""
    return _public(await service.finish(session=session, user=user, follow_up_id=follow_up_id, outcome=body.outcome))
