"""Registry rules: who may be registered, with what data, and how it is shown."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.personal import Disclosure
from backend.access.scope import covers_community, visible_communities
from backend.areas.models import Community
from backend.audit import service as audit
from backend.core.crypto import blind
from backend.core.db import local_today, utcnow
from backend.core.domain_events import publish
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.events import emit
from backend.core.identity import (
    InvalidIdentity,
    birth_date_from_id_number,
    gender_from_id_number,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_phone,
)
from backend.core.lookups import insert_unique, referenced
from backend.core.paging import Page
from backend.core.schemas import Location
from backend.policies.cover import cover_on
from backend.policies.models import Scheme
from backend.policies.schemas import CoverPublic
from backend.registry.absences import end_absence
from backend.registry.events import CaregiverChanged
from backend.registry.models import (
    ELDER_ID_NUMBER,
    ELDER_PHONE,
    BlockedCaregiver,
    Caregiver,
    CaregiverSkill,
    Elder,
    Provider,
    ProviderCommunity,
    ProviderService,
    ServiceType,
)
from backend.registry.schemas import (
    CaregiverCreate,
    CaregiverPublic,
    CaregiverUpdate,
    ElderCreate,
    ElderPreferences,
    ElderPublic,
    ProviderCreate,
    ProviderPublic,
)
from backend.users.models import Role, User
from backend.users.service import add_user


def _identity(fn: object, value: str) -> str:
    try:
        return fn(value)  # type: ignore[operator,no-any-return]
    except InvalidIdentity as exc:
        raise Invalid(exc.message, code=exc.code, message_en=f"Invalid value: {exc.code}") from exc


def phone_or_422(value: str) -> str:
    """The phone number in E.164, or 422 ``invalid_phone``."""
    return _identity(normalize_phone, value)


async def known_service_types(session: AsyncSession, codes: Sequence[str]) -> list[str]:
    """The codes, de-duplicated, or 422 ``unknown_service_type``."""
    wanted = sorted(set(codes))
    found = set((await session.execute(select(ServiceType.code).where(col(ServiceType.code).in_(wanted)))).scalars())
    missing = [c for c in wanted if c not in found]
    if missing:
        raise Invalid(
            f"未知的服务项目：{', '.join(missing)}",
            code="unknown_service_type",
            message_en=f"Unknown service type: {', '.join(missing)}",
        )
    return wanted


async def service_type_or_422(session: AsyncSession, code: str) -> ServiceType:
    """The service type with this code (kept in the session for whoever asks next), or 422 ``unknown_service_type``."""
    kind = await session.get(ServiceType, code)
    if kind is None:
        raise Invalid(
            f"未知的服务项目：{code}", code="unknown_service_type", message_en=f"Unknown service type: {code}"
        )
    return kind


async def list_service_types(*, session: AsyncSession) -> list[ServiceType]:
    """The service catalogue."""
    return list((await session.execute(select(ServiceType).order_by(col(ServiceType.code)))).scalars())


async def create_provider(*, session: AsyncSession, data: ProviderCreate) -> ProviderPublic:
    """Register a provider with its service area and catalogue."""
    communities = sorted(set(data.community_ids))
    for community_id in communities:
        await referenced(session, Community, community_id, what="社区", what_en="community")
    types = await known_service_types(session, data.service_types)
    provider = Provider(name=data.name, kind=data.kind, lat=data.location.lat, lon=data.location.lon, uscc=data.uscc)
    taken = Conflict(
        "该统一社会信用代码已登记", code="uscc_taken", message_en="This unified social credit code is registered"
    )
    provider = await insert_unique(session, provider, taken)
    assert provider.id is not None
    session.add_all([ProviderCommunity(provider_id=provider.id, community_id=c) for c in communities])
    session.add_all([ProviderService(provider_id=provider.id, service_type=t) for t in types])
    await session.flush()
    return provider_public(provider, communities, types)


def provider_public(provider: Provider, communities: list[int], types: list[str]) -> ProviderPublic:
    """The provider as the API shows it."""
    assert provider.id is not None
    return ProviderPublic(
        id=provider.id,
        name=provider.name,
        kind=provider.kind,
        community_ids=communities,
        service_types=types,
        location=Location(lat=provider.lat, lon=provider.lon),
        active=provider.active,
        uscc=provider.uscc,
    )


async def get_provider_public(*, session: AsyncSession, provider: Provider) -> ProviderPublic:
    """The provider with its area and catalogue."""
    communities = list(
        (
            await session.execute(
                select(ProviderCommunity.community_id).where(col(ProviderCommunity.provider_id) == provider.id)
            )
        ).scalars()
    )
    types = list(
        (
            await session.execute(
                select(ProviderService.service_type).where(col(ProviderService.provider_id) == provider.id)
            )
        ).scalars()
    )
    return provider_public(provider, sorted(communities), sorted(types))


async def create_caregiver(*, session: AsyncSession, data: CaregiverCreate, user: User | None) -> Caregiver:
    """Register a caregiver and their sign-in account: admins, or the provider's own admin (None: the system)."""
    own_provider = user is not None and user.role == Role.provider_admin and user.provider_id == data.provider_id
    if user is not None and user.role != Role.admin and not own_provider:
        raise Forbidden("无权为该服务组织登记护理员", code="role_forbidden", message_en="Not allowed for this provider")
    await referenced(session, Provider, data.provider_id, what="服务组织", what_en="provider")
    phone = phone_or_422(data.phone)
    skills = await known_service_types(session, data.skills)
    user = await add_user(
        session=session,
        username=data.username,
        password=data.password,
        role=Role.caregiver,
        provider_id=data.provider_id,
        display_name=data.name,
    )
    assert user.id is not None
    caregiver = Caregiver(
        provider_id=data.provider_id,
        user_id=user.id,
        name=data.name,
        phone=phone,
        lat=data.location.lat,
        lon=data.location.lon,
        on_shift=data.on_shift,
        gender=data.gender,
        languages=sorted(set(data.languages)),
    )
    session.add(caregiver)
    await session.flush()
    assert caregiver.id is not None
    session.add_all([CaregiverSkill(caregiver_id=caregiver.id, service_type=s) for s in skills])
    await session.flush()
    return caregiver


