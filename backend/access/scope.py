from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, false
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from backend.areas.models import Community, District, Street
from backend.audit import service as audit
from backend.core.errors import Forbidden, Invalid, NotFound
from backend.core.schemas import MAX_ID
from backend.dispatch.models import Offer, OfferStatus
from backend.families.models import FamilyMember
from backend.orders.models import ServiceRequest
from backend.registry.models import Caregiver, Elder, Provider, ProviderCommunity
from backend.users.models import Role, User

CHANNEL = re.compile(
    r"(?P<kind>caregiver|elder|request|community|street|district|provider):(?P<id>[1-9][0-9]{0,9})", re.ASCII
)
CITYWIDE = frozenset({Role.admin.value, Role.operator.value})
# An offer opens the order to its caregiver (and their provider) while it stands: declined, lapsed, withdrawn or
# given back, the access ends with it.
_LIVE_OFFER = col(Offer.status).in_([OfferStatus.pending.value, OfferStatus.accepted.value])


def _outside() -> Forbidden:
    return Forbidden("超出您的管辖范围", code="out_of_scope", message_en="Outside your scope")


def is_city_staff(user: User) -> bool:
    """True for the city's own staff (admins and hotline operators), who see and decide city-wide."""
    return user.role in CITYWIDE


def covers_community(user: User, community: Community) -> bool:
    """True when the user's area includes the community."""
    if user.role in CITYWIDE:
        return True
    if user.role != Role.community_staff:
        return False
    return (
        user.community_id == community.id
        or (user.street_id is not None and user.street_id == community.street_id)
        or (user.district_id is not None and user.district_id == community.district_id)
    )


def visible_communities(user: User) -> SelectOfScalar[Any] | None:
    """The ids of the communities a user's area covers, as a subquery; ``None`` for the whole city."""
    if user.role in CITYWIDE:
        return None
    area: SelectOfScalar[Any] = select(Community.id)
    if user.role != Role.community_staff:
        return area.where(false())
    if user.community_id is not None:
        return area.where(col(Community.id) == user.community_id)
    if user.street_id is not None:
        return area.where(col(Community.street_id) == user.street_id)
    return area.where(col(Community.district_id) == user.district_id)


async def check_community(session: AsyncSession, user: User, community_id: int) -> Community:
    """The community if the user's area covers it; 404 unknown, 403 outside."""
    community = await session.get(Community, community_id)
    if community is None:
        raise NotFound("社区不存在", code="community_not_found", message_en="Unknown community")
    if not covers_community(user, community):
        raise _outside()
    return community


async def caregiver_of(session: AsyncSession, user: User) -> Caregiver | None:
    """The caregiver record of a caregiver account."""
    if user.role != Role.caregiver:
        return None
    return (await session.execute(select(Caregiver).where(col(Caregiver.user_id) == user.id))).scalar_one_or_none()


async def can_view_request(session: AsyncSession, user: User, request: ServiceRequest) -> bool:
    """True when the user may see this order."""
    if user.role in CITYWIDE:
        return True
    if user.role == Role.community_staff:
        community = await session.get(Community, request.community_id)
        return community is not None and covers_community(user, community)
    if user.role == Role.elder:
        return user.elder_id == request.elder_id
    if user.role == Role.family:
        return await follows(session, user, request.elder_id)
    if user.role == Role.caregiver:
        caregiver = await caregiver_of(session, user)
        if caregiver is None:
            return False
        if caregiver.id in (request.assigned_caregiver_id, request.partner_caregiver_id):
            return True
        offered = await session.execute(
            select(Offer.id).where(
                col(Offer.request_id) == request.id, col(Offer.caregiver_id) == caregiver.id, _LIVE_OFFER
            )
        )
        return offered.first() is not None
    if user.role == Role.provider_admin:
        ids = [i for i in (request.assigned_caregiver_id, request.partner_caregiver_id) if i is not None]
        ids += list(
            (
                await session.execute(
                    select(Offer.caregiver_id).where(col(Offer.request_id) == request.id, _LIVE_OFFER)
                )
            ).scalars()
        )
        if not ids:
            return False
        hit = await session.execute(
            select(Caregiver.id).where(col(Caregiver.id).in_(ids), col(Caregiver.provider_id) == user.provider_id)
        )
        return hit.first() is not None
    return False


