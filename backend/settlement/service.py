"""Monthly settlement: a provider's verified visits, what the government and elders pay, and what is left out.

Lines are computed from the database each run; a run that finds the same lines as the month's latest
revision changes nothing. A run that finds different ones makes a new draft revision (the earlier
ones, unless paid, become ``superseded``) and reports the difference line by line.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.models import Community, District
from backend.benefits.models import ProviderRate
from backend.benefits.service import applying, month_days
from backend.core.db import local_midnight, utcnow
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.i18n import LOCAL_TZ
from backend.core.lookups import referenced
from backend.core.spreadsheets import write_rows
from backend.registry.models import Caregiver, Elder, Provider, ServiceType
from backend.requests.models import Payer, ServiceRequest, Status, Visit
from backend.settlement.models import (
    Exclusion,
    LineKind,
    Settlement,
    SettlementLine,
    SettlementStatus,
    SubsidyBudget,
)
from backend.settlement.schemas import (
    BudgetSet,
    Difference,
    DistrictSubsidy,
    LineChange,
    LinePublic,
    SettlementPublic,
    Subtotal,
)
from backend.users.models import Role, User
from backend.users.scope import CITYWIDE, area_condition

SETTLED = (Status.completed.value, Status.closed.value)
# What a line is compared by between runs (its identity is the order).
COMPARED = ("kind", "reason", "paid_by", "category", "amount_yuan", "service_type", "day", "checkin_at", "checkout_at")
NEXT = {
    SettlementStatus.draft: SettlementStatus.confirmed,
    SettlementStatus.confirmed: SettlementStatus.approved,
    SettlementStatus.approved: SettlementStatus.paid,
}


def _may_read(user: User, provider_id: int) -> None:
    if user.role in CITYWIDE or (user.role == Role.provider_admin and user.provider_id == provider_id):
        return
    raise Forbidden("无权查看该服务组织的结算", code="out_of_scope", message_en="Not your provider's settlement")


async def compute_lines(session: AsyncSession, provider_id: int, month: str) -> list[SettlementLine]:
    """Every order of the month that the provider's caregivers took: included with its amount, or excluded."""
    first, last = month_days(month)
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    when = func.coalesce(col(Visit.checkin_at), col(ServiceRequest.window_start), col(ServiceRequest.created_at))
    rows = await session.execute(
        select(ServiceRequest, Visit, Elder, Community.district_id)
        .join(Caregiver, col(Caregiver.id) == col(ServiceRequest.assigned_caregiver_id))
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .join(Community, col(Community.id) == col(Elder.community_id))
        .outerjoin(Visit, col(Visit.request_id) == col(ServiceRequest.id))
        .where(
            col(Caregiver.provider_id) == provider_id,
            col(ServiceRequest.status).in_([*SETTLED, Status.cancelled.value]),
            when >= start,
            when < end,
        )
        .order_by(col(ServiceRequest.id))
    )
    prices = dict((await session.execute(select(ServiceType.code, ServiceType.government_price_yuan))).all())
    rates = dict(
        (
            await session.execute(
                select(ProviderRate.service_type, ProviderRate.price_yuan).where(
                    col(ProviderRate.provider_id) == provider_id
                )
            )
        ).all()
    )
    top: dict[int, str | None] = {}
    lines = []
    for request, visit, elder, district_id in rows.all():
        assert request.id is not None and elder.id is not None and request.assigned_caregiver_id is not None
        line = SettlementLine(
            settlement_id=0,
            request_id=request.id,
            elder_id=elder.id,
            caregiver_id=request.assigned_caregiver_id,
            district_id=district_id,
            day=(visit.checkin_at if visit else request.window_start or request.created_at).astimezone(LOCAL_TZ).date(),
            service_type=request.service_type,
            kind=LineKind.excluded.value,
            paid_by=request.paid_by,
            checkin_at=visit.checkin_at if visit else None,
            checkout_at=visit.checkout_at if visit else None,
        )
        if request.status == Status.cancelled:
            line.reason = Exclusion.cancelled.value
        elif visit is None or visit.checkout_at is None:
            line.reason = Exclusion.no_proof.value
        elif visit.location_flagged:
            line.reason = Exclusion.gps_flagged.value
        else:
            line.kind = LineKind.included.value
            if request.paid_by == Payer.government:
                line.amount_yuan = prices.get(request.service_type, 0)
                if elder.id not in top:
                    found = await applying(session, elder, month)
                    top[elder.id] = found[0].code if found else None
                line.category = top[elder.id]
            else:
                line.amount_yuan = rates.get(request.service_type, 0)
        lines.append(line)
    return lines


