"""Entitlement HTTP routes: categories, an elder's memberships and quota, government and self-pay prices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from backend.access.deps import AdminUser, CurrentUser, ElderToActFor, PrivateElder
from backend.benefits import service
from backend.benefits.schemas import (
    MONTH_PATTERN,
    BenefitCreate,
    BenefitEnd,
    BenefitPublic,
    CategoryCreate,
    CategoryPublic,
    CategoryUpdate,
    Entitlement,
    GovernmentPrice,
    Menu,
    RateSet,
)
from backend.core.db import local_today
from backend.core.deps import SessionDep
from backend.core.errors import NotFound
from backend.core.i18n import prefers_english
from backend.core.paging import Paged
from backend.core.schemas import PathId
from backend.registry.models import ServiceType
from backend.registry.schemas import ServiceTypePublic

router = APIRouter(tags=["entitlements"])


@router.get("/benefit-categories", response_model=list[CategoryPublic])
async def list_categories(session: SessionDep, _user: CurrentUser, page: Paged) -> list[CategoryPublic]:
    """The categories the government buys orders for, highest quota first."""
    return [CategoryPublic.model_validate(c, from_attributes=True) for c in page.of(await service.categories(session))]


@router.post("/benefit-categories", status_code=status.HTTP_201_CREATED, response_model=CategoryPublic)
async def add_category(data: CategoryCreate, session: SessionDep, user: CurrentUser) -> CategoryPublic:
    """Add a category (admins); 409 ``category_exists``."""
    return CategoryPublic.model_validate(
        await service.add_category(session=session, user=user, data=data), from_attributes=True
    )


@router.patch("/benefit-categories/{code}", response_model=CategoryPublic)
async def update_category(
    code: Annotated[str, Path(max_length=32)], data: CategoryUpdate, session: SessionDep, user: CurrentUser
) -> CategoryPublic:
    """A new monthly quota or age, or retire the category (admins)."""
    category = await service.update_category(session=session, user=user, code=code, data=data)
    return CategoryPublic.model_validate(category, from_attributes=True)


@router.get("/elders/{elder_id}/benefits", response_model=list[BenefitPublic])
async def list_benefits(
    elder_id: PathId, session: SessionDep, user: CurrentUser, _elder: PrivateElder, page: Paged
) -> list[BenefitPublic]:
    """The categories recorded for an elder, ended ones included."""
    rows = await service.benefits_of(session=session, user=user, elder_id=elder_id)
    return [BenefitPublic.model_validate(b, from_attributes=True) for b in page.of(rows)]


@router.post("/elders/{elder_id}/benefits", status_code=status.HTTP_201_CREATED, response_model=BenefitPublic)
async def record_benefit(
    elder_id: PathId, data: BenefitCreate, session: SessionDep, user: CurrentUser, _elder: PrivateElder
) -> BenefitPublic:
    """Record a category for an elder, with its evidence (staff of the elder's area); 409 ``benefit_exists``."""
    benefit = await service.record_benefit(session=session, user=user, elder_id=elder_id, data=data)
    return BenefitPublic.model_validate(benefit, from_attributes=True)


@router.post("/elders/{elder_id}/benefits/{benefit_id}/end", response_model=BenefitPublic)
async def end_benefit(
    elder_id: PathId,
    benefit_id: PathId,
    data: BenefitEnd,
    session: SessionDep,
    user: CurrentUser,
    _elder: PrivateElder,
) -> BenefitPublic:
    """End a category on a day (certificate lapsed, reassessed); 409 ``benefit_ended`` the second time."""
    benefit = await service.end_benefit(session=session, user=user, elder_id=elder_id, benefit_id=benefit_id, data=data)
    return BenefitPublic.model_validate(benefit, from_attributes=True)


@router.get("/elders/{elder_id}/entitlement", response_model=Entitlement)
async def entitlement(
    elder_id: PathId,
    _elder: PrivateElder,
    session: SessionDep,
    user: CurrentUser,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM; default this month")] = None,
    service_type: Annotated[str | None, Query(max_length=32, description="also show this service's prices")] = None,
) -> Entitlement:
    """The month's quota, what is used and left, and who would pay the next order (told before it is placed)."""
    return await service.entitlement(
        session=session,
        user=user,
        elder_id=elder_id,
        month=month or service.month_of(local_today()),
        service_type=service_type,
    )


@router.get("/elders/{elder_id}/menu", response_model=Menu)
async def menu(
    http: Request,
    elder: ElderToActFor,
    session: SessionDep,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM; default this month")] = None,
) -> Menu:
    """What the elder may order from her app (emergencies have the SOS button, day care is booked by the day): for
    each service whether her next order would be government-paid (``free``), else its self-pay price (the cheapest
    provider serving her community), and the month's quota. The elder, staff of her area, and her family only with
    her consent to act for her (her benefit status is otherwise never theirs to read)."""
    return await service.menu(
        session=session, elder=elder, month=month or service.month_of(local_today()), english=prefers_english(http)
    )


@router.get("/providers/{provider_id}/rates", response_model=list[RateSet])
async def provider_rates(provider_id: PathId, session: SessionDep, _user: CurrentUser, page: Paged) -> list[RateSet]:
    """A provider's self-pay prices (自费价格) per order, in fen and in yuan."""
    rows = page.of(await service.rates_of(session=session, provider_id=provider_id))
    return [RateSet(service_type=r.service_type, price_fen=r.price_fen) for r in rows]


@router.put("/providers/{provider_id}/rates", response_model=list[RateSet])
async def set_provider_rates(
    provider_id: PathId, rates: list[RateSet], session: SessionDep, user: CurrentUser
) -> list[RateSet]:
    """Set self-pay prices (the provider's admin, an admin); services not listed keep theirs. Each price as
    ``price_fen`` or ``price_yuan`` (at most two decimals: 422 ``too_precise``); a bad one changes none."""
    rows = await service.set_rates(session=session, user=user, provider_id=provider_id, rates=rates)
    return [RateSet(service_type=r.service_type, price_fen=r.price_fen) for r in rows]


@router.put("/service-types/{code}/government-price", response_model=ServiceTypePublic)
async def set_government_price(
    code: Annotated[str, Path(max_length=32)], body: GovernmentPrice, session: SessionDep, _admin: AdminUser
) -> ServiceTypePublic:
    """What the government pays a provider for one order of this service within an elder's quota (admins):
    ``government_price_fen``, or ``government_price_yuan`` with at most two decimals."""
    kind = await session.get(ServiceType, code)
    if kind is None:
        raise NotFound(f"服务项目不存在：{code}", code="service_type_not_found", message_en=f"Unknown service {code}")
    kind.government_price_fen = body.government_price_fen
    await session.flush()
    return ServiceTypePublic.model_validate(kind, from_attributes=True)