async def check_request(session: AsyncSession, user: User, request_id: int) -> ServiceRequest:
    """The order if the user may see it; 404 unknown, 403 outside."""
    request = await session.get(ServiceRequest, request_id)
    if request is None:
        raise NotFound("工单不存在", code="request_not_found", message_en="Unknown work order")
    if not await can_view_request(session, user, request):
        raise _outside()
    return request


async def check_visit_proof(session: AsyncSession, user: User, request_id: int) -> ServiceRequest:
    """The order if the user may read its visit's proof (photos, signatures): city staff, the staff of its area,
    the provider whose caregiver served it, and its caregivers (each reads what they took); never the elder's
    family, nor a provider or caregiver only offered the order. 404 unknown, 403 otherwise."""
    request = await check_request(session, user, request_id)
    crew = [i for i in (request.assigned_caregiver_id, request.partner_caregiver_id) if i is not None]
    if user.role in CITYWIDE or user.role == Role.community_staff:
        return request
    if user.role == Role.caregiver:
        caregiver = await caregiver_of(session, user)
        if caregiver is not None and caregiver.id in crew:
            return request
    elif user.role == Role.provider_admin and crew:
        served = await session.execute(
            select(Caregiver.id).where(col(Caregiver.id).in_(crew), col(Caregiver.provider_id) == user.provider_id)
        )
        if served.first() is not None:
            return request
    raise Forbidden("无权查看上门服务凭证", code="proof_forbidden", message_en="You may not see this visit's proof")


def followed_elders(user: User) -> SelectOfScalar[Any]:
    """The ids of the elders a family account follows (the elder agreed it sees their orders), as a subquery."""
    return select(FamilyMember.elder_id).where(
        col(FamilyMember.user_id) == user.id, col(FamilyMember.see_orders).is_(True)
    )


async def follows(session: AsyncSession, user: User, elder_id: int, *, acting: bool = False) -> bool:
    """True when a family account may follow this elder (the elder agreed it sees their orders); ``acting``:
    and may act for her too (a separate consent: change her wishes, block caregivers, order and cancel)."""
    if user.role != Role.family:
        return False
    consents = [col(FamilyMember.see_orders).is_(True)]
    if acting:
        consents.append(col(FamilyMember.act_for_elder).is_(True))
    link = await session.execute(
        select(FamilyMember.id).where(
            col(FamilyMember.elder_id) == elder_id, col(FamilyMember.user_id) == user.id, *consents
        )
    )
    return link.first() is not None


class ElderUse(StrEnum):
    """What a caller wants with an elder's file: families get less than staff."""

    read = "read"  # her file and orders: the elder, family who follow her, staff of her area
    act = "act"  # change her wishes, block caregivers, order, cancel: family only with her act_for_elder consent
    private = "private"  # benefit status, devices and SIMs, her family's consents: never her family


async def check_elder(session: AsyncSession, user: User, elder_id: int, use: ElderUse = ElderUse.read) -> Elder:
    """The elder if the user may use her file this way (404 unknown, 403 outside); every access let through is
    in the audit trail (``elder.read``, once per request, with the route)."""
    elder = await session.get(Elder, elder_id)
    if elder is None:
        raise NotFound("老人不存在", code="elder_not_found", message_en="Unknown elder")
    if not await _may_use(session, user, elder, use):
        raise _outside()
    await audit.record_reads(session, action="elder.read", elder_ids=[elder.id])
    return elder


async def _may_use(session: AsyncSession, user: User, elder: Elder, use: ElderUse) -> bool:
    if user.role == Role.elder and user.elder_id == elder.id:
        return True
    if user.role == Role.family:
        assert elder.id is not None
        return use != ElderUse.private and await follows(session, user, elder.id, acting=use == ElderUse.act)
    community = await session.get(Community, elder.community_id)
    return community is not None and covers_community(user, community)


