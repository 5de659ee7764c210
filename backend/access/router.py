"""Reading the audit trail: the whole trail for admins; an elder's own access log for her and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from backend.access.deps import AdminUser, ElderHerselfOrAdmin
from backend.access.schemas import AccessLogEntry, AuditEventPublic
from backend.audit import service
from backend.core.deps import SessionDep
from backend.core.paging import Paged
from backend.core.schemas import PathId
from backend.users.models import User

router = APIRouter(tags=["audit"])
SUBJECT = r"^[a-z_]+:[0-9]{1,10}$"


@router.get("/audit-log", response_model=list[AuditEventPublic])
async def audit_log(
    session: SessionDep,
    _admin: AdminUser,
    page: Paged,
    subject: Annotated[
        str | None, Query(max_length=48, pattern=r"^[a-z_]+:[0-9]{1,10}$", examples=["elder:12"])
    ] = None,
    actor: Annotated[str | None, Query(max_length=64, description="user id or username")] = None,
    action: Annotated[str | None, Query(max_length=48, examples=["elder.read"])] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> list[AuditEventPublic]:
    """The audit trail, newest first (admins): filter by subject (``elder:ID``), actor, action and time.
    ``X-Total-Count`` says how many rows match in all."""
    rows, total = await service.search(
        session=session,
        subject=subject,
        actor_user_id=int(actor) if actor is not None and actor.isdigit() and len(actor) <= 10 else None,
        actor_username=actor if actor is not None and not actor.isdigit() else None,
        action=action,
        since=since,
        until=until,
        limit=page.limit,
        offset=page.offset,
    )
    page.total = total
    return [AuditEventPublic.model_validate(r, from_attributes=True) for r in rows]


@router.get("/elders/{elder_id}/access-log", response_model=list[AccessLogEntry])
async def access_log(
    elder_id: PathId,
    session: SessionDep,
    _viewer: ElderHerselfOrAdmin,
    page: Paged,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> list[AccessLogEntry]:
    """Who read or changed this elder's file, and when (the elder herself, and admins), newest first."""
    rows, total = await service.search(
        session=session,
        subject=f"elder:{elder_id}",
        actor_user_id=None,
        actor_username=None,
        action=None,
        since=since,
        until=until,
        limit=page.limit,
        offset=page.offset,
    )
    ids = {r.actor_user_id for r in rows if r.actor_user_id is not None}
    found = await session.execute(select(User.id, User.display_name).where(col(User.id).in_(ids)))
    names: dict[int | None, str | None] = dict(found.all())
    page.total = total
    return [
        AccessLogEntry(
            at=r.at,
            actor_role=r.actor_role,
            actor_name=names.get(r.actor_user_id) or r.actor_username or r.actor_role,
            action=r.action,
            fields=list(r.fields),
        )
        for r in rows
    ]
