"""Entitlement rules: categories, memberships, the month's quota and who pays for the next order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, false, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import ElderUse, check_elder
from backend.benefits.models import BenefitCategory, ElderBenefit, ProviderRate
from backend.benefits.schemas import (
    Applying,
    BenefitCreate,
    BenefitEnd,
    CategoryCreate,
    CategoryUpdate,
    Entitlement,
    Menu,
    MenuItem,
    Prices,
    RateSet,
)
from backend.core.db import local_midnight
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.i18n import LOCAL_TZ
from backend.core.identity import InvalidIdentity
from backend.core.lookups import insert_unique
from backend.orders.models import Payer, ServiceRequest, Status
from backend.registry.models import Elder, Provider, ProviderCommunity, ProviderService, ServiceType
from backend.users.models import Role, User

STAFF = frozenset({Role.admin.value, Role.operator.value, Role.community_staff.value})


def _admins_only(user: User) -> None:
    if user.role != Role.admin:
        raise Forbidden("仅管理员可配置", code="role_forbidden", message_en="Admins only")


async def categories(session: AsyncSession) -> list[BenefitCategory]:
    rows = await session.execute(
        select(BenefitCategory).order_by(col(BenefitCategory.orders_per_month).desc(), col(BenefitCategory.code))
    )
    return list(rows.scalars())


async def add_category(*, session: AsyncSession, user: User, data: CategoryCreate) -> BenefitCategory:
    """Add a category the government buys orders for (admins); 409 ``category_exists``."""
    _admins_only(user)
    taken = Conflict(f"类别 {data.code} 已存在", code="category_exists", message_en=f"Category {data.code} exists")
    return await insert_unique(session, BenefitCategory(**data.model_dump()), taken)


async def _category(session: AsyncSession, code: str) -> BenefitCategory:
    category = await session.get(BenefitCategory, code)
    if category is None:
        raise Invalid(f"未知的保障类别：{code}", code="unknown_category", message_en=f"Unknown category {code}")
    return category


async def update_category(*, session: AsyncSession, user: User, code: str, data: CategoryUpdate) -> BenefitCategory:
    """Change a quota, an age, or retire a category (admins); months already served keep their orders."""
    _admins_only(user)
    category = await session.get(BenefitCategory, code)
    if category is None:
        raise NotFound(f"保障类别不存在：{code}", code="category_not_found", message_en=f"Unknown category {code}")
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(category, name, value)
    await session.flush()
    return category


async def _staff_elder(session: AsyncSession, user: User, elder_id: int) -> Elder:
    if user.role not in STAFF:
        raise Forbidden("无权登记保障类别", code="role_forbidden", message_en="Staff only")
    return await check_elder(session, user, elder_id, ElderUse.private)


async def record_benefit(*, session: AsyncSession, user: User, elder_id: int, data: BenefitCreate) -> ElderBenefit:
    """Record that an elder belongs to a category (staff of the elder's area); 409 ``benefit_exists``."""
    elder = await _staff_elder(session, user, elder_id)
    category = await _category(session, data.category)
    if not category.active:
        raise Invalid("该保障类别已停用", code="category_inactive", message_en="The category is retired")
    benefit = ElderBenefit(elder_id=elder.id, **data.model_dump(), by=user.actor)  # type: ignore[arg-type]
    taken = Conflict(
        "该老人已登记此类别（未结束）", code="benefit_exists", message_en="The elder already has this category"
    )
    return await insert_unique(session, benefit, taken)


async def end_benefit(
    *, session: AsyncSession, user: User, elder_id: int, benefit_id: int, data: BenefitEnd
) -> ElderBenefit:
    """End a membership on a day (certificate expired, reassessed): the months after it lose its quota."""
    await _staff_elder(session, user, elder_id)
    benefit = await session.get(ElderBenefit, benefit_id)
    if benefit is None or benefit.elder_id != elder_id:
        raise NotFound("保障记录不存在", code="benefit_not_found", message_en="Unknown benefit record")
    if benefit.valid_to is not None:
        raise Conflict("该保障记录已结束", code="benefit_ended", message_en="The record has ended")
    if data.valid_to < benefit.valid_from:
        raise Invalid("结束日期早于开始日期", code="invalid_dates", message_en="valid_to is before valid_from")
    benefit.valid_to, benefit.end_reason = data.valid_to, data.reason
    await session.flush()
    return benefit


async def benefits_of(*, session: AsyncSession, user: User, elder_id: int) -> list[ElderBenefit]:
    await check_elder(session, user, elder_id, ElderUse.private)
    rows = await session.execute(
        select(ElderBenefit)
        .where(col(ElderBenefit.elder_id) == elder_id)
        .order_by(col(ElderBenefit.valid_from), col(ElderBenefit.id))
    )
    return list(rows.scalars())


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def month_days(month: str) -> tuple[date, date]:
    """The first and last day of a month given as ``YYYY-MM``."""
    first = date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


async def applying(session: AsyncSession, elder: Elder, month: str) -> list[Applying]:
    """The active categories that apply to the elder in the month (recorded, or by age), highest quota first."""
    first, last = month_days(month)
    try:
        age: int | None = _age_on(elder.birth_date, last)
    except InvalidIdentity:  # imported or simulated records without a real number: no age categories
        age = None
    recorded = exists().where(
        col(ElderBenefit.category) == col(BenefitCategory.code),
        col(ElderBenefit.elder_id) == elder.id,
        col(ElderBenefit.valid_from) <= last,
        col(ElderBenefit.valid_to).is_(None) | (col(ElderBenefit.valid_to) >= first),
    )
    by_age = (
        col(BenefitCategory.min_age).is_not(None) & (col(BenefitCategory.min_age) <= age)
        if age is not None
        else false()
    )
    rows = await session.execute(
        select(BenefitCategory, recorded.label("recorded")).where(
            col(BenefitCategory.active).is_(True), or_(recorded, by_age)
        )
    )
    found = [
        Applying(
            code=c.code, name_zh=c.name_zh, orders_per_month=c.orders_per_month, source="recorded" if mine else "age"
        )
        for c, mine in rows.all()
    ]
    return sorted(found, key=lambda a: (-a.orders_per_month, a.code))


async def used_in_month(session: AsyncSession, elder_id: int, month: str) -> int:
    """Government-paid orders of the elder needed in the month (by window, or when taken), not cancelled."""
    first, last = month_days(month)
    needed = func.coalesce(col(ServiceRequest.window_start), col(ServiceRequest.created_at))
    count = await session.scalar(
        select(func.count(col(ServiceRequest.id))).where(
            col(ServiceRequest.elder_id) == elder_id,
            col(ServiceRequest.paid_by) == Payer.government.value,
            col(ServiceRequest.status) != Status.cancelled.value,
            needed >= local_midnight(first),
            needed < local_midnight(last + timedelta(days=1)),
        )
    )
    return int(count or 0)


@dataclass
class Quota:
    month: str
    categories: list[Applying]
    quota: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.quota - self.used)