async def update_caregiver(*, session: AsyncSession, caregiver: Caregiver, data: CaregiverUpdate) -> list[str]:
    """Change a caregiver's name, phone, skills or languages (422 for null, an unknown service type or a bad phone);
    the fields that changed, audited (``caregiver.update``), told to her and her provider (``caregiver.updated``)
    and to the domains above (``CaregiverChanged``: new skills wake the orders waiting near her)."""
    assert caregiver.id is not None
    for field in sorted(data.model_fields_set):
        if getattr(data, field) is None:
            raise Invalid(f"{field} 不能为空", code="invalid_value", message_en=f"{field} may not be null")
    # One change of her record at a time: two adding the same skill at once would collide on its key.
    locked = select(Caregiver).where(col(Caregiver.id) == caregiver.id).with_for_update()
    await session.execute(locked.execution_options(populate_existing=True))
    changed = []
    if data.name is not None and data.name != caregiver.name:
        caregiver.name = data.name
        account = await session.get(User, caregiver.user_id)
        if account is not None:
            account.display_name = data.name
        changed.append("name")
    if data.phone is not None and (phone := phone_or_422(data.phone)) != caregiver.phone:
        caregiver.phone = phone
        changed.append("phone")
    if data.skills is not None:
        wanted = set(await known_service_types(session, data.skills))
        held = set(await caregiver_skills(session, caregiver.id))
        if wanted != held:
            mine, skill = col(CaregiverSkill.caregiver_id) == caregiver.id, col(CaregiverSkill.service_type)
            await session.execute(delete(CaregiverSkill).where(mine, skill.in_(held - wanted)))
            session.add_all(CaregiverSkill(caregiver_id=caregiver.id, service_type=s) for s in sorted(wanted - held))
            changed.append("skills")
    languages: list[str] = sorted(set(data.languages or caregiver.languages))
    if languages != sorted(caregiver.languages):
        caregiver.languages = languages
        changed.append("languages")
    if changed:
        await audit.record(session, action="caregiver.update", subjects=[f"caregiver:{caregiver.id}"], fields=changed)
        channels = [f"caregiver:{caregiver.id}", f"provider:{caregiver.provider_id}"]
        emit(session, "caregiver.updated", channels, {"caregiver_id": caregiver.id, "fields": changed})
    await session.flush()
    if changed:
        await publish(session, CaregiverChanged(caregiver.id, tuple(changed), caregiver.on_shift))
    return changed


async def caregiver_skills(session: AsyncSession, caregiver_id: int) -> list[str]:
    """A caregiver's skills, sorted."""
    rows = await session.execute(
        select(CaregiverSkill.service_type)
        .where(col(CaregiverSkill.caregiver_id) == caregiver_id)
        .order_by(col(CaregiverSkill.service_type))
    )
    return list(rows.scalars())


