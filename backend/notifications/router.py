"""Notification routes: the record of messages sent about an elder."""

from __future__ import annotations

from fastapi import APIRouter

from backend.access.deps import VisibleElder
from backend.core.deps import SessionDep
from backend.core.identity import mask_phone
from backend.core.paging import Paged
from backend.core.schemas import PathId
from backend.notifications.schemas import NotificationPublic
from backend.notifications.service import of_elder

router = APIRouter(tags=["notifications"])


@router.get("/elders/{elder_id}/notifications", response_model=list[NotificationPublic])
async def notifications(
    elder_id: PathId,
    session: SessionDep,
    _elder: VisibleElder,
    page: Paged,
) -> list[NotificationPublic]:
    """What was sent to whom about this elder, newest first (phones masked)."""
    rows = await of_elder(session, elder_id, page)
    out = []
    for note in rows:
        public = NotificationPublic.model_validate(note, from_attributes=True)
        public.phone = mask_phone(public.phone) if public.phone else None
        out.append(public)
    return out