async def quota_of(session: AsyncSession, elder: Elder, month: str) -> Quota:
    """The month's quota (the highest of the categories; they do not add up) and what is used of it."""
    found = await applying(session, elder, month)
    quota = max((a.orders_per_month for a in found), default=0)
    return Quota(month=month, categories=found, quota=quota, used=await used_in_month(session, elder.id, month))  # type: ignore[arg-type]


async def prices(session: AsyncSession, elder: Elder, service_type: str) -> Prices:
    """What the government pays for the service, and the self-pay prices of the providers serving the elder."""
    kind = await session.get(ServiceType, service_type)
    if kind is None:
        raise Invalid(f"未知的服务项目：{service_type}", code="unknown_service_type", message_en="Unknown service type")
    return (await prices_of(session, elder, [kind]))[service_type]


async def prices_of(session: AsyncSession, elder: Elder, kinds: Sequence[ServiceType]) -> dict[str, Prices]:
    """``prices`` for several services at once (one query): the self-pay range is over the active providers that
    serve the elder's community, offer the service and have set a price for it."""
    rows = await session.execute(
        sa_select(
            col(ProviderRate.service_type),
            func.min(col(ProviderRate.price_fen)),
            func.max(col(ProviderRate.price_fen)),
        )
        .join(
            ProviderService,
            (col(ProviderService.provider_id) == col(ProviderRate.provider_id))
            & (col(ProviderService.service_type) == col(ProviderRate.service_type)),
        )
        .join(ProviderCommunity, col(ProviderCommunity.provider_id) == col(ProviderRate.provider_id))
        .join(Provider, col(Provider.id) == col(ProviderRate.provider_id))
        .where(
            col(ProviderCommunity.community_id) == elder.community_id,
            col(Provider.active).is_(True),
            col(ProviderRate.service_type).in_([k.code for k in kinds]),
        )
        .group_by(col(ProviderRate.service_type))
    )
    ranges = {code: (low, high) for code, low, high in rows.all()}
    return {
        k.code: Prices(
            service_type=k.code,
            government_fen=k.government_price_fen,
            self_pay_min_fen=ranges.get(k.code, (None, None))[0],
            self_pay_max_fen=ranges.get(k.code, (None, None))[1],
        )
        for k in kinds
    }


async def entitlement(
    *, session: AsyncSession, user: User, elder_id: int, month: str, service_type: str | None
) -> Entitlement:
    """What the operator tells the elder before the order: quota left this month and who would pay."""
    elder = await check_elder(session, user, elder_id, ElderUse.private)
    quota = await quota_of(session, elder, month)
    return Entitlement(
        elder_id=elder_id,
        month=month,
        categories=quota.categories,
        quota=quota.quota,
        used=quota.used,
        remaining=quota.remaining,
        next_order_paid_by="government" if quota.remaining else "self",
        prices=await prices(session, elder, service_type) if service_type else None,
    )