async def caregiver_public(session: AsyncSession, caregiver: Caregiver, *, shown: Disclosure) -> CaregiverPublic:
    """The caregiver as this viewer may see them (``caregiver_disclosure``: the phone whole or masked, the
    position or none)."""
    assert caregiver.id is not None
    return CaregiverPublic(
        id=caregiver.id,
        provider_id=caregiver.provider_id,
        user_id=caregiver.user_id,
        name=caregiver.name,
        phone=caregiver.phone if shown.phone else mask_phone(caregiver.phone),
        skills=await caregiver_skills(session, caregiver.id),
        location=Location(lat=caregiver.lat, lon=caregiver.lon) if shown.position else None,
        on_shift=caregiver.on_shift,
        gender=caregiver.gender,
        languages=list(caregiver.languages),
    )


async def set_shift(
    *, session: AsyncSession, caregiver: Caregiver, on_shift: bool, location: Location | None
) -> Caregiver:
    """A caregiver starts or ends a shift, optionally reporting where they are (starting ends an absence)."""
    caregiver.on_shift = on_shift
    if on_shift:
        caregiver.absent_until = None
        assert caregiver.id is not None
        await end_absence(session=session, caregiver_id=caregiver.id, at=utcnow())
    if location is not None:
        return await report_location(session=session, caregiver=caregiver, location=location)
    await session.flush()
    return caregiver


async def report_location(*, session: AsyncSession, caregiver: Caregiver, location: Location) -> Caregiver:
    """The caregiver's phone reports where they are, and so when (the dispatcher measures distance from here)."""
    caregiver.lat, caregiver.lon, caregiver.located_at = location.lat, location.lon, utcnow()
    await session.flush()
    return caregiver


def elder_identity(id_number: str, phone: str) -> dict[str, Any]:
    """An elder's identity columns from a valid ID number and an E.164 phone: the numbers (sealed when stored),
    their blind indexes, and what the ID number says (birth date, gender)."""
    return {
        "id_number": id_number,
        "id_number_index": blind(id_number, context=ELDER_ID_NUMBER),
        "phone": phone,
        "phone_index": blind(phone, context=ELDER_PHONE),
        "birth_date": birth_date_from_id_number(id_number),
        "gender": gender_from_id_number(id_number),
    }


def synthetic_identity(serial: str, *, born: date, gender: str) -> dict[str, Any]:
    """Identity columns for a simulated or benchmark elder (``serial`` unique, not a real ID number)."""
    return {
        "id_number": serial,
        "id_number_index": blind(serial, context=ELDER_ID_NUMBER),
        "phone": "+8613800000000",
        "phone_index": blind("+8613800000000", context=ELDER_PHONE),
        "birth_date": born,
        "gender": gender,
    }


async def create_elder(*, session: AsyncSession, data: ElderCreate, user: User | None) -> Elder:
    """Register an elder: resident ID and phone checked, community known and within the user's area."""
    id_number = _identity(normalize_id_number, data.id_number)
    phone = phone_or_422(data.phone)
    community = await referenced(session, Community, data.community_id, what="社区", what_en="community")
    if user is not None and not covers_community(user, community):
        raise Forbidden("超出您的管辖范围", code="out_of_scope", message_en="Outside your scope")
    if data.preferred_caregiver_id is not None:
        await referenced(session, Caregiver, data.preferred_caregiver_id, what="护理员", what_en="caregiver")
    elder = Elder(
        name=data.name,
        **elder_identity(id_number, phone),
        community_id=data.community_id,
        address=data.address,
        lat=data.location.lat,
        lon=data.location.lon,
        same_gender_care=data.same_gender_care,
        preferred_caregiver_id=data.preferred_caregiver_id,
        language=data.language,
    )
    exists = Conflict("该身份证号已登记", code="elder_exists", message_en="An elder with this ID number exists")
    await insert_unique(session, elder, exists)
    await audit.record(session, action="elder.create", subjects=audit.elders([elder.id]), fields=data.model_fields_set)
    return elder


