"""Capacity rules: institutions and their beds, holds that lapse, admissions and discharges, live counts.

Every change of a bed's state is a compare-and-set on the bed row (``free → held`` only if it is
still free) inside the operation's transaction, next to the row that explains it (a hold, an
admission); partial unique indexes refuse a second live hold or occupant of a bed, and a second bed
for one elder. A hold takes the first free bed of the kind with ``FOR UPDATE SKIP LOCKED``, so
concurrent holds spread over the free beds instead of queueing on one. Each change publishes the
institution's new counts for the bed kind (``capacity.changed``) on its community, street and
district channels.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import area_condition, check_elder
from backend.areas.models import Community, District
from backend.areas.service import area_channels
from backend.capacity.models import (
    Admission,
    Bed,
    BedHold,
    BedKind,
    BedStatus,
    Benefit,
    CapacitySnapshot,
    HoldStatus,
    Institution,
    OperatorKind,
    WaitingEntry,
    WaitStatus,
)
from backend.capacity.schemas import (
    AreaCapacity,
    BedKindCreate,
    BedsCreate,
    Capacity,
    Counts,
    DayCounts,
    FreeBeds,
    HoldCreate,
    InstitutionCreate,
    WaitingCreate,
)
from backend.core.config import Settings
from backend.core.db import iso, local_today, utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.events import emit
from backend.core.geo import distance_m
from backend.core.lookups import get_or_404, insert_unique, referenced
from backend.core.paging import Page
from backend.core.schemas import Location
from backend.insurance.models import Scheme
from backend.insurance.service import cover_on
from backend.registry.models import Elder, Provider
from backend.users.models import Role, User

WAITING_LIST = "system:waiting_list"
MANAGERS = frozenset({Role.admin.value, Role.provider_admin.value})
PLACERS = frozenset({Role.admin.value, Role.operator.value, Role.community_staff.value})


def _forbidden() -> Forbidden:
    return Forbidden("无权管理该机构的床位", code="out_of_scope", message_en="Not your institution")


def runs(user: User, institution: Institution) -> bool:
    """True when the user manages the institution: an admin, or the admin of its provider."""
    if user.role == Role.admin:
        return True
    return (
        user.role == Role.provider_admin
        and user.provider_id is not None
        and user.provider_id == institution.provider_id
    )


async def create_institution(*, session: AsyncSession, user: User, data: InstitutionCreate) -> Institution:
    """Register an institution (admins; a provider's admin for their own provider)."""
    if user.role not in MANAGERS or (user.role == Role.provider_admin and data.provider_id != user.provider_id):
        raise _forbidden()
    await referenced(session, Community, data.community_id, what="社区", what_en="community")
    if data.provider_id is not None:
        await referenced(session, Provider, data.provider_id, what="服务组织", what_en="provider")
    institution = Institution(
        name=data.name,
        operator_kind=data.operator_kind.value,
        community_id=data.community_id,
        provider_id=data.provider_id,
        licence_no=data.licence_no,
        filing_no=data.filing_no,
        lat=data.location.lat,
        lon=data.location.lon,
        monthly_fee_fen=data.monthly_fee_fen,
    )
    if data.filing_no is not None:
        filed = await session.execute(select(Institution.id).where(col(Institution.filing_no) == data.filing_no))
        if filed.first() is not None:
            raise Conflict("备案号已登记", code="filing_taken", message_en="This filing number is registered")
    taken = Conflict("许可证号已登记", code="licence_taken", message_en="This licence number is registered")
    return await insert_unique(session, institution, taken)


async def managed_institution(session: AsyncSession, user: User, institution_id: int) -> Institution:
    institution = await get_or_404(session, Institution, institution_id, what="养老机构", what_en="institution")
    if not runs(user, institution):
        raise _forbidden()
    return institution


async def bed_kinds(session: AsyncSession) -> list[BedKind]:
    return list((await session.execute(select(BedKind).order_by(col(BedKind.code)))).scalars())


async def add_bed_kind(*, session: AsyncSession, user: User, data: BedKindCreate) -> BedKind:
    """Configure a kind of bed (admins; 409 ``bed_kind_exists``)."""
    if user.role != Role.admin:
        raise Forbidden("仅管理员可配置床位类型", code="role_forbidden", message_en="Admins only")
    taken = Conflict("床位类型已存在", code="bed_kind_exists", message_en="This bed kind exists")
    return await insert_unique(session, BedKind(**data.model_dump()), taken)


async def _known_kind(session: AsyncSession, kind: str) -> BedKind:
    return await referenced(session, BedKind, kind, what="床位类型", what_en="bed_kind")


async def add_beds(
    *, session: AsyncSession, settings: Settings, institution: Institution, data: BedsCreate
) -> list[Bed]:
    """Add ``count`` free beds of a kind in a room, labelled room-1, room-2, … after those already there."""
    await _known_kind(session, data.kind)
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
    await _changed(session, institution, data.kind)
    await _serve_waiting(session, settings, institution, data.kind)
    for bed in beds:
        await session.refresh(bed)
    return beds


async def capacity(session: AsyncSession, institution_id: int) -> Capacity:
    """The institution's beds by state, in all and per kind."""
    rows = await session.execute(
        select(Bed.kind, Bed.status, func.count(col(Bed.id)))
        .where(col(Bed.institution_id) == institution_id)
        .group_by(col(Bed.kind), col(Bed.status))
    )
    result = Capacity(institution_id=institution_id)
    for kind, status, n in rows.all():
        for counts in (result, result.by_kind.setdefault(kind, Counts())):
            setattr(counts, status, getattr(counts, status) + n)
            counts.total += n
    return result


async def search_free_beds(*, session: AsyncSession, kind: str, near: Location, radius_km: float) -> list[FreeBeds]:
    """Institutions within ``radius_km`` with free beds of the kind, nearest first."""
    await _known_kind(session, kind)
    dlat = radius_km / 111.32
    dlon = radius_km / (111.32 * max(0.01, math.cos(math.radians(near.lat))))
    free = func.count(col(Bed.id))
    rows = await session.execute(
        select(Institution, free)
        .join(Bed, col(Bed.institution_id) == col(Institution.id))
        .where(
            col(Bed.kind) == kind,
            col(Bed.status) == BedStatus.free.value,
            col(Institution.lat).between(near.lat - dlat, near.lat + dlat),
            col(Institution.lon).between(near.lon - dlon, near.lon + dlon),
        )
        .group_by(col(Institution.id))
    )
    found = []
    for institution, n in rows.all():
        metres = distance_m(near.lat, near.lon, institution.lat, institution.lon)
        if metres <= radius_km * 1000:
            found.append(
                FreeBeds(
                    institution_id=institution.id,
                    name=institution.name,
                    operator_kind=institution.operator_kind,
                    location=Location(lat=institution.lat, lon=institution.lon),
                    distance_m=round(metres, 1),
                    free=n,
                    monthly_fee_fen=institution.monthly_fee_fen,
                )
            )
    found.sort(key=lambda f: (f.distance_m, f.institution_id))
    return found


async def _may_manage(session: AsyncSession, user: User, institution: Institution, elder_id: int) -> Elder:
    """The elder, if the user may act on their hold or admission at this institution: its admin, or staff
    within the elder's area (or the city)."""
    if runs(user, institution):
        return await get_or_404(session, Elder, elder_id, what="老人", what_en="elder")
    if user.role not in PLACERS:
        raise _forbidden()
    return await check_elder(session, user, elder_id)


async def _may_place(session: AsyncSession, user: User, institution: Institution, elder_id: int) -> Elder:
    """The elder, if the user may place them in this institution: staff within the elder's area (or the city),
    or the institution's own admin for an elder referred to it (a live entry on its or its district's waiting
    list, which area staff put there). A provider cannot hold beds for elders nobody sent it."""
    if user.role in PLACERS:
        return await check_elder(session, user, elder_id)
    if not runs(user, institution):
        raise _forbidden()
    elder = await get_or_404(session, Elder, elder_id, what="老人", what_en="elder")
    community = await session.get(Community, institution.community_id)
    lists = [f"institution:{institution.id}", f"district:{community.district_id if community else 0}"]
    referred = await session.scalar(
        select(WaitingEntry.id)
        .where(
            col(WaitingEntry.elder_id) == elder_id,
            col(WaitingEntry.list_key).in_(lists),
            col(WaitingEntry.status).in_([WaitStatus.waiting.value, WaitStatus.offered.value]),
        )
        .limit(1)
    )
    if referred is None:
        raise Forbidden(
            "该老人未被转介到本机构（请由社区或民政工作人员转介）",
            code="not_referred",
            message_en="This elder was not referred to your institution",
        )
    return elder


async def _moved_bed(session: AsyncSession, bed_id: int, frm: BedStatus, to: BedStatus) -> bool:
    """Move a bed from ``frm`` to ``to`` if it still is ``frm``; whether it was."""
    done = await session.execute(
        update(Bed)
        .where(col(Bed.id) == bed_id, col(Bed.status) == frm.value)
        .values(status=to.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


async def _set_bed(session: AsyncSession, bed_id: int, frm: BedStatus, to: BedStatus) -> None:
    """Move a bed from ``frm`` to ``to`` (409 when someone changed it first)."""
    if not await _moved_bed(session, bed_id, frm, to):
        raise Conflict("床位状态已变化，请刷新", code="bed_changed", message_en="The bed changed; refresh")


async def _changed(session: AsyncSession, institution: Institution, kind: str) -> None:
    """Tell the institution's area its new counts for this kind of bed."""
    counts = (await capacity(session, institution.id)).by_kind.get(kind, Counts())  # type: ignore[arg-type]
    channels = await area_channels(session, institution.community_id)
    emit(session, "capacity.changed", channels, {"institution_id": institution.id, "kind": kind, **counts.model_dump()})


def _placed(elder_id: Any) -> ColumnElement[bool]:
    """The elder (an id or an id column) holds a bed or lives in one."""
    holding = exists().where(col(BedHold.elder_id) == elder_id, col(BedHold.status) == HoldStatus.active.value)
    living = exists().where(col(Admission.elder_id) == elder_id, col(Admission.discharged_at).is_(None))
    return or_(holding, living)


async def _take_bed(
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
    await _changed(session, institution, kind)
    return hold


async def hold_bed(*, session: AsyncSession, settings: Settings, user: User, data: HoldCreate) -> BedHold:
    """Reserve a free bed of the kind for the elder until the hold lapses (409 ``no_bed_free`` when none is)."""
    institution = await referenced(session, Institution, data.institution_id, what="养老机构", what_en="institution")
    elder = await _may_place(session, user, institution, data.elder_id)
    await _known_kind(session, data.kind)
    living = exists().where(col(Admission.elder_id) == elder.id, col(Admission.discharged_at).is_(None))
    if await session.scalar(select(living)):
        raise Conflict("该老人已入住床位", code="elder_already_admitted", message_en="The elder already has a bed")
    assert elder.id is not None
    by = user.actor
    hold = await _take_bed(
        session, institution, elder.id, data.kind, hours=settings.bed_hold_hours, by=by, reason=data.reason
    )
    if hold is None:
        raise Conflict("该机构此类床位已满，可登记轮候", code="no_bed_free", message_en="No free bed of this kind")
    return hold


async def _live_hold(session: AsyncSession, user: User, hold_id: int) -> tuple[BedHold, Institution]:
    """A hold, locked, that the user may act on and that is still live (409 otherwise)."""
    hold = (
        await session.execute(select(BedHold).where(col(BedHold.id) == hold_id).with_for_update())
    ).scalar_one_or_none()
    if hold is None:
        raise NotFound("床位预留不存在", code="hold_not_found", message_en="Unknown bed hold")
    institution = await session.get(Institution, hold.institution_id)
    assert institution is not None
    await _may_manage(session, user, institution, hold.elder_id)
    if hold.status == HoldStatus.active and hold.expires_at <= utcnow():
        raise Conflict("床位预留已过期", code="hold_expired", message_en="The hold has lapsed")
    if hold.status != HoldStatus.active:
        raise Conflict("床位预留已结束", code="hold_not_active", message_en=f"The hold is {hold.status}")
    return hold, institution


async def _close_hold(session: AsyncSession, hold: BedHold, to: HoldStatus, now: datetime) -> None:
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


async def admit(*, session: AsyncSession, user: User, hold_id: int) -> Admission:
    """The elder moves in (入住): the held bed becomes theirs."""
    hold, institution = await _live_hold(session, user, hold_id)
    now = utcnow()
    await _set_bed(session, hold.bed_id, BedStatus.held, BedStatus.occupied)
    await _close_hold(session, hold, HoldStatus.admitted, now)
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
    await _changed(session, institution, hold.kind)
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
    hold, institution = await _live_hold(session, user, hold_id)
    await _set_bed(session, hold.bed_id, BedStatus.held, BedStatus.free)
    await _close_hold(session, hold, HoldStatus.released, utcnow())
    await _changed(session, institution, hold.kind)
    await _serve_waiting(session, settings, institution, hold.kind)
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
    await _may_manage(session, user, institution, admission.elder_id)
    if admission.discharged_at is not None:
        raise Conflict("该老人已退住", code="already_discharged", message_en="Already discharged")
    return admission, institution


async def _vacate(session: AsyncSession, user: User, admission: Admission, reason: str | None) -> Bed:
    """End an admission: its bed is free again (the caller tells the area and serves the waiting list)."""
    bed = await session.get(Bed, admission.bed_id)
    assert bed is not None and bed.id is not None
    await _set_bed(session, bed.id, BedStatus.occupied, BedStatus.free)
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
    await _changed(session, institution, bed.kind)
    await _serve_waiting(session, settings, institution, bed.kind)
    return admission


async def transfer(
    *, session: AsyncSession, settings: Settings, user: User, admission_id: int, bed_id: int, reason: str | None
) -> Admission:
    """The resident moves to another free bed (转床), here or elsewhere: one admission ends, the next begins."""
    admission, institution = await _current_admission(session, user, admission_id)
    target = await referenced(session, Bed, bed_id, what="床位", what_en="bed")
    there = await session.get(Institution, target.institution_id)
    assert there is not None and target.id is not None
    await _may_manage(session, user, there, admission.elder_id)
    if target.status != BedStatus.free:
        raise Conflict("目标床位不空闲", code="bed_not_free", message_en="The bed asked for is not free")
    await _set_bed(session, target.id, BedStatus.free, BedStatus.occupied)
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
    await _changed(session, there, target.kind)
    await _changed(session, institution, old.kind)
    await _serve_waiting(session, settings, institution, old.kind)
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
    await _set_bed(session, bed.id, frm, to)  # type: ignore[arg-type]
    await session.refresh(bed)
    await _changed(session, institution, bed.kind)
    if in_service:
        await _serve_waiting(session, settings, institution, bed.kind)
    return bed


async def lapsed_holds(*, session: AsyncSession, now: datetime, limit: int = 500) -> list[int]:
    rows = await session.execute(
        select(BedHold.id)
        .where(col(BedHold.status) == HoldStatus.active.value, col(BedHold.expires_at) <= now)
        .order_by(col(BedHold.id))
        .limit(limit)
    )
    return [i for i in rows.scalars() if i is not None]


async def expire_hold(*, session: AsyncSession, settings: Settings, hold_id: int, now: datetime) -> bool:
    """Let one lapsed hold go: its bed is free again (False when it was admitted or released meanwhile)."""
    hold = (
        await session.execute(select(BedHold).where(col(BedHold.id) == hold_id).with_for_update())
    ).scalar_one_or_none()
    if hold is None or hold.status != HoldStatus.active or hold.expires_at > now:
        return False
    await _set_bed(session, hold.bed_id, BedStatus.held, BedStatus.free)
    await _close_hold(session, hold, HoldStatus.expired, now)
    institution = await session.get(Institution, hold.institution_id)
    assert institution is not None
    await _changed(session, institution, hold.kind)
    await _serve_waiting(session, settings, institution, hold.kind)
    return True


async def check_placement(session: AsyncSession, user: User, record: BedHold | Admission) -> None:
    """403 unless the user may act on this hold's or admission's elder in its institution."""
    institution = await session.get(Institution, record.institution_id)
    assert institution is not None
    await _may_manage(session, user, institution, record.elder_id)


def priority_of(settings: Settings, benefit: Benefit, disability_level: int) -> int:
    """An entry's place in line by the city's weights (higher first; then who joined first)."""
    weights = settings.waiting_weights
    tier = {Benefit.extreme_poverty: weights.extreme_poverty, Benefit.low_income: weights.low_income}
    return tier.get(benefit, 0) + weights.per_disability_level * disability_level


async def _serve_waiting(session: AsyncSession, settings: Settings, institution: Institution, kind: str) -> None:
    """Offer the institution's free beds of the kind to its waiting list and its district's, first in line first.

    Each offer is a hold for ``waiting_offer_hours`` made by ``system:waiting_list`` and told to the
    elder's channels (``bed.offered``); elders who already hold or live in a bed are passed over.
    """
    community = await session.get(Community, institution.community_id)
    assert community is not None
    lists = [f"institution:{institution.id}", f"district:{community.district_id}"]
    while True:
        entry = (
            await session.execute(
                select(WaitingEntry)
                .where(
                    col(WaitingEntry.list_key).in_(lists),
                    col(WaitingEntry.kind) == kind,
                    col(WaitingEntry.status) == WaitStatus.waiting.value,
                    ~_placed(col(WaitingEntry.elder_id)),
                )
                .order_by(col(WaitingEntry.priority).desc(), col(WaitingEntry.joined_at), col(WaitingEntry.id))
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if entry is None:
            return
        reason = "轮候名单自动分配"
        hold = await _take_bed(
            session,
            institution,
            entry.elder_id,
            kind,
            hours=settings.waiting_offer_hours,
            by=WAITING_LIST,
            reason=reason,
        )
        if hold is None:
            return
        entry.status, entry.hold_id = WaitStatus.offered.value, hold.id
        await session.flush()
        elder = await session.get(Elder, entry.elder_id)
        assert elder is not None
        emit(
            session,
            "bed.offered",
            [f"elder:{elder.id}", f"community:{elder.community_id}"],
            {
                "waiting_entry_id": entry.id,
                "hold_id": hold.id,
                "elder_id": elder.id,
                "institution_id": institution.id,
                "institution_name": institution.name,
                "bed_id": hold.bed_id,
                "kind": kind,
                "expires_at": iso(hold.expires_at),
            },
        )


async def join_waiting_list(
    *, session: AsyncSession, settings: Settings, user: User, data: WaitingCreate
) -> WaitingEntry:
    """Put the elder on a waiting list; a suitable free bed is offered at once (the entry comes back ``offered``)."""
    await _known_kind(session, data.kind)
    if data.institution_id is not None:
        institution = await referenced(
            session, Institution, data.institution_id, what="养老机构", what_en="institution"
        )
        elder = await _may_place(session, user, institution, data.elder_id)
        key, serving = f"institution:{institution.id}", [institution]
    else:
        await referenced(session, District, data.district_id, what="区", what_en="district")
        if user.role not in PLACERS:
            raise _forbidden()
        elder = await check_elder(session, user, data.elder_id)
        key = f"district:{data.district_id}"
        rows = await session.execute(
            select(Institution)
            .join(Community, col(Community.id) == col(Institution.community_id))
            .where(col(Community.district_id) == data.district_id)
        )
        serving = sorted(rows.scalars(), key=lambda i: distance_m(elder.lat, elder.lon, i.lat, i.lon))
    entry = WaitingEntry(
        elder_id=elder.id,  # type: ignore[arg-type]
        list_key=key,
        kind=data.kind,
        benefit=data.benefit.value,
        disability_level=data.disability_level,
        priority=priority_of(settings, data.benefit, data.disability_level),
        note=data.note,
        by=user.actor,
    )
    already = Conflict("该老人已在此轮候名单中", code="already_waiting", message_en="Already on this waiting list")
    await insert_unique(session, entry, already)
    for institution in serving:
        await _serve_waiting(session, settings, institution, data.kind)
        await session.refresh(entry)
        if entry.status != WaitStatus.waiting:
            break
    return entry


async def waiting_list(
    *, session: AsyncSession, user: User, institution_id: int | None, district_id: int | None, kind: str | None
) -> list[tuple[WaitingEntry, int | None]]:
    """A waiting list's live entries in the order beds are offered, with each waiting entry's position."""
    if institution_id is not None:
        institution = await get_or_404(session, Institution, institution_id, what="养老机构", what_en="institution")
        if not runs(user, institution) and user.role not in PLACERS:
            raise _forbidden()
        key = f"institution:{institution_id}"
    elif district_id is not None:
        if user.role not in PLACERS:
            raise _forbidden()
        key = f"district:{district_id}"
    else:
        raise Invalid("请指定机构或区", code="waiting_list_target", message_en="Give institution_id or district_id")
    query = (
        select(WaitingEntry)
        .where(
            col(WaitingEntry.list_key) == key,
            col(WaitingEntry.status).in_([WaitStatus.offered.value, WaitStatus.waiting.value]),
        )
        .order_by(col(WaitingEntry.priority).desc(), col(WaitingEntry.joined_at), col(WaitingEntry.id))
    )
    if kind is not None:
        query = query.where(col(WaitingEntry.kind) == kind)
    entries = list((await session.execute(query)).scalars())
    if user.role == Role.community_staff:  # staff see the entries of elders in their area
        entries = [e for e in entries if await _sees_elder(session, user, e.elder_id)]
    out: list[tuple[WaitingEntry, int | None]] = []
    place: dict[str, int] = {}
    for entry in entries:
        position = None
        if entry.status == WaitStatus.waiting:
            position = place[entry.kind] = place.get(entry.kind, 0) + 1
        out.append((entry, position))
    return out


async def _sees_elder(session: AsyncSession, user: User, elder_id: int) -> bool:
    try:
        await check_elder(session, user, elder_id)
    except (Forbidden, NotFound):
        return False
    return True


async def leave_waiting_list(*, session: AsyncSession, user: User, entry_id: int) -> WaitingEntry:
    """Take the elder off a waiting list (409 once a bed is offered: release the hold instead)."""
    entry = (
        await session.execute(select(WaitingEntry).where(col(WaitingEntry.id) == entry_id).with_for_update())
    ).scalar_one_or_none()
    if entry is None:
        raise NotFound("轮候记录不存在", code="waiting_entry_not_found", message_en="Unknown waiting-list entry")
    if user.role not in PLACERS:
        raise _forbidden()
    await check_elder(session, user, entry.elder_id)
    if entry.status != WaitStatus.waiting:
        raise Conflict(f"轮候状态为 {entry.status}", code="not_waiting", message_en=f"The entry is {entry.status}")
    entry.status, entry.closed_at = WaitStatus.left.value, utcnow()
    await session.flush()
    return entry


async def area_institutions(
    *,
    session: AsyncSession,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    page: Page,
) -> list[tuple[Institution, Counts]]:
    """A page of the institutions of an area (the smallest given; none: the city) by name, each with its live
    counts."""
    _area, where = await area_condition(session, user, community_id, street_id, district_id)
    found = await page.scalars(
        session,
        select(Institution)
        .join(Community, col(Community.id) == col(Institution.community_id))
        .where(*where)
        .order_by(col(Institution.name), col(Institution.id)),
    )
    institutions = {i.id: (i, Counts()) for i in found}
    rows = await session.execute(
        select(Bed.institution_id, Bed.status, func.count(col(Bed.id)))
        .where(col(Bed.institution_id).in_(list(institutions)))
        .group_by(col(Bed.institution_id), col(Bed.status))
    )
    for institution_id, status, n in rows.all():
        counts = institutions[institution_id][1]
        setattr(counts, status, getattr(counts, status) + n)
        counts.total += n
    return list(institutions.values())


async def area_capacity(
    *, session: AsyncSession, user: User, community_id: int | None, street_id: int | None, district_id: int | None
) -> AreaCapacity:
    """Live counts of an area's beds (the smallest area given; none: the city), within the user's scope."""
    area, where = await area_condition(session, user, community_id, street_id, district_id)
    rows = await session.execute(
        select(Bed.status, BedKind.nursing, Institution.operator_kind, func.count(col(Bed.id)))
        .join(Institution, col(Institution.id) == col(Bed.institution_id))
        .join(Community, col(Community.id) == col(Institution.community_id))
        .join(BedKind, col(BedKind.code) == col(Bed.kind))
        .where(*where)
        .group_by(col(Bed.status), col(BedKind.nursing), col(Institution.operator_kind))
    )
    result, nursing, social = AreaCapacity(area=area), 0, 0
    for status, is_nursing, operator, n in rows.all():
        setattr(result, status, getattr(result, status) + n)
        result.total += n
        nursing += n if is_nursing else 0
        social += n if operator == OperatorKind.social else 0
    result.institutions = int(
        await session.scalar(
            select(func.count(col(Institution.id)))
            .join(Community, col(Community.id) == col(Institution.community_id))
            .where(*where)
        )
        or 0
    )
    if result.total:
        result.nursing_share = round(nursing / result.total, 4)
        result.social_share = round(social / result.total, 4)
    in_service = result.total - result.out_of_service
    if in_service:
        result.occupancy = round(result.occupied / in_service, 4)
    return result


async def take_snapshot(*, session: AsyncSession, day: date) -> int:
    """Record every institution's beds by kind and state for ``day`` (again: replaced); returns the rows."""
    await session.execute(delete(CapacitySnapshot).where(col(CapacitySnapshot.day) == day))
    rows = await session.execute(
        select(Bed.institution_id, Bed.kind, Bed.status, func.count(col(Bed.id))).group_by(
            col(Bed.institution_id), col(Bed.kind), col(Bed.status)
        )
    )
    counts: dict[tuple[int, str], Counts] = {}
    for institution_id, kind, status, n in rows.all():
        c = counts.setdefault((institution_id, kind), Counts())
        setattr(c, status, getattr(c, status) + n)
        c.total += n
    session.add_all(
        CapacitySnapshot(day=day, institution_id=iid, kind=kind, **c.model_dump()) for (iid, kind), c in counts.items()
    )
    await session.flush()
    return len(counts)


async def area_history(
    *,
    session: AsyncSession,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    start: date,
    end: date,
) -> list[DayCounts]:
    """An area's beds at the end of each recorded day from ``start`` to ``end`` (occupancy over time)."""
    if end < start or (end - start).days > 366:
        raise Invalid("日期范围无效（最多一年）", code="invalid_range", message_en="Bad range (a year at most)")
    _area, where = await area_condition(session, user, community_id, street_id, district_id)
    rows = await session.execute(
        sa_select(
            col(CapacitySnapshot.day),
            func.sum(col(CapacitySnapshot.total)),
            func.sum(col(CapacitySnapshot.free)),
            func.sum(col(CapacitySnapshot.held)),
            func.sum(col(CapacitySnapshot.occupied)),
            func.sum(col(CapacitySnapshot.out_of_service)),
        )
        .join(Institution, col(Institution.id) == col(CapacitySnapshot.institution_id))
        .join(Community, col(Community.id) == col(Institution.community_id))
        .where(col(CapacitySnapshot.day) >= start, col(CapacitySnapshot.day) <= end, *where)
        .group_by(col(CapacitySnapshot.day))
        .order_by(col(CapacitySnapshot.day))
    )
    out = []
    for day, total, free, held, occupied, out_of_service in rows.all():
        in_service = int(total) - int(out_of_service)
        out.append(
            DayCounts(
                day=day,
                total=int(total),
                free=int(free),
                held=int(held),
                occupied=int(occupied),
                out_of_service=int(out_of_service),
                occupancy=round(int(occupied) / in_service, 4) if in_service else None,
            )
        )
    return out