# Not on the elder's menu: an emergency has the app's own SOS button, and day care is booked as days at a centre
# (POST /api/v1/day-care/bookings), not ordered as a visit to her door.
NOT_ON_MENU = frozenset({"emergency", "day_care"})


async def menu(*, session: AsyncSession, elder: Elder, month: str, english: bool) -> Menu:
    """What the elder can order from her app this month: each service a caregiver visits her for, whether her next
    order of it would be government-paid (the quota, as ``decide_payer`` counts it), its self-pay price otherwise
    (the cheapest provider serving her community, as ``prices``), and whether anyone serving her offers it."""
    quota = await quota_of(session, elder, month)
    kinds = list(
        (
            await session.execute(
                select(ServiceType).where(col(ServiceType.code).not_in(NOT_ON_MENU)).order_by(col(ServiceType.code))
            )
        ).scalars()
    )
    priced = await prices_of(session, elder, kinds)
    offered = set(
        (
            await session.execute(
                select(ProviderService.service_type)
                .join(ProviderCommunity, col(ProviderCommunity.provider_id) == col(ProviderService.provider_id))
                .join(Provider, col(Provider.id) == col(ProviderService.provider_id))
                .where(col(ProviderCommunity.community_id) == elder.community_id, col(Provider.active).is_(True))
                .distinct()
            )
        ).scalars()
    )
    assert elder.id is not None
    return Menu(
        elder_id=elder.id,
        month=month,
        quota=quota.quota,
        used=quota.used,
        remaining=quota.remaining,
        next_order_paid_by="government" if quota.remaining else "self",
        items=[
            MenuItem(
                code=k.code,
                name=k.name_en if english else k.name_zh,
                free=quota.remaining > 0,
                price_fen=priced[k.code].self_pay_min_fen,
                minutes=k.default_minutes,
                caregivers_needed=k.caregivers_needed,
                available=k.code in offered,
            )
            for k in kinds
        ],
    )


async def decide_payer(session: AsyncSession, elder: Elder, wanted: Payer | None, needed_at: datetime) -> Payer:
    """Who pays for an order needed at ``needed_at``: the government within the month's quota, else the elder.

    The elder's row is locked first, so two orders taken at once cannot both use the last order of the
    quota. ``wanted`` self: self-paid whatever the quota; government: 409 ``quota_exhausted`` when none
    is left; None: decided by the quota.
    """
    if wanted == Payer.self_paid:
        return Payer.self_paid
    await session.execute(select(Elder.id).where(col(Elder.id) == elder.id).with_for_update())
    month = month_of(needed_at.astimezone(LOCAL_TZ).date())
    quota = max((a.orders_per_month for a in await applying(session, elder, month)), default=0)
    used = await used_in_month(session, elder.id, month) if quota or wanted == Payer.government else 0  # type: ignore[arg-type]
    if used < quota:
        return Payer.government
    if wanted == Payer.government:
        raise Conflict(
            f"{month} 政府购买服务额度已用完（{used}/{quota} 单），可改为自费",
            code="quota_exhausted",
            message_en=f"No government-paid orders left in {month} ({used}/{quota}); it may be self-paid",
        )
    return Payer.self_paid


async def set_rates(*, session: AsyncSession, user: User, provider_id: int, rates: list[RateSet]) -> list[ProviderRate]:
    """A provider's self-pay prices (its admin, or an admin); a listed service replaces its old price."""
    if not (user.role == Role.admin or (user.role == Role.provider_admin and user.provider_id == provider_id)):
        raise Forbidden("无权设置该服务组织的价格", code="out_of_scope", message_en="Not your provider")
    if await session.get(Provider, provider_id) is None:
        raise NotFound("服务组织不存在", code="provider_not_found", message_en="Unknown provider")
    for rate in rates:
        if await session.get(ServiceType, rate.service_type) is None:
            raise Invalid(
                f"未知的服务项目：{rate.service_type}", code="unknown_service_type", message_en="Unknown service type"
            )
        row = await session.get(ProviderRate, (provider_id, rate.service_type))
        if row is None:
            session.add(ProviderRate(provider_id=provider_id, service_type=rate.service_type, price_fen=rate.price_fen))
        else:
            row.price_fen = rate.price_fen
    await session.flush()
    return await rates_of(session=session, provider_id=provider_id)


async def rates_of(*, session: AsyncSession, provider_id: int) -> list[ProviderRate]:
    rows = await session.execute(
        select(ProviderRate)
        .where(col(ProviderRate.provider_id) == provider_id)
        .order_by(col(ProviderRate.service_type))
    )
    return list(rows.scalars())