async def find_elders_by_phone(*, session: AsyncSession, phone: str, user: User, page: Page) -> list[Elder]:
    """The hotline's caller lookup: a page of the elders registered with this number, within the user's area."""
    normalized = phone_or_422(phone)
    matching = col(Elder.phone_index) == blind(normalized, context=ELDER_PHONE)
    query = select(Elder).where(matching).order_by(col(Elder.id))
    area = visible_communities(user)
    if area is not None:
        query = query.where(col(Elder.community_id).in_(area))
    found = await page.scalars(session, query)
    await audit.record_reads(session, action="elder.lookup", elder_ids=[e.id for e in found])
    return found


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def elder_public(elder: Elder, *, whole: bool) -> ElderPublic:
    """The elder's file; ID number and phone whole only to admins and the elder."""
    assert elder.id is not None
    born = elder.birth_date
    return ElderPublic(
        id=elder.id,
        name=elder.name,
        id_number=elder.id_number if whole else mask_id_number(elder.id_number),
        phone=elder.phone if whole else mask_phone(elder.phone),
        community_id=elder.community_id,
        address=elder.address,
        location=Location(lat=elder.lat, lon=elder.lon),
        # The birth date would give back the masked digits of the ID number: whole viewers only.
        birth_date=born.isoformat() if whole else None,
        age=_age(born, date.today()),
        gender=elder.gender,
        same_gender_care=elder.same_gender_care,
        preferred_caregiver_id=elder.preferred_caregiver_id,
        language=elder.language,
        share_with_health=elder.share_with_health,
        created_at=elder.created_at,
    )


async def elder_file(session: AsyncSession, elder: Elder, *, whole: bool) -> ElderPublic:
    """The elder's file with their accident cover valid today, if any."""
    public = elder_public(elder, whole=whole)
    assert elder.id is not None
    policy = await cover_on(session, Scheme.elder_accident, elder.id, local_today())
    if policy is not None:
        public.accident_cover = CoverPublic.model_validate({**policy.model_dump(), "policy_id": policy.id})
    return public


async def set_preferences(*, session: AsyncSession, elder: Elder, data: ElderPreferences) -> Elder:
    """Record the elder's wishes: same-gender care, a preferred caregiver, a language."""
    given = data.model_fields_set
    if "preferred_caregiver_id" in given and data.preferred_caregiver_id is not None:
        await referenced(session, Caregiver, data.preferred_caregiver_id, what="护理员", what_en="caregiver")
        if await session.get(BlockedCaregiver, (elder.id, data.preferred_caregiver_id)) is not None:
            raise Conflict(
                "该护理员已被老人屏蔽，不能同时设为指定护理员",
                code="preferred_caregiver_blocked",
                message_en="This caregiver is blocked by the elder",
            )
    if "same_gender_care" in given:
        if data.same_gender_care is None:
            raise Invalid("same_gender_care 不能为空", code="invalid_value", message_en="same_gender_care is required")
        elder.same_gender_care = data.same_gender_care
    if "preferred_caregiver_id" in given:
        elder.preferred_caregiver_id = data.preferred_caregiver_id
    if "language" in given:
        elder.language = data.language
    if "share_with_health" in given:
        if data.share_with_health is None:
            raise Invalid(
                "share_with_health 不能为空", code="invalid_value", message_en="share_with_health is required"
            )
        elder.share_with_health = data.share_with_health
    await audit.record(session, action="elder.update", subjects=audit.elders([elder.id]), fields=given)
    await session.flush()
    return elder


async def block_caregiver(
    *, session: AsyncSession, elder: Elder, caregiver_id: int, reason: str | None
) -> BlockedCaregiver:
    """Never send this caregiver to this elder again (idempotent: a repeat updates the reason)."""
    await referenced(session, Caregiver, caregiver_id, what="护理员", what_en="caregiver")
    block = await session.get(BlockedCaregiver, (elder.id, caregiver_id))
    if block is None:
        block = BlockedCaregiver(elder_id=elder.id, caregiver_id=caregiver_id, reason=reason)  # type: ignore[arg-type]
        session.add(block)
    else:
        block.reason = reason
    await audit.record(session, action="elder.update", subjects=audit.elders([elder.id]), fields=["blocked_caregivers"])
    await session.flush()
    return block


async def blocked_caregivers(*, session: AsyncSession, elder: Elder) -> list[BlockedCaregiver]:
    """The caregivers this elder asked not to be sent."""
    rows = await session.execute(
        select(BlockedCaregiver)
        .where(col(BlockedCaregiver.elder_id) == elder.id)
        .order_by(col(BlockedCaregiver.created_at), col(BlockedCaregiver.caregiver_id))
    )
    return list(rows.scalars())


async def unblock_caregiver(*, session: AsyncSession, elder: Elder, caregiver_id: int) -> None:
    """Lift a block (404 when there is none)."""
    block = await session.get(BlockedCaregiver, (elder.id, caregiver_id))
    if block is None:
        raise NotFound("没有该屏蔽记录", code="block_not_found", message_en="No such block")
    await audit.record(session, action="elder.update", subjects=audit.elders([elder.id]), fields=["blocked_caregivers"])
    await session.delete(block)
    await session.flush()
