"""Follow-up rules: opened once per device and kind, seen by the elder's area, closed with an outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import covers_community, own_area_condition
from backend.areas.models import Community
from backend.areas.service import area_channels
from backend.core.config import Settings
from backend.core.db import iso, utcnow
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.events import emit
from backend.core.paging import Page
from backend.followups.models import FollowUp, FollowUpKind, FollowUpStatus
from backend.registry.models import Elder
from backend.users.models import Role, User

STAFF = frozenset({Role.admin.value, Role.operator.value, Role.community_staff.value})


async def open_follow_up(
    *,
    session: AsyncSession,
    settings: Settings,
    kind: FollowUpKind,
    elder: Elder,
    reason: str,
    due_at: datetime,
    device_id: int | None = None,
    request_id: int | None = None,
) -> FollowUp:
    """Open a follow-up, or return the one already open for the device (or order) and kind."""
    assert elder.id is not None
    follow_up = FollowUp(
        kind=kind.value,
        elder_id=elder.id,
        community_id=elder.community_id,
        device_id=device_id,
        request_id=request_id,
        reason=reason,
        due_at=due_at,
    )
    try:
        async with session.begin_nested():
            session.add(follow_up)
            await session.flush()
    except IntegrityError:
        existing = await open_one(session, kind, device_id=device_id, request_id=request_id)
        assert existing is not None
        return existing
    emit(session, "follow_up.opened", await area_channels(session, elder.community_id), _event(follow_up))
    return follow_up


async def open_one(
    session: AsyncSession, kind: FollowUpKind, *, device_id: int | None = None, request_id: int | None = None
) -> FollowUp | None:
    """The open follow-up of this kind for the device (or the order), if any."""
    about = col(FollowUp.device_id) == device_id if device_id is not None else col(FollowUp.request_id) == request_id
    rows = await session.execute(
        select(FollowUp).where(
            about, col(FollowUp.kind) == kind.value, col(FollowUp.status) == FollowUpStatus.open.value
        )
    )
    return rows.scalar_one_or_none()


def mark_done(follow_up: FollowUp, *, by: str, outcome: str, at: datetime | None = None) -> None:
    follow_up.status, follow_up.done_at = FollowUpStatus.done.value, at or utcnow()
    follow_up.done_by, follow_up.outcome = by, outcome


def _event(follow_up: FollowUp) -> dict[str, object]:
    return {
        "follow_up_id": follow_up.id,
        "kind": follow_up.kind,
        "elder_id": follow_up.elder_id,
        "status": follow_up.status,
        "due_at": iso(follow_up.due_at),
    }


async def listing(
    *,
    session: AsyncSession,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    kind: FollowUpKind | None,
    status: FollowUpStatus | None,
    page: Page,
) -> list[FollowUp]:
    """A page of an area's follow-ups (none: the city for operators, their own area for an area's staff), soonest
    due first."""
    _area, where = await own_area_condition(session, user, community_id, street_id, district_id)
    query = select(FollowUp).join(Community, col(Community.id) == col(FollowUp.community_id)).where(*where)
    if kind is not None:
        query = query.where(col(FollowUp.kind) == kind.value)
    if status is not None:
        query = query.where(col(FollowUp.status) == status.value)
    return await page.scalars(session, query.order_by(col(FollowUp.due_at), col(FollowUp.id)))


async def finish(*, session: AsyncSession, user: User, follow_up_id: int, outcome: str) -> FollowUp:
    """Close a follow-up with what was done (staff of the elder's area); 409 ``follow_up_closed``."""
    follow_up = (
        await session.execute(select(FollowUp).where(col(FollowUp.id) == follow_up_id).with_for_update())
    ).scalar_one_or_none()
    if follow_up is None:
        raise NotFound("跟进事项不存在", code="follow_up_not_found", message_en="Unknown follow-up")
    community = await session.get(Community, follow_up.community_id)
    if user.role not in STAFF or community is None or not covers_community(user, community):
        raise Forbidden("超出您的管辖范围", code="out_of_scope", message_en="Outside your scope")
    if follow_up.status != FollowUpStatus.open:
        raise Conflict("该跟进事项已完成", code="follow_up_closed", message_en="The follow-up is closed")
    mark_done(follow_up, by=user.actor, outcome=outcome)
    await session.flush()
    emit(session, "follow_up.done", await area_channels(session, follow_up.community_id), _event(follow_up))
    return follow_up
