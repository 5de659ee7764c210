"""Beds filled and freed: beds added or taken out of service, admissions (入住), discharges (退住) and transfers
(转床), holds released or lapsed. Every bed that becomes free is offered to the waiting list.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.service import area_channels
from backend.capacity.holds import close_hold, live_hold, set_bed
from backend.capacity.institutions import counts_changed, known_kind, managed_institution, may_manage
from backend.capacity.models import Admission, Bed, BedHold, BedStatus, HoldStatus, Institution
from backend.capacity.schemas import BedsCreate
from backend.capacity.waiting import serve_waiting
from backend.core.config import Settings
from backend.core.db import local_today, utcnow
from backend.core.errors import Conflict, NotFound
from backend.core.events import emit
from backend.core.lookups import get_or_404, insert_unique, referenced
from backend.policies.cover import cover_on
from backend.policies.models import Scheme
from backend.users.models import User


async def add_beds(
    *, session: AsyncSession, settings: Settings, institution: Institution, data: BedsCreate
) -> list[Bed]:
    """Add ``count`` free beds of a kind in a room, labelled room-1, room-2, … after those already there."""
    await known_kind(session, data.kind)
    there = await session.scalar(
        select(func.count(col(Bed.id))).where(col(Bed.institution_id) == institution.id, col(Bed.room) == data.room)
    )
    now = utcnow()
    beds = [
        Bed(
            institution_id=institution.id,  # type: ignore[arg-type]
            room=data.room,
            label=f"{data.room}-{int(there or 0) + n}",
            kind=data.kind,
            updated_at=now,
        )
        for n in range(1, data.count + 1)
    ]
    session.add_all(beds)
    await session.flush()
    await counts_changed(session, institution, data.kind)
    await serve_waiting(session, settings, institution, data.kind)
    for bed in beds:
        await session.refresh(bed)
    return beds


async def admit(*, session: AsyncSession, user: User, hold_id: int) -> Admission:
    """The elder moves in (入住): the held bed becomes theirs."""
    hold, institution = await live_hold(session, user, hold_id)
    now = utcnow()
    await set_bed(session, hold.bed_id, BedStatus.held, BedStatus.occupied)
    await close_hold(session, hold, HoldStatus.admitted, now)
    admission = Admission(
        bed_id=hold.bed_id,
        elder_id=hold.elder_id,
        institution_id=hold.institution_id,
        hold_id=hold.id,
        admitted_at=now,
        admitted_by=user.actor,
    )
    taken = Conflict("该老人已入住床位", code="elder_already_admitted", message_en="The elder already has a bed")
    await insert_unique(session, admission, taken)
    await _check_cover(session, institution, admission)
    await counts_changed(session, institution, hold.kind)
    return admission


async def _check_cover(session: AsyncSession, institution: Institution, admission: Admission) -> None:
    """Record the institution's liability policy of the day; without one, tell the area's dashboards."""
    assert institution.id is not None
    policy = await cover_on(session, Scheme.institution_liability, institution.id, local_today())
    admission.liability_policy_id = policy.id if policy else None
    await session.flush()
    if policy is None:
        emit(
            session,
            "insurance.uncovered_admission",
            await area_channels(session, institution.community_id),
            {"institution_id": institution.id, "admission_id": admission.id, "elder_id": admission.elder_id},
        )


async def release_hold(*, session: AsyncSession, settings: Settings, user: User, hold_id: int) -> BedHold:
    """Give a held bed back (the family chose elsewhere); the waiting list gets it."""
    hold, institution = await live_hold(session, user, hold_id)
    await set_bed(session, hold.bed_id, BedStatus.held, BedStatus.free)
    await close_hold(session, hold, HoldStatus.released, utcnow())
    await counts_changed(session, institution, hold.kind)
    await serve_waiting(session, settings, institution, hold.kind)
    return hold


async def _current_admission(session: AsyncSession, user: User, admission_id: int) -> tuple[Admission, Institution]:
    """An admission, locked, that the user may act on and whose elder still lives there (409 otherwise)."""
    admission = (
        await session.execute(select(Admission).where(col(Admission.id) == admission_id).with_for_update())
    ).scalar_one_or_none()
    if admission is None:
        raise NotFound("入住记录不存在", code="admission_not_found", message_en="Unknown admission")
    institution = await session.get(Institution, admission.institution_id)
    assert institution is not None
    await may_manage(session, user, institution, admission.elder_id)
    if admission.discharged_at is not None:
        raise Conflict("该老人已退住", code="already_discharged", message_en="Already discharged")
    return admission, institution


async def _vacate(session: AsyncSession, user: User, admission: Admission, reason: str | None) -> Bed:
    """End an admission: its bed is free again (the caller tells the area and serves the waiting list)."""
    bed = await session.get(Bed, admission.bed_id)
    assert bed is not None and bed.id is not None
    await set_bed(session, bed.id, BedStatus.occupied, BedStatus.free)
    admission.discharged_at, admission.discharged_by = utcnow(), user.actor
    admission.discharge_reason = reason
    await session.flush()
    return bed


async def discharge(
    *, session: AsyncSession, settings: Settings, user: User, admission_id: int, reason: str | None
) -> Admission:
    """The elder leaves (退住): their bed is free again, for the waiting list."""
    admission, institution = await _current_admission(session, user, admission_id)
    bed = await _vacate(session, user, admission, reason)
    await counts_changed(session, institution, bed.kind)
    await serve_waiting(session, settings, institution, bed.kind)
    return admission


async def transfer(
    *, session: AsyncSession, settings: Settings, user: User, admission_id: int, bed_id: int, reason: str | None
) -> Admission:
    """The resident moves to another free bed (转床), here or elsewhere: one admission ends, the next begins."""
    admission, institution = await _current_admission(session, user, admission_id)
    target = await referenced(session, Bed, bed_id, what="床位", what_en="bed")
    there = await session.get(Institution, target.institution_id)
    assert there is not None and target.id is not None
    await may_manage(session, user, there, admission.elder_id)
    if target.status != BedStatus.free:
        raise Conflict("目标床位不空闲", code="bed_not_free", message_en="The bed asked for is not free")
    await set_bed(session, target.id, BedStatus.free, BedStatus.occupied)
    why = f"转床至 {there.name} {target.label}" + (f"：{reason}" if reason else "")
    old = await _vacate(session, user, admission, why)
    moved = Admission(
        bed_id=target.id,
        elder_id=admission.elder_id,
        institution_id=there.id,  # type: ignore[arg-type]
        admitted_by=user.actor,
    )
    session.add(moved)
    await session.flush()
    await _check_cover(session, there, moved)
    await counts_changed(session, there, target.kind)
    await counts_changed(session, institution, old.kind)
    await serve_waiting(session, settings, institution, old.kind)
    return moved


async def set_in_service(
    *, session: AsyncSession, settings: Settings, user: User, bed_id: int, in_service: bool
) -> Bed:
    """Take a free bed out of service (repairs) or put it back (409 ``bed_in_use`` for a held or occupied bed)."""
    bed = await get_or_404(session, Bed, bed_id, what="床位", what_en="bed")
    institution = await managed_institution(session, user, bed.institution_id)
    frm, to = (BedStatus.out_of_service, BedStatus.free) if in_service else (BedStatus.free, BedStatus.out_of_service)
    if bed.status != frm:
        raise Conflict(f"床位当前为 {bed.status}", code="bed_in_use", message_en=f"The bed is {bed.status}")
    await set_bed(session, bed.id, frm, to)  # type: ignore[arg-type]
    await session.refresh(bed)
    await counts_changed(session, institution, bed.kind)
    if in_service:
        await serve_waiting(session, settings, institution, bed.kind)
    return bed


async def expire_hold(*, session: AsyncSession, settings: Settings, hold_id: int, now: datetime) -> bool:
    """Let one lapsed hold go: its bed is free again (False when it was admitted or released meanwhile)."""
    hold = (
        await session.execute(select(BedHold).where(col(BedHold.id) == hold_id).with_for_update())
    ).scalar_one_or_none()
    if hold is None or hold.status != HoldStatus.active or hold.expires_at > now:
        return False
    await set_bed(session, hold.bed_id, BedStatus.held, BedStatus.free)
    await close_hold(session, hold, HoldStatus.expired, now)
    institution = await session.get(Institution, hold.institution_id)
    assert institution is not None
    await counts_changed(session, institution, hold.kind)
    await serve_waiting(session, settings, institution, hold.kind)
    return True