async def check_caregiver(session: AsyncSession, user: User, caregiver_id: int) -> Caregiver:
    """The caregiver if the user may follow them: themself, their provider, city staff, and staff of an area
    their provider serves (what each then sees of them: ``backend.access.personal.caregiver_disclosure``)."""
    caregiver = await session.get(Caregiver, caregiver_id)
    if caregiver is None:
        raise NotFound("护理员不存在", code="caregiver_not_found", message_en="Unknown caregiver")
    if user.role in CITYWIDE or caregiver.user_id == user.id:
        return caregiver
    if user.role == Role.provider_admin and user.provider_id == caregiver.provider_id:
        return caregiver
    area = visible_communities(user)
    if user.role == Role.community_staff and area is not None:
        serves = await session.execute(
            select(ProviderCommunity.provider_id).where(
                col(ProviderCommunity.provider_id) == caregiver.provider_id,
                col(ProviderCommunity.community_id).in_(area),
            )
        )
        if serves.first() is not None:
            return caregiver
    raise _outside()


async def check_channel(session: AsyncSession, user: User, channel: str) -> None:
    """Allow a WebSocket subscription only within the user's scope (404/403/422 otherwise)."""
    match = CHANNEL.fullmatch(channel)
    if match is None or int(match["id"]) > MAX_ID:
        raise Invalid(
            "频道格式错误，应为 caregiver|elder|request|community|street|district|provider:编号",
            code="bad_channel",
            message_en=f"Bad channel {channel[:80]!r}: expected KIND:ID",
        )
    kind, ident = match["kind"], int(match["id"])
    if kind == "caregiver":
        await check_caregiver(session, user, ident)
    elif kind == "elder":
        await check_elder(session, user, ident)
    elif kind == "request":
        await check_request(session, user, ident)
    elif kind == "community":
        await check_community(session, user, ident)
    elif kind == "street":
        street = await session.get(Street, ident)
        if street is None:
            raise NotFound("街道不存在", code="street_not_found", message_en="Unknown street")
        staff = user.role == Role.community_staff
        covers = staff and (user.street_id == street.id or user.district_id == street.district_id)
        if not (user.role in CITYWIDE or covers):
            raise _outside()
    elif kind == "provider":
        if await session.get(Provider, ident) is None:
            raise NotFound("服务组织不存在", code="provider_not_found", message_en="Unknown provider")
        if not (user.role in CITYWIDE or (user.role == Role.provider_admin and user.provider_id == ident)):
            raise _outside()
    elif kind == "district":
        if await session.get(District, ident) is None:
            raise NotFound("区不存在", code="district_not_found", message_en="Unknown district")
        if not (user.role in CITYWIDE or (user.role == Role.community_staff and user.district_id == ident)):
            raise _outside()


async def area_condition(
    session: AsyncSession, user: User, community_id: int | None, street_id: int | None, district_id: int | None
) -> tuple[str, list[ColumnElement[bool]]]:
    """The area asked for (the smallest given; none: the city) and its condition on ``Community``, in scope.

    The city is for city-wide roles only; anyone else names an area their own covers (403 outside).
    """
    if community_id is not None:
        await check_community(session, user, community_id)
        return f"community:{community_id}", [col(Community.id) == community_id]
    if street_id is not None:
        await check_channel(session, user, f"street:{street_id}")
        return f"street:{street_id}", [col(Community.street_id) == street_id]
    if district_id is not None:
        await check_channel(session, user, f"district:{district_id}")
        return f"district:{district_id}", [col(Community.district_id) == district_id]
    if user.role in CITYWIDE:
        return "city", []
    raise _outside()


async def own_area_condition(
    session: AsyncSession, user: User, community_id: int | None, street_id: int | None, district_id: int | None
) -> tuple[str, list[ColumnElement[bool]]]:
    """Like ``area_condition``, but an area's staff who name no area get their own (a list's default)."""
    if community_id is None and street_id is None and district_id is None and user.role == Role.community_staff:
        community_id, street_id, district_id = user.community_id, user.street_id, user.district_id
    return await area_condition(session, user, community_id, street_id, district_id)
