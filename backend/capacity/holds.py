"""Holding a bed: a bed's state changed by compare-and-set, a hold taken on the first free bed, holds that lapse.

Every change of a bed's state is a compare-and-set on the bed row (``free → held`` only if it is
still free) inside the operation's transaction, next to the row that explains it (a hold, an
admission); partial unique indexes refuse a second live hold or occupant of a bed, and a second bed
for one elder. A hold takes the first free bed of the kind with ``FOR UPDATE SKIP LOCKED``, so
concurrent holds spread over the free beds instead of queueing on one. A hold is admitted, released or
lapses in ``beds.py``, where the bed it frees is offered to the waiting list.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.capacity.institutions import counts_changed, known_kind, may_manage, may_place
from backend.capacity.models import (
    Admission,
    Bed,
    BedHold,
    BedStatus,
    HoldStatus,
    Institution,
    WaitingEntry,
    WaitStatus,
)
from backend.capacity.schemas import HoldCreate
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound
from backend.core.lookups import insert_unique, referenced
from backend.users.models import User


async def _moved_bed(session: AsyncSession, bed_id: int, frm: BedStatus, to: BedStatus) -> bool:
    """Move a bed from ``frm`` to ``to`` if it still is ``frm``; whether it was."""
    done = await session.execute(
        update(Bed)
        .where(col(Bed.id) == bed_id, col(Bed.status) == frm.value)
        .values(status=to.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


async def set_bed(session: AsyncSession, bed_id: int, frm: BedStatus, to: BedStatus) -> None:
    """Move a bed from ``frm`` to ``to`` (409 when someone changed it first)."""
    if not await _moved_bed(session, bed_id, frm, to):
        raise Conflict("床位状态已变化，请刷新", code="bed_changed", message_en="The bed changed; refresh")


def placed(elder_id: Any) -> ColumnElement[bool]:
    """The elder (an id or an id column) holds a bed or lives in one."""
    holding = exists().where(col(BedHold.elder_id) == elder_id, col(BedHold.status) == HoldStatus.active.value)
    living = exists().where(col(Admission.elder_id) == elder_id, col(Admission.discharged_at).is_(None))
    return or_(holding, living)


async def take_bed(
    session: AsyncSession,
    institution: Institution,
    elder_id: int,
    kind: str,
    *,
    hours: float,
    by: str,
    reason: str | None,
) -> BedHold | None:
    """Hold the first free bed of the kind for the elder; None when no bed is free.

    PostgreSQL skips beds other holds have locked; SQLite cannot, so a hold that finds its bed taken meanwhile
    (the conditional update moves nothing) goes on to the next free one.
    """
    taken: list[int] = []
    while True:
        bed_id = await session.scalar(
            select(Bed.id)
            .where(
                col(Bed.institution_id) == institution.id,
                col(Bed.kind) == kind,
                col(Bed.status) == BedStatus.free.value,
                col(Bed.id).not_in(taken),
            )
            .order_by(col(Bed.id))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if bed_id is None:
            return None
        if await _moved_bed(session, bed_id, BedStatus.free, BedStatus.held):
            break
        taken.append(bed_id)
    now = utcnow()
    hold = BedHold(
        bed_id=bed_id,
        elder_id=elder_id,
        institution_id=institution.id,  # type: ignore[arg-type]
        kind=kind,
        expires_at=now + timedelta(hours=hours),
        by=by,
        reason=reason,
        created_at=now,
    )
    held = Conflict("该老人已预留其他床位", code="elder_already_holds", message_en="The elder already holds a bed")
    await insert_unique(session, hold, held)
    await counts_changed(session, institution, kind)
    return hold


async def hold_bed(*, session: AsyncSession, settings: Settings, user: User, data: HoldCreate) -> BedHold:
    """Reserve a free bed of the kind for the elder until the hold lapses (409 ``no_bed_free`` when none is)."""
    institution = await referenced(session, Institution, data.institution_id, what="养老机构", what_en="institution")
    elder = await may_place(session, user, institution, data.elder_id)
    await known_kind(session, data.kind)
    living = exists().where(col(Admission.elder_id) == elder.id, col(Admission.discharged_at).is_(None))
    if await session.scalar(select(living)):
        raise Conflict("该老人已入住床位", code="elder_already_admitted", message_en="The elder already has a bed")
    assert elder.id is not None
    by = user.actor
    hold = await take_bed(
        session, institution, elder.id, data.kind, hours=settings.bed_hold_hours, by=by, reason=data.reason
    )
    if hold is None:
        raise Conflict("该机构此类床位已满，可登记轮候", code="no_bed_free", message_en="No free bed of this kind")
    return hold


async def live_hold(session: AsyncSession, user: User, hold_id: int) -> tuple[BedHold, Institution]:
    """A hold, locked, that the user may act on and that is still live (409 otherwise)."""
    hold = (
        await session.execute(select(BedHold).where(col(BedHold.id) == hold_id).with_for_update())
    ).scalar_one_or_none()
    if hold is None:
        raise NotFound("床位预留不存在", code="hold_not_found", message_en="Unknown bed hold")
    institution = await session.get(Institution, hold.institution_id)
    assert institution is not None
    await may_manage(session, user, institution, hold.elder_id)
    if hold.status == HoldStatus.active and hold.expires_at <= utcnow():
        raise Conflict("床位预留已过期", code="hold_expired", message_en="The hold has lapsed")
    if hold.status != HoldStatus.active:
        raise Conflict("床位预留已结束", code="hold_not_active", message_en=f"The hold is {hold.status}")
    return hold, institution


async def close_hold(session: AsyncSession, hold: BedHold, to: HoldStatus, now: datetime) -> None:
    """Close a hold; a waiting-list offer it carried is placed (admitted) or declined (released, lapsed)."""
    hold.status, hold.closed_at = to.value, now
    outcome = WaitStatus.placed if to == HoldStatus.admitted else WaitStatus.declined
    await session.execute(
        update(WaitingEntry)
        .where(col(WaitingEntry.hold_id) == hold.id, col(WaitingEntry.status) == WaitStatus.offered.value)
        .values(status=outcome.value, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if to == HoldStatus.admitted:  # placed: the elder waits nowhere else
        await session.execute(
            update(WaitingEntry)
            .where(col(WaitingEntry.elder_id) == hold.elder_id, col(WaitingEntry.status) == WaitStatus.waiting.value)
            .values(status=WaitStatus.left.value, closed_at=now)
            .execution_options(synchronize_session=False)
        )
    await session.flush()


async def lapsed_holds(*, session: AsyncSession, now: datetime, limit: int = 500) -> list[int]:
    rows = await session.execute(
        select(BedHold.id)
        .where(col(BedHold.status) == HoldStatus.active.value, col(BedHold.expires_at) <= now)
        .order_by(col(BedHold.id))
        .limit(limit)
    )
    return [i for i in rows.scalars() if i is not None]
