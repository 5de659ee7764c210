"""The waiting list (轮候): elders in line for a kind of bed at an institution or anywhere in a district, first
in line by the city's weights; a bed that is free is offered to them as a hold.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import check_elder
from backend.areas.models import Community, District
from backend.capacity.holds import placed, take_bed
from backend.capacity.institutions import PLACERS, forbidden, known_kind, may_place, runs
from backend.capacity.models import Benefit, Institution, WaitingEntry, WaitStatus
from backend.capacity.schemas import WaitingCreate
from backend.core.config import Settings
from backend.core.db import iso, utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.events import emit
from backend.core.geo import distance_m
from backend.core.lookups import get_or_404, insert_unique, referenced
from backend.registry.models import Elder
from backend.users.models import Role, User

WAITING_LIST = "system:waiting_list"


def priority_of(settings: Settings, benefit: Benefit, disability_level: int) -> int:
    """An entry's place in line by the city's weights (higher first; then who joined first)."""
    weights = settings.waiting_weights
    tier = {Benefit.extreme_poverty: weights.extreme_poverty, Benefit.low_income: weights.low_income}
    return tier.get(benefit, 0) + weights.per_disability_level * disability_level


async def serve_waiting(session: AsyncSession, settings: Settings, institution: Institution, kind: str) -> None:
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
                    ~placed(col(WaitingEntry.elder_id)),
                )
                .order_by(col(WaitingEntry.priority).desc(), col(WaitingEntry.joined_at), col(WaitingEntry.id))
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if entry is None:
            return
        reason = "轮候名单自动分配"
        hold = await take_bed(
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
    await known_kind(session, data.kind)
    if data.institution_id is not None:
        institution = await referenced(
            session, Institution, data.institution_id, what="养老机构", what_en="institution"
        )
        elder = await may_place(session, user, institution, data.elder_id)
        key, serving = f"institution:{institution.id}", [institution]
    else:
        await referenced(session, District, data.district_id, what="区", what_en="district")
        if user.role not in PLACERS:
            raise forbidden()
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
        await serve_waiting(session, settings, institution, data.kind)
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
            raise forbidden()
        key = f"institution:{institution_id}"
    elif district_id is not None:
        if user.role not in PLACERS:
            raise forbidden()
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
        raise forbidden()
    await check_elder(session, user, entry.elder_id)
    if entry.status != WaitStatus.waiting:
        raise Conflict(f"轮候状态为 {entry.status}", code="not_waiting", message_en=f"The entry is {entry.status}")
    entry.status, entry.closed_at = WaitStatus.left.value, utcnow()
    await session.flush()
    return entry
