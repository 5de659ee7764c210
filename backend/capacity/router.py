"""Capacity HTTP routes: institutions, beds, holds, admissions, live counts, search (docs/contract.md, "Institutions
and beds", "Holds and admissions"; the rest in "Routes beyond v1")."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.access.deps import CurrentUser
from backend.capacity import beds, figures, holds, institutions, waiting
from backend.capacity.models import Admission, BedHold, Institution, WaitingEntry
from backend.capacity.schemas import (
    AdmissionPublic,
    AreaCapacity,
    BedKindCreate,
    BedPublic,
    BedsCreate,
    Capacity,
    DayCounts,
    FreeBeds,
    HoldCreate,
    HoldPublic,
    InstitutionCounts,
    InstitutionCreate,
    InstitutionPublic,
    ReasonBody,
    TransferBody,
    WaitingCreate,
    WaitingPublic,
)
from backend.core.deps import SessionDep, SettingsDep
from backend.core.geo import Crs
from backend.core.lookups import get_or_404
from backend.core.paging import Page, Paged, Whole, paging
from backend.core.schemas import CRS_DESCRIPTION, Location, PathId, PlaceIn, QueryId

router = APIRouter(tags=["capacity"])
# The nearest fifty, as the search always answered by default.
NearestPage = Annotated[Page, paging(default=50)]


def _institution(institution: Institution) -> InstitutionPublic:
    return InstitutionPublic.model_validate(
        {**institution.model_dump(), "location": Location(lat=institution.lat, lon=institution.lon)}
    )


@router.get("/bed-kinds", response_model=list[BedKindCreate])
async def list_bed_kinds(session: SessionDep, _user: CurrentUser, page: Paged) -> list[BedKindCreate]:
    """The kinds of bed the bureau counts (nursing-type or not)."""
    kinds = page.of(await institutions.bed_kinds(session))
    return [BedKindCreate.model_validate(k, from_attributes=True) for k in kinds]


@router.post("/bed-kinds", status_code=status.HTTP_201_CREATED, response_model=BedKindCreate)
async def add_bed_kind(data: BedKindCreate, session: SessionDep, user: CurrentUser) -> BedKindCreate:
    """Configure another kind of bed (admins)."""
    kind = await institutions.add_bed_kind(session=session, user=user, data=data)
    return BedKindCreate.model_validate(kind, from_attributes=True)


@router.post("/institutions", status_code=status.HTTP_201_CREATED, response_model=InstitutionPublic)
async def create_institution(data: InstitutionCreate, session: SessionDep, user: CurrentUser) -> InstitutionPublic:
    """Register an elder-care institution (养老机构): admins, or a provider's admin for their own."""
    return _institution(await institutions.create_institution(session=session, user=user, data=data))


@router.get("/institutions", response_model=list[InstitutionCounts])
async def list_institutions(
    session: SessionDep,
    user: CurrentUser,
    page: Paged,
    community_id: QueryId = None,
    street_id: QueryId = None,
    district_id: QueryId = None,
) -> list[InstitutionCounts]:
    """The institutions of a community, street or district (none: the city, for operators) with live bed counts."""
    rows = await figures.area_institutions(
        session=session,
        user=user,
        community_id=community_id,
        street_id=street_id,
        district_id=district_id,
        page=page,
    )
    return [InstitutionCounts(institution=_institution(i), **counts.model_dump()) for i, counts in rows]


@router.get("/institutions/{institution_id}", response_model=InstitutionPublic)
async def get_institution(institution_id: PathId, session: SessionDep, _user: CurrentUser) -> InstitutionPublic:
    """An institution's record."""
    return _institution(await get_or_404(session, Institution, institution_id, what="养老机构", what_en="institution"))


