"""Insurance rules: who may register and see policies, who is covered on a day, expiry reminders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import CITYWIDE, ElderUse, area_condition, check_elder, covers_community
from backend.areas.models import Community
from backend.areas.service import area_channels
from backend.benefits.models import BenefitCategory, ElderBenefit
from backend.capacity.models import Institution
from backend.core.db import local_today, utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.events import emit
from backend.core.lookups import insert_unique
from backend.core.paging import Page
from backend.insurance.models import Claim, Incident, PolicyReminder
from backend.insurance.schemas import ClaimCount, CoverStatistics, PolicyCreate, Rate
from backend.policies.cover import cover_on, insured_on, valid_on
from backend.policies.models import INSURED_BY_SCHEME, InsurancePolicy, InsuredType, PolicyStatus, Scheme
from backend.registry.models import Elder, Provider, ProviderCommunity
from backend.users.models import Role, User

REMINDER_DAYS = (30, 7)
INSURED_MODELS: dict[str, Any] = {
    InsuredType.institution: Institution,
    InsuredType.provider: Provider,
    InsuredType.elder: Elder,
}
INSURED_ZH = {InsuredType.institution: "养老机构", InsuredType.provider: "服务组织", InsuredType.elder: "老人"}


def _outside() -> Forbidden:
    return Forbidden("超出您的管辖范围", code="out_of_scope", message_en="Outside your scope")


def provider_owned(provider_id: int) -> ColumnElement[bool]:
    """Policies of a provider and of the institutions it runs."""
    mine = select(Institution.id).where(col(Institution.provider_id) == provider_id)
    policy_type, insured = col(InsurancePolicy.insured_type), col(InsurancePolicy.insured_id)
    return or_(
        and_(policy_type == InsuredType.provider.value, insured == provider_id),
        and_(policy_type == InsuredType.institution.value, insured.in_(mine)),
    )


def _may_manage(user: User, insured_type: str, insured: Any) -> bool:
    """City staff manage every policy; a provider's admin those of its organisation and its institutions."""
    if user.role in CITYWIDE:
        return True
    if user.role != Role.provider_admin or user.provider_id is None:
        return False
    if insured_type == InsuredType.provider:
        return bool(insured.id == user.provider_id)
    if insured_type == InsuredType.institution:
        return bool(insured.provider_id == user.provider_id)
    return False


async def _may_see(session: AsyncSession, user: User, insured_type: str, insured: Any) -> bool:
    """Managers, staff of the area (institutions, elders), and the elder themself."""
    if _may_manage(user, insured_type, insured):
        return True
    if insured_type == InsuredType.elder:
        try:
            await check_elder(session, user, insured.id, ElderUse.private)
        except (Forbidden, NotFound):
            return False
        return True
    if insured_type == InsuredType.institution and user.role == Role.community_staff:
        community = await session.get(Community, insured.community_id)
        return community is not None and covers_community(user, community)
    return False


async def _insured(session: AsyncSession, insured_type: str, insured_id: int) -> Any:
    row = await session.get(INSURED_MODELS[insured_type], insured_id)
    if row is None:
        what = INSURED_ZH[InsuredType(insured_type)]
        raise Invalid(f"{what}不存在：{insured_id}", code="unknown_insured", message_en=f"Unknown {insured_type}")
    return row


def check_scheme(scheme: str, insured_type: str) -> None:
    """Each scheme insures one kind of party (422 ``scheme_mismatch``)."""
    expected = INSURED_BY_SCHEME[Scheme(scheme)]
    if insured_type != expected:
        raise Invalid(
            f"{scheme} 的被保险人应为 {expected.value}",
            code="scheme_mismatch",
            message_en=f"{scheme} insures a {expected.value}",
        )