def _key(line: SettlementLine) -> tuple[object, ...]:
    values = []
    for name in COMPARED:
        value = getattr(line, name)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return tuple(values)


def line_public(line: SettlementLine) -> LinePublic:
    return LinePublic.model_validate(line, from_attributes=True)


def difference(previous: Settlement | None, old: list[SettlementLine], new: list[SettlementLine]) -> Difference:
    before = {line.request_id: line for line in old}
    after = {line.request_id: line for line in new}
    diff = Difference(previous_id=previous.id if previous else None)
    for rid in sorted(set(before) | set(after)):
        was, now = before.get(rid), after.get(rid)
        change = LineChange(
            request_id=rid, before=line_public(was) if was else None, after=line_public(now) if now else None
        )
        if was is None:
            diff.added.append(change)
        elif now is None:
            diff.removed.append(change)
        elif _key(was) != _key(now):
            diff.changed.append(change)

    def total(lines: list[SettlementLine], payer: Payer) -> int:
        return sum(x.amount_yuan for x in lines if x.kind == LineKind.included and x.paid_by == payer)

    diff.government_yuan_delta = total(new, Payer.government) - total(old, Payer.government)
    diff.self_yuan_delta = total(new, Payer.self_paid) - total(old, Payer.self_paid)
    return diff