@router.post("/institutions/{institution_id}/beds", status_code=status.HTTP_201_CREATED, response_model=list[BedPublic])
async def add_beds(
    institution_id: PathId, data: BedsCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> list[BedPublic]:
    """Add ``count`` free beds of a kind in a room (422 ``unknown_bed_kind``)."""
    institution = await institutions.managed_institution(session, user, institution_id)
    added = await beds.add_beds(session=session, settings=settings, institution=institution, data=data)
    return [BedPublic.model_validate(b, from_attributes=True) for b in added]


@router.get("/institutions/{institution_id}/capacity", response_model=Capacity)
async def institution_capacity(institution_id: PathId, session: SessionDep, _user: CurrentUser) -> Capacity:
    """Beds by state, in all and per kind: total, free, held, occupied, out of service."""
    await get_or_404(session, Institution, institution_id, what="养老机构", what_en="institution")
    return await institutions.capacity(session, institution_id)


@router.get("/capacity/summary", response_model=AreaCapacity)
async def area_summary(
    session: SessionDep,
    user: CurrentUser,
    community_id: QueryId = None,
    street_id: QueryId = None,
    district_id: QueryId = None,
) -> AreaCapacity:
    """Live bed counts of a community, street or district (none: the city, for operators), with the shares."""
    return await figures.area_capacity(
        session=session, user=user, community_id=community_id, street_id=street_id, district_id=district_id
    )


@router.get("/capacity/history", response_model=list[DayCounts])
async def area_history(
    session: SessionDep,
    user: CurrentUser,
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
    page: Whole,
    community_id: QueryId = None,
    street_id: QueryId = None,
    district_id: QueryId = None,
) -> list[DayCounts]:
    """An area's beds at the end of each day (the scheduler records them at 23:55): occupancy over time."""
    days = await figures.area_history(
        session=session,
        user=user,
        community_id=community_id,
        street_id=street_id,
        district_id=district_id,
        start=start,
        end=end,
    )
    return page.of(days)


@router.get("/beds/search", response_model=list[FreeBeds])
async def search_beds(
    session: SessionDep,
    _user: CurrentUser,
    page: NearestPage,
    kind: Annotated[str, Query(min_length=1, max_length=32)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    radius_km: Annotated[float, Query(gt=0, le=100)] = 10.0,
    crs: Annotated[Crs, Query(description=CRS_DESCRIPTION)] = "wgs84",
) -> list[FreeBeds]:
    """Institutions with free beds of a kind near a point, nearest first."""
    near = PlaceIn(lat=lat, lon=lon, crs=crs)
    return page.of(await institutions.search_free_beds(session=session, kind=kind, near=near, radius_km=radius_km))


@router.post("/beds/{bed_id}/out-of-service", response_model=BedPublic)
async def bed_out_of_service(
    bed_id: PathId, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> BedPublic:
    """Take a free bed out of service (repairs, cleaning)."""
    bed = await beds.set_in_service(session=session, settings=settings, user=user, bed_id=bed_id, in_service=False)
    return BedPublic.model_validate(bed, from_attributes=True)


@router.post("/beds/{bed_id}/in-service", response_model=BedPublic)
async def bed_in_service(bed_id: PathId, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> BedPublic:
    """Put a bed back into service (the waiting list is offered it)."""
    bed = await beds.set_in_service(session=session, settings=settings, user=user, bed_id=bed_id, in_service=True)
    return BedPublic.model_validate(bed, from_attributes=True)


@router.post("/bed-holds", status_code=status.HTTP_201_CREATED, response_model=HoldPublic)
async def hold_bed(data: HoldCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> HoldPublic:
    """Reserve a bed of a kind for an elder (409 ``no_bed_free``: the elder may join the waiting list)."""
    hold = await holds.hold_bed(session=session, settings=settings, user=user, data=data)
    return HoldPublic.model_validate(hold, from_attributes=True)


@router.get("/bed-holds/{hold_id}", response_model=HoldPublic)
async def get_hold(hold_id: PathId, session: SessionDep, user: CurrentUser) -> HoldPublic:
    """A hold and its state (active, admitted, released, expired)."""
    hold = await get_or_404(session, BedHold, hold_id, what="床位预留", what_en="hold")
    await institutions.check_placement(session, user, hold)
    return HoldPublic.model_validate(hold, from_attributes=True)


@router.post("/bed-holds/{hold_id}/admit", response_model=AdmissionPublic)
async def admit(hold_id: PathId, session: SessionDep, user: CurrentUser) -> AdmissionPublic:
    """The elder moves into the held bed (入住)."""
    admission = await beds.admit(session=session, user=user, hold_id=hold_id)
    return AdmissionPublic.model_validate(admission, from_attributes=True)


@router.post("/bed-holds/{hold_id}/release", response_model=HoldPublic)
async def release_hold(hold_id: PathId, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> HoldPublic:
    """Give the held bed back (the waiting list is offered it)."""
    hold = await beds.release_hold(session=session, settings=settings, user=user, hold_id=hold_id)
    return HoldPublic.model_validate(hold, from_attributes=True)


@router.post("/admissions/{admission_id}/discharge", response_model=AdmissionPublic)
async def discharge(
    admission_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    body: ReasonBody | None = None,
) -> AdmissionPublic:
    """The elder leaves (退住); the bed is free again (the waiting list is offered it)."""
    admission = await beds.discharge(
        session=session, settings=settings, user=user, admission_id=admission_id, reason=body.reason if body else None
    )
    return AdmissionPublic.model_validate(admission, from_attributes=True)


@router.post("/admissions/{admission_id}/transfer", response_model=AdmissionPublic)
async def transfer(
    admission_id: PathId, body: TransferBody, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> AdmissionPublic:
    """Move the resident to another free bed (转床), in this institution or another; returns the new admission."""
    moved = await beds.transfer(
        session=session, settings=settings, user=user, admission_id=admission_id, bed_id=body.bed_id, reason=body.reason
    )
    return AdmissionPublic.model_validate(moved, from_attributes=True)


@router.get("/admissions/{admission_id}", response_model=AdmissionPublic)
async def get_admission(admission_id: PathId, session: SessionDep, user: CurrentUser) -> AdmissionPublic:
    """An admission: the bed, since when, and when the elder left."""
    admission = await get_or_404(session, Admission, admission_id, what="入住记录", what_en="admission")
    await institutions.check_placement(session, user, admission)
    return AdmissionPublic.model_validate(admission, from_attributes=True)


def _entry(entry: WaitingEntry, position: int | None = None) -> WaitingPublic:
    return WaitingPublic.model_validate({**entry.model_dump(), "position": position})


@router.post("/waiting-list", status_code=status.HTTP_201_CREATED, response_model=WaitingPublic)
async def join_waiting_list(
    data: WaitingCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> WaitingPublic:
    """Put an elder on an institution's or a district's waiting list (轮候); a free bed is offered at once."""
    return _entry(await waiting.join_waiting_list(session=session, settings=settings, user=user, data=data))


@router.get("/waiting-list", response_model=list[WaitingPublic])
async def get_waiting_list(
    session: SessionDep,
    user: CurrentUser,
    page: Whole,
    institution_id: QueryId = None,
    district_id: QueryId = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
) -> list[WaitingPublic]:
    """A waiting list in the order beds are offered: offered entries, then the waiting ones with their position."""
    rows = await waiting.waiting_list(
        session=session, user=user, institution_id=institution_id, district_id=district_id, kind=kind
    )
    return [_entry(entry, position) for entry, position in page.of(rows)]


@router.post("/waiting-list/{entry_id}/leave", response_model=WaitingPublic)
async def leave_waiting_list(entry_id: PathId, session: SessionDep, user: CurrentUser) -> WaitingPublic:
    """Take the elder off the waiting list."""
    return _entry(await waiting.leave_waiting_list(session=session, user=user, entry_id=entry_id))
