"""Resource lookups for work order routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from backend.core.deps import SessionDep
from backend.core.schemas import PathId
from backend.requests.models import ServiceRequest
from backend.users.deps import CurrentUser
from backend.users.scope import check_request


async def get_visible_request(request_id: PathId, session: SessionDep, user: CurrentUser) -> ServiceRequest:
    """The order named in the path, if the caller may see it (404 unknown, 403 outside scope)."""
    return await check_request(session, user, request_id)


VisibleRequest = Annotated[ServiceRequest, Depends(get_visible_request)]