async def _latest(session: AsyncSession, provider_id: int, month: str, *, lock: bool = False) -> Settlement | None:
    query = (
        select(Settlement)
        .where(col(Settlement.provider_id) == provider_id, col(Settlement.month) == month)
        .order_by(col(Settlement.revision).desc())
        .limit(1)
    )
    return (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


async def lines_of(session: AsyncSession, settlement_id: int) -> list[SettlementLine]:
    rows = await session.execute(
        select(SettlementLine)
        .where(col(SettlementLine.settlement_id) == settlement_id)
        .order_by(col(SettlementLine.request_id))
    )
    return list(rows.scalars())


async def run(
    *, session: AsyncSession, user: User | None, provider_id: int, month: str
) -> tuple[Settlement, bool, Difference]:
    """Compute the month's statement; a new draft revision only when a line changed (idempotent)."""
    if user is not None:
        _may_read(user, provider_id)
    if await session.get(Provider, provider_id, with_for_update=True) is None:  # one run per provider at a time
        raise NotFound("服务组织不存在", code="provider_not_found", message_en="Unknown provider")
    latest = await _latest(session, provider_id, month, lock=True)
    old = await lines_of(session, latest.id) if latest and latest.id else []
    new = await compute_lines(session, provider_id, month)
    diff = difference(latest, old, new)
    if latest is not None and not (diff.added or diff.removed or diff.changed):
        return latest, False, diff
    settlement = Settlement(
        provider_id=provider_id,
        month=month,
        revision=(latest.revision + 1) if latest else 1,
        created_by=f"{user.role}:{user.id}" if user else "system:settlement",
        included=sum(1 for x in new if x.kind == LineKind.included),
        excluded=sum(1 for x in new if x.kind == LineKind.excluded),
        government_yuan=sum(
            x.amount_yuan for x in new if x.kind == LineKind.included and x.paid_by == Payer.government
        ),
        self_yuan=sum(x.amount_yuan for x in new if x.kind == LineKind.included and x.paid_by == Payer.self_paid),
    )
    session.add(settlement)
    if latest is not None and latest.status != SettlementStatus.paid:
        latest.status = SettlementStatus.superseded.value
    await session.flush()
    for line in new:
        line.settlement_id = settlement.id  # type: ignore[assignment]
    session.add_all(new)
    await session.flush()
    return settlement, True, diff


async def get(*, session: AsyncSession, user: User, settlement_id: int) -> Settlement:
    settlement = await session.get(Settlement, settlement_id)
    if settlement is None:
        raise NotFound("结算单不存在", code="settlement_not_found", message_en="Unknown settlement")
    _may_read(user, settlement.provider_id)
    return settlement


async def advance(*, session: AsyncSession, user: User, settlement_id: int, to: SettlementStatus) -> Settlement:
    """draft → confirmed (the provider's admin) → approved (the bureau) → paid (the bureau)."""
    settlement = (
        await session.execute(select(Settlement).where(col(Settlement.id) == settlement_id).with_for_update())
    ).scalar_one_or_none()
    if settlement is None:
        raise NotFound("结算单不存在", code="settlement_not_found", message_en="Unknown settlement")
    _may_read(user, settlement.provider_id)
    if NEXT.get(SettlementStatus(settlement.status)) != to:
        raise Conflict(
            f"结算单状态为 {settlement.status}，不能变为 {to.value}",
            code="illegal_transition",
            message_en=f"A {settlement.status} settlement cannot become {to.value}",
        )
    provider_side = to == SettlementStatus.confirmed
    allowed = (
        (user.role == Role.provider_admin and user.provider_id == settlement.provider_id) or user.role == Role.admin
        if provider_side
        else user.role == Role.admin
    )
    if not allowed:
        who = "服务组织" if provider_side else "民政局（管理员）"
        raise Forbidden(f"只有{who}可以执行此步骤", code="role_forbidden", message_en="Not your step")
    now, by = utcnow(), f"{user.role}:{user.id}"
    settlement.status = to.value
    if to == SettlementStatus.confirmed:
        settlement.confirmed_at, settlement.confirmed_by = now, by
    elif to == SettlementStatus.approved:
        settlement.approved_at, settlement.approved_by = now, by
    else:
        settlement.paid_at, settlement.paid_by = now, by
    await session.flush()
    return settlement


async def public(session: AsyncSession, settlement: Settlement) -> SettlementPublic:
    """The statement with its subtotals per quota category and per district."""
    lines = await lines_of(session, settlement.id)  # type: ignore[arg-type]
    categories: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    districts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        if line.kind != LineKind.included:
            continue
        key = (line.category or "uncategorised") if line.paid_by == Payer.government else "self"
        for table, k in ((categories, key), (districts, str(line.district_id))):
            table[k][0] += 1
            table[k][1] += line.amount_yuan
    provider = await session.get(Provider, settlement.provider_id)
    return SettlementPublic.model_validate(
        {
            **settlement.model_dump(),
            "provider_name": provider.name if provider else "",
            "by_category": [Subtotal(key=k, orders=n, yuan=y) for k, (n, y) in sorted(categories.items())],
            "by_district": [Subtotal(key=k, orders=n, yuan=y) for k, (n, y) in sorted(districts.items())],
        }
    )


async def listing(
    *, session: AsyncSession, user: User, provider_id: int | None, month: str | None, limit: int
) -> list[Settlement]:
    """Statements, newest first: one provider's (its admin), or any (the bureau)."""
    query = select(Settlement)
    if user.role == Role.provider_admin:
        provider_id = provider_id or user.provider_id
    if provider_id is None:
        if user.role not in CITYWIDE:
            raise Forbidden("无权查看结算", code="out_of_scope", message_en="Not allowed")
    else:
        _may_read(user, provider_id)
        query = query.where(col(Settlement.provider_id) == provider_id)
    if month is not None:
        query = query.where(col(Settlement.month) == month)
    rows = await session.execute(query.order_by(col(Settlement.id).desc()).limit(limit))
    return list(rows.scalars())


HEADERS = (
    ("request_id", "工单号"),
    ("day", "服务日期"),
    ("service_type", "服务项目"),
    ("elder_id", "老人编号"),
    ("caregiver_id", "护理员编号"),
    ("district_id", "区编号"),
    ("paid_by", "付费方"),
    ("category", "保障类别"),
    ("kind", "结算"),
    ("reason", "排除原因"),
    ("amount_yuan", "金额（元）"),
    ("checkin_at", "签到时间"),
    ("checkout_at", "签退时间"),
)


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else value


def _table(settlement: Settlement, lines: list[SettlementLine]) -> list[list[object]]:
    """The statement's headers, lines and totals, as spreadsheet rows."""
    return [
        [zh for _, zh in HEADERS],
        *([_cell(getattr(line, name)) for name, _ in HEADERS] for line in lines),
        [],
        ["政府支付合计", settlement.government_yuan, "自费合计", settlement.self_yuan],
    ]


def export_csv(settlement: Settlement, lines: list[SettlementLine]) -> bytes:
    """The statement's lines as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese headers)."""
    return write_rows(_table(settlement, lines), "csv", "")[0]


def export_xlsx(settlement: Settlement, provider_name: str, lines: list[SettlementLine]) -> bytes:
    """The statement as a workbook, under a title naming the provider, month, revision and state."""
    title = f"{provider_name} {settlement.month} 月度结算（第 {settlement.revision} 版，{settlement.status}）"
    return write_rows([[title], *_table(settlement, lines)], "xlsx", f"{settlement.month} 结算")[0]


async def active_providers(session: AsyncSession) -> list[int]:
    rows = await session.execute(select(Provider.id).where(col(Provider.active).is_(True)).order_by(col(Provider.id)))
    return [int(i) for i in rows.scalars()]


async def set_budget(*, session: AsyncSession, user: User, data: BudgetSet) -> SubsidyBudget:
    """A district's monthly budget for buying orders (admins); set again to change it."""
    if user.role != Role.admin:
        raise Forbidden("仅管理员可设置预算", code="role_forbidden", message_en="Admins only")
    await referenced(session, District, data.district_id, what="区", what_en="district")
    budget = await session.get(SubsidyBudget, (data.district_id, data.month))
    if budget is None:
        budget = SubsidyBudget(**data.model_dump())
        session.add(budget)
    else:
        budget.budget_yuan = data.budget_yuan
    await session.flush()
    return budget


async def subsidy(*, session: AsyncSession, user: User, month: str, district_id: int | None) -> list[DistrictSubsidy]:
    """Per district: government-paid amounts of the month's latest statements, against the budget."""
    _area, where = await area_condition(session, user, None, None, district_id)
    latest = (
        select(Settlement.provider_id, func.max(col(Settlement.revision)).label("revision"))
        .where(col(Settlement.month) == month)
        .group_by(col(Settlement.provider_id))
        .subquery()
    )
    current = (
        select(Settlement.id)
        .join(
            latest,
            (col(Settlement.provider_id) == latest.c.provider_id) & (col(Settlement.revision) == latest.c.revision),
        )
        .where(col(Settlement.month) == month)
    )
    spent = dict(
        (district, (int(n), int(y or 0)))
        for district, n, y in (
            await session.execute(
                sa_select(
                    col(SettlementLine.district_id),
                    func.count(col(SettlementLine.id)),
                    func.sum(col(SettlementLine.amount_yuan)),
                )
                .where(
                    col(SettlementLine.settlement_id).in_(current),
                    col(SettlementLine.kind) == LineKind.included.value,
                    col(SettlementLine.paid_by) == Payer.government.value,
                )
                .group_by(col(SettlementLine.district_id))
            )
        ).all()
    )
    districts = select(District).where(col(District.id).in_(select(Community.district_id).where(*where)))
    budgets = {
        b.district_id: b.budget_yuan
        for b in (await session.execute(select(SubsidyBudget).where(col(SubsidyBudget.month) == month))).scalars()
    }
    out = []
    for district in (await session.execute(districts.order_by(col(District.code)))).scalars():
        assert district.id is not None
        orders, yuan = spent.get(district.id, (0, 0))
        budget = budgets.get(district.id)
        out.append(
            DistrictSubsidy(
                district_id=district.id,
                district_name=district.name,
                month=month,
                spent_yuan=yuan,
                orders=orders,
                budget_yuan=budget,
                share=round(yuan / budget, 4) if budget else None,
            )
        )
    return out