async def create_policy(*, session: AsyncSession, user: User, data: PolicyCreate) -> InsurancePolicy:
    """Register a policy (city staff; a provider's admin for its own cover); 409 ``policy_exists``."""
    check_scheme(data.scheme, data.insured_type)
    insured = await _insured(session, data.insured_type, data.insured_id)
    if not _may_manage(user, data.insured_type, insured):
        raise Forbidden("无权登记该保单", code="out_of_scope", message_en="Not a policy you may register")
    policy = InsurancePolicy(**data.model_dump(), by=user.actor)
    taken = Conflict(
        f"保单 {data.insurer} {data.number} 已登记", code="policy_exists", message_en="This policy is registered"
    )
    policy = await insert_unique(session, policy, taken)
    await _tell(session, policy, "insurance.policy", {"status": policy.status})
    return policy


async def get_policy(*, session: AsyncSession, user: User, policy_id: int) -> tuple[InsurancePolicy, str]:
    policy = await session.get(InsurancePolicy, policy_id)
    if policy is None:
        raise NotFound("保单不存在", code="policy_not_found", message_en="Unknown policy")
    insured = await _insured(session, policy.insured_type, policy.insured_id)
    if not await _may_see(session, user, policy.insured_type, insured):
        raise _outside()
    return policy, insured.name


async def cancel_policy(*, session: AsyncSession, user: User, policy_id: int, reason: str) -> InsurancePolicy:
    """Cancel a policy registered in error or terminated (city staff, the insured's provider admin)."""
    policy = (
        await session.execute(select(InsurancePolicy).where(col(InsurancePolicy.id) == policy_id).with_for_update())
    ).scalar_one_or_none()
    if policy is None:
        raise NotFound("保单不存在", code="policy_not_found", message_en="Unknown policy")
    insured = await _insured(session, policy.insured_type, policy.insured_id)
    if not _may_manage(user, policy.insured_type, insured):
        raise _outside()
    if policy.status != PolicyStatus.active:
        raise Conflict("保单已注销", code="policy_cancelled", message_en="The policy is already cancelled")
    policy.status, policy.cancelled_at, policy.cancel_reason = PolicyStatus.cancelled.value, utcnow(), reason
    await session.flush()
    await _tell(session, policy, "insurance.policy", {"status": policy.status})
    return policy


async def list_policies(
    *,
    session: AsyncSession,
    user: User,
    insured_type: InsuredType | None,
    insured_id: int | None,
    scheme: Scheme | None,
    valid_on_day: date | None,
    page: Page,
) -> list[tuple[InsurancePolicy, str]]:
    """Policies by insured party, scheme and validity; a party's are for those who may see them, all for city staff."""
    query = select(InsurancePolicy)
    if insured_id is not None:
        if insured_type is None:
            raise Invalid(
                "按被保险人查询须同时给出 insured_type", code="insured_type_needed", message_en="Give insured_type"
            )
        insured = await _insured(session, insured_type, insured_id)
        if not await _may_see(session, user, insured_type, insured):
            raise _outside()
        query = query.where(col(InsurancePolicy.insured_id) == insured_id)
    elif user.role == Role.provider_admin and user.provider_id is not None:
        query = query.where(provider_owned(user.provider_id))
    elif user.role not in CITYWIDE:
        raise _outside()
    if insured_type is not None:
        query = query.where(col(InsurancePolicy.insured_type) == insured_type.value)
    if scheme is not None:
        query = query.where(col(InsurancePolicy.scheme) == scheme.value)
    if valid_on_day is not None:
        query = query.where(*valid_on(valid_on_day))
    rows = await page.scalars(session, query.order_by(col(InsurancePolicy.ends_on).desc(), col(InsurancePolicy.id)))
    names = await insured_names(session, rows)
    return [(p, names[(p.insured_type, p.insured_id)]) for p in rows]


async def insured_names(session: AsyncSession, policies: list[InsurancePolicy]) -> dict[tuple[str, int], str]:
    """The insured parties' names, one query per kind of party (not one per policy)."""
    names: dict[tuple[str, int], str] = {(p.insured_type, p.insured_id): "" for p in policies}
    for kind, model in INSURED_MODELS.items():
        ids = [i for t, i in names if t == kind]
        if ids:
            rows = await session.execute(select(model.id, model.name).where(col(model.id).in_(ids)))
            names.update({(kind, i): name for i, name in rows.all()})
    return names


