"""Area figures: an area's institutions and live bed counts, and the daily snapshots behind occupancy over time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import area_condition
from backend.areas.models import Community
from backend.capacity.models import Bed, BedKind, CapacitySnapshot, Institution, OperatorKind
from backend.capacity.schemas import AreaCapacity, Counts, DayCounts
from backend.core.errors import Invalid
from backend.core.paging import Page
from backend.users.models import User


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
