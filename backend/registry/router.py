"""Registry HTTP routes: providers, caregivers, elders, service types."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from backend.access.deps import (
    AdminUser,
    CaregiverKeeper,
    CurrentUser,
    ElderToActFor,
    StaffUser,
    VisibleCaregiver,
    VisibleElder,
)
from backend.access.personal import WHOLE, caregiver_disclosure, is_personal_viewer, sees_elder_whole
from backend.core.db import utcnow
from backend.core.deps import SessionDep
from backend.core.lookups import get_or_404
from backend.core.paging import Paged
from backend.core.schemas import PathId
from backend.registry import service
from backend.registry.models import Provider
from backend.registry.schemas import (
    BlockCreate,
    BlockPublic,
    CaregiverCreate,
    CaregiverPublic,
    CaregiverUpdate,
    ElderCreate,
    ElderPreferences,
    ElderPublic,
    ProviderCreate,
    ProviderPublic,
    ServiceTypePublic,
)

router = APIRouter(tags=["registry"])


@router.get("/service-types", response_model=list[ServiceTypePublic])
async def list_service_types(session: SessionDep, _user: CurrentUser, page: Paged) -> list[ServiceTypePublic]:
    """The service catalogue (服务项目)."""
    rows = page.of(await service.list_service_types(session=session))
    return [ServiceTypePublic.model_validate(r, from_attributes=True) for r in rows]


@router.post("/providers", status_code=status.HTTP_201_CREATED, response_model=ProviderPublic)
async def create_provider(data: ProviderCreate, session: SessionDep, _admin: AdminUser) -> ProviderPublic:
    """Register a provider (服务组织) with its service area and catalogue."""
    return await service.create_provider(session=session, data=data)


@router.get("/providers/{provider_id}", response_model=ProviderPublic)
async def get_provider(provider_id: PathId, session: SessionDep, user: CurrentUser) -> ProviderPublic:
    """A provider's record."""
    provider = await get_or_404(session, Provider, provider_id, what="服务组织", what_en="provider")
    return await service.get_provider_public(session=session, provider=provider)


@router.post("/caregivers", status_code=status.HTTP_201_CREATED, response_model=CaregiverPublic)
async def create_caregiver(data: CaregiverCreate, session: SessionDep, user: CurrentUser) -> CaregiverPublic:
    """Register a caregiver (助老员) and their account: admins, or the provider's own admin."""
    caregiver = await service.create_caregiver(session=session, data=data, user=user)
    return await service.caregiver_public(session, caregiver, shown=WHOLE)


@router.get("/caregivers/{caregiver_id}", response_model=CaregiverPublic)
async def get_caregiver(
    caregiver_id: PathId, session: SessionDep, user: CurrentUser, caregiver: VisibleCaregiver
) -> CaregiverPublic:
    """A caregiver's record, within scope: the phone whole or masked, the position or none, by one rule."""
    return await service.caregiver_public(session, caregiver, shown=caregiver_disclosure(user, caregiver, utcnow()))


@router.patch("/caregivers/{caregiver_id}", response_model=CaregiverPublic)
async def update_caregiver(
    caregiver_id: PathId, data: CaregiverUpdate, session: SessionDep, caregiver: CaregiverKeeper
) -> CaregiverPublic:
    """Change a caregiver's name, phone, skills (服务技能) or languages: admins, or her provider's admin. The
    dispatcher's next decision matches on the new skills and languages."""
    await service.update_caregiver(session=session, caregiver=caregiver, data=data)
    return await service.caregiver_public(session, caregiver, shown=WHOLE)


@router.post("/elders", status_code=status.HTTP_201_CREATED, response_model=ElderPublic)
async def create_elder(data: ElderCreate, session: SessionDep, user: StaffUser) -> ElderPublic:
    """Register an elder (老年人): admins, operators, or staff of the elder's community."""
    elder = await service.create_elder(session=session, data=data, user=user)
    return service.elder_public(elder, whole=is_personal_viewer(user))


@router.get("/elders", response_model=list[ElderPublic])
async def find_elders(
    session: SessionDep,
    user: StaffUser,
    page: Paged,
    phone: str = Query(min_length=3, max_length=32, description="来电号码 / caller's number"),
) -> list[ElderPublic]:
    """The hotline's caller lookup by phone number."""
    elders = await service.find_elders_by_phone(session=session, phone=phone, user=user, page=page)
    return [await service.elder_file(session, e, whole=is_personal_viewer(user)) for e in elders]


@router.get("/elders/{elder_id}", response_model=ElderPublic)
async def get_elder(elder_id: PathId, session: SessionDep, user: CurrentUser, elder: VisibleElder) -> ElderPublic:
    """An elder's file, within scope, with their accident cover valid today."""
    return await service.elder_file(session, elder, whole=sees_elder_whole(user, elder.id))


@router.patch("/elders/{elder_id}", response_model=ElderPublic)
async def set_elder_preferences(
    elder_id: PathId, body: ElderPreferences, session: SessionDep, user: CurrentUser, elder: ElderToActFor
) -> ElderPublic:
    """The elder's wishes for dispatch (同性别护理, 指定护理员, 语言): the elder, or staff of their area."""
    await service.set_preferences(session=session, elder=elder, data=body)
    return service.elder_public(elder, whole=sees_elder_whole(user, elder.id))


@router.get("/elders/{elder_id}/blocked-caregivers", response_model=list[BlockPublic])
async def list_blocked(elder_id: PathId, session: SessionDep, elder: VisibleElder, page: Paged) -> list[BlockPublic]:
    """Caregivers this elder asked not to be sent (不再派单的护理员)."""
    return [
        BlockPublic.model_validate(b, from_attributes=True)
        for b in page.of(await service.blocked_caregivers(session=session, elder=elder))
    ]


@router.post("/elders/{elder_id}/blocked-caregivers", status_code=status.HTTP_201_CREATED, response_model=BlockPublic)
async def block_caregiver(
    elder_id: PathId, body: BlockCreate, session: SessionDep, elder: ElderToActFor
) -> BlockPublic:
    """Never send this caregiver to this elder again: the elder, or staff of their area."""
    block = await service.block_caregiver(
        session=session, elder=elder, caregiver_id=body.caregiver_id, reason=body.reason
    )
    return BlockPublic.model_validate(block, from_attributes=True)


@router.delete("/elders/{elder_id}/blocked-caregivers/{caregiver_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unblock_caregiver(elder_id: PathId, caregiver_id: PathId, session: SessionDep, elder: ElderToActFor) -> None:
    """Lift a block."""
    await service.unblock_caregiver(session=session, elder=elder, caregiver_id=caregiver_id)