async def insured_name(session: AsyncSession, policy: InsurancePolicy) -> str:
    insured = await session.get(INSURED_MODELS[policy.insured_type], policy.insured_id)
    return insured.name if insured is not None else ""


async def _channels(session: AsyncSession, policy: InsurancePolicy) -> list[str]:
    """Who hears of a policy: the insured's provider and the areas it serves, or the elder and their area."""
    if policy.insured_type == InsuredType.provider:
        districts = await session.execute(
            select(Community.district_id)
            .join(ProviderCommunity, col(ProviderCommunity.community_id) == col(Community.id))
            .where(col(ProviderCommunity.provider_id) == policy.insured_id)
            .distinct()
        )
        return [f"provider:{policy.insured_id}", *(f"district:{d}" for d in districts.scalars())]
    if policy.insured_type == InsuredType.institution:
        institution = await session.get(Institution, policy.insured_id)
        assert institution is not None
        channels = await area_channels(session, institution.community_id)
        return channels + ([f"provider:{institution.provider_id}"] if institution.provider_id else [])
    elder = await session.get(Elder, policy.insured_id)
    assert elder is not None
    return [f"elder:{elder.id}", *await area_channels(session, elder.community_id)]


async def _tell(session: AsyncSession, policy: InsurancePolicy, event: str, extra: dict[str, Any]) -> None:
    data = {
        "policy_id": policy.id,
        "scheme": policy.scheme,
        "insured_type": policy.insured_type,
        "insured_id": policy.insured_id,
        "insurer": policy.insurer,
        "number": policy.number,
        "starts_on": policy.starts_on.isoformat(),
        "ends_on": policy.ends_on.isoformat(),
        **extra,
    }
    emit(session, event, await _channels(session, policy), data)


async def remind_expiring(*, session: AsyncSession, today: date | None = None) -> int:
    """Remind the insured and the bureau of every active policy ending within 30 and 7 days, once each.

    A policy already renewed (a later one takes over the next day) needs no reminder. A policy first
    seen 5 days before its end gets one reminder (the 7-day one; the 30-day one is recorded as passed).
    Returns the reminders sent; running it again the same day sends none.
    """
    today = today or local_today()
    due = await session.execute(
        select(InsurancePolicy)
        .where(
            col(InsurancePolicy.status) == PolicyStatus.active.value,
            col(InsurancePolicy.ends_on) >= today,
            col(InsurancePolicy.ends_on) <= today + timedelta(days=max(REMINDER_DAYS)),
        )
        .order_by(col(InsurancePolicy.id))
        .with_for_update(skip_locked=True)
    )
    policies = list(due.scalars())
    sent_rows = await session.execute(
        select(PolicyReminder.policy_id, PolicyReminder.days_ahead).where(
            col(PolicyReminder.policy_id).in_([p.id for p in policies])
        )
    )
    sent = {(policy_id, days) for policy_id, days in sent_rows.all()}
    made = 0
    for policy in policies:
        assert policy.id is not None
        days_left = (policy.ends_on - today).days
        leads = [d for d in REMINDER_DAYS if days_left <= d and (policy.id, d) not in sent]
        if not leads or await cover_on(
            session, Scheme(policy.scheme), policy.insured_id, policy.ends_on + timedelta(1)
        ):
            continue  # reminded already, or renewed: another policy covers the day after this one ends
        session.add_all(PolicyReminder(policy_id=policy.id, days_ahead=d, ends_on=policy.ends_on) for d in leads)
        await _tell(session, policy, "insurance.expiring", {"days_ahead": min(leads), "days_left": days_left})
        made += 1
    await session.flush()
    return made


