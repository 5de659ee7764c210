"""Institutions and their beds' kinds: registering them, who runs them and who may place an elder there,
their live counts, and the search for free beds.

Each change of a bed publishes the institution's new counts for the bed kind (``capacity.changed``) on its
community, street and district channels.
"""

from __future__ import annotations

import math

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import check_elder
from backend.areas.models import Community
from backend.areas.service import area_channels
from backend.capacity.models import Admission, Bed, BedHold, BedKind, BedStatus, Institution, WaitingEntry, WaitStatus
from backend.capacity.schemas import BedKindCreate, Capacity, Counts, FreeBeds, InstitutionCreate
from backend.core.errors import Conflict, Forbidden
from backend.core.events import emit
from backend.core.geo import distance_m
from backend.core.lookups import get_or_404, insert_unique, referenced
from backend.core.schemas import Location
from backend.registry.models import Elder, Provider
from backend.users.models import Role, User

MANAGERS = frozenset({Role.admin.value, Role.provider_admin.value})
PLACERS = frozenset({Role.admin.value, Role.operator.value, Role.community_staff.value})


def forbidden() -> Forbidden:
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
        raise forbidden()
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
        raise forbidden()
    return institution


async def bed_kinds(session: AsyncSession) -> list[BedKind]:
    return list((await session.execute(select(BedKind).order_by(col(BedKind.code)))).scalars())


async def add_bed_kind(*, session: AsyncSession, user: User, data: BedKindCreate) -> BedKind:
    """Configure a kind of bed (admins; 409 ``bed_kind_exists``)."""
    if user.role != Role.admin:
        raise Forbidden("仅管理员可配置床位类型", code="role_forbidden", message_en="Admins only")
    taken = Conflict("床位类型已存在", code="bed_kind_exists", message_en="This bed kind exists")
    return await insert_unique(session, BedKind(**data.model_dump()), taken)


async def known_kind(session: AsyncSession, kind: str) -> BedKind:
    return await referenced(session, BedKind, kind, what="床位类型", what_en="bed_kind")


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
    await known_kind(session, kind)
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


async def may_manage(session: AsyncSession, user: User, institution: Institution, elder_id: int) -> Elder:
    """The elder, if the user may act on their hold or admission at this institution: its admin, or staff
    within the elder's area (or the city)."""
    if runs(user, institution):
        return await get_or_404(session, Elder, elder_id, what="老人", what_en="elder")
    if user.role not in PLACERS:
        raise forbidden()
    return await check_elder(session, user, elder_id)


async def may_place(session: AsyncSession, user: User, institution: Institution, elder_id: int) -> Elder:
    """The elder, if the user may place them in this institution: staff within the elder's area (or the city),
    or the institution's own admin for an elder referred to it (a live entry on its or its district's waiting
    list, which area staff put there). A provider cannot hold beds for elders nobody sent it."""
    if user.role in PLACERS:
        return await check_elder(session, user, elder_id)
    if not runs(user, institution):
        raise forbidden()
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


async def counts_changed(session: AsyncSession, institution: Institution, kind: str) -> None:
    """Tell the institution's area its new counts for this kind of bed."""
    counts = (await capacity(session, institution.id)).by_kind.get(kind, Counts())  # type: ignore[arg-type]
    channels = await area_channels(session, institution.community_id)
    emit(session, "capacity.changed", channels, {"institution_id": institution.id, "kind": kind, **counts.model_dump()})


async def check_placement(session: AsyncSession, user: User, record: BedHold | Admission) -> None:
    """403 unless the user may act on this hold's or admission's elder in its institution."""
    institution = await session.get(Institution, record.institution_id)
    assert institution is not None
    await may_manage(session, user, institution, record.elder_id)