async def reminders(
    *, session: AsyncSession, user: User, since: date | None, page: Page
) -> list[tuple[PolicyReminder, InsurancePolicy, str]]:
    """Reminders of policies the user manages (all for city staff), newest first."""
    query = select(PolicyReminder, InsurancePolicy).join(
        InsurancePolicy, col(InsurancePolicy.id) == col(PolicyReminder.policy_id)
    )
    if user.role == Role.provider_admin and user.provider_id is not None:
        query = query.where(provider_owned(user.provider_id))
    elif user.role not in CITYWIDE:
        raise _outside()
    if since is not None:
        query = query.where(col(PolicyReminder.ends_on) >= since)
    found = await page.rows(
        session, query.order_by(col(PolicyReminder.created_at).desc(), col(PolicyReminder.id).desc())
    )
    names = await insured_names(session, [p for _r, p in found])
    return [(r, p, names[(p.insured_type, p.insured_id)]) for r, p in found]


def _rate(total: int, covered: int) -> Rate:
    return Rate(total=total, covered=covered, rate=round(covered / total, 4) if total else None)


async def statistics(
    *, session: AsyncSession, user: User, street_id: int | None, district_id: int | None, day: date
) -> CoverStatistics:
    """Cover rates of providers, institutions and entitled elders, and claims by scheme and outcome."""
    area, where = await area_condition(session, user, None, street_id, district_id)
    in_area = select(Community.id).where(*where)
    serving = select(ProviderCommunity.provider_id).where(col(ProviderCommunity.community_id).in_(in_area))
    providers = select(Provider.id).where(
        col(Provider.active).is_(True), col(Provider.kind) == "home_care", col(Provider.id).in_(serving)
    )
    institutions = select(Institution.id).where(col(Institution.community_id).in_(in_area))
    cutoff = await session.scalar(
        select(func.min(col(BenefitCategory.min_age))).where(
            col(BenefitCategory.active).is_(True), col(BenefitCategory.min_age).is_not(None)
        )
    )
    recorded = select(ElderBenefit.elder_id).where(
        col(ElderBenefit.valid_from) <= day, col(ElderBenefit.valid_to).is_(None) | (col(ElderBenefit.valid_to) >= day)
    )
    entitled: ColumnElement[bool] = col(Elder.id).in_(recorded)
    if cutoff is not None:  # born on or before this day of the year ``cutoff`` years ago
        born_by = _years_before(day, cutoff)
        entitled = entitled | (col(Elder.birth_date) <= born_by)
    elders = select(Elder.id).where(col(Elder.community_id).in_(in_area), entitled)

    async def rate(ids: Any, scheme: Scheme) -> Rate:
        total = await session.scalar(select(func.count()).select_from(ids.subquery()))
        covered = await session.scalar(
            select(func.count()).select_from(
                ids.where(col(ids.selected_columns[0]).in_(insured_on(scheme, day))).subquery()
            )
        )
        return _rate(int(total or 0), int(covered or 0))

    claims = await session.execute(
        sa_select(
            col(Claim.scheme),
            col(Claim.status),
            func.count(col(Claim.id)),
            func.coalesce(func.sum(col(Claim.approved_fen)), 0),
            func.coalesce(func.sum(col(Claim.paid_fen)), 0),
        )
        .join(Incident, col(Incident.id) == col(Claim.incident_id))
        .join(Elder, col(Elder.id) == col(Incident.elder_id))
        .where(col(Elder.community_id).in_(in_area))
        .group_by(col(Claim.scheme), col(Claim.status))
        .order_by(col(Claim.scheme), col(Claim.status))
    )
    return CoverStatistics(
        area=area,
        day=day,
        providers=await rate(providers, Scheme.home_care_liability),
        institutions=await rate(institutions, Scheme.institution_liability),
        elders=await rate(elders, Scheme.elder_accident),
        claims=[
            ClaimCount(scheme=s, status=st, count=n, approved_fen=int(a or 0), paid_fen=int(p or 0))
            for s, st, n, a, p in claims.all()
        ],
    )


def _years_before(day: date, years: int) -> date:
    """The same day ``years`` years earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
