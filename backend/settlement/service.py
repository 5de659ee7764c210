"""Monthly settlement: a provider's verified visits, what the government and elders pay, and what is left out.

Lines are computed from the database each run; a run that finds the same lines as the month's latest
revision changes nothing. A run that finds different ones makes a new draft revision (the earlier
ones, unless paid, become ``superseded``) and reports the difference line by line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import case, func
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import CITYWIDE, area_condition
from backend.areas.models import Community, District
from backend.benefits.models import BenefitCategory
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.i18n import LOCAL_TZ
from backend.core.lookups import referenced
from backend.core.money import yuan_cell
from backend.core.offload import compute, preload
from backend.core.paging import Page
from backend.core.reads import replayed
from backend.core.spreadsheets import write_rows
from backend.orders.models import Payer
from backend.registry.models import Caregiver, Elder, Provider, ServiceType
from backend.settlement.lines import WRITE_PARTITION, compare, read_month, rows_of, total
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
    SettlementPublic,
    Subtotal,
)
from backend.users.models import Role, User

preload(__name__)  # compute() runs this module's functions in the API's pool of processes

NEXT = {
    SettlementStatus.draft: SettlementStatus.confirmed,
    SettlementStatus.confirmed: SettlementStatus.approved,
    SettlementStatus.approved: SettlementStatus.paid,
}


def _may_read(user: User, provider_id: int) -> None:
    if user.role in CITYWIDE or (user.role == Role.provider_admin and user.provider_id == provider_id):
        return
    raise Forbidden("无权查看该服务组织的结算", code="out_of_scope", message_en="Not your provider's settlement")


async def _latest(session: AsyncSession, provider_id: int, month: str, *, lock: bool = False) -> Settlement | None:
    query = (
        select(Settlement)
        .where(col(Settlement.provider_id) == provider_id, col(Settlement.month) == month)
        .order_by(col(Settlement.revision).desc())
        .limit(1)
    )
    return (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


async def lines_session(*, session: AsyncSession, reads: AsyncSession, settlement: Settlement) -> AsyncSession:
    """Where a statement's lines are read: off the primary once the replica has the statement (its lines were
    written with it and never change), else on the primary (a statement run a moment ago)."""
    assert settlement.id is not None
    return reads if await replayed(reads, Settlement, settlement.id) else session


async def lines_of(session: AsyncSession, settlement_id: int, page: Page | None = None) -> list[Any]:
    """A statement's lines (or a page of them) as rows of their columns, read in partitions (a month is tens of
    thousands of lines)."""
    query = (
        sa_select(*SettlementLine.__table__.columns)  # type: ignore[attr-defined]
        .where(col(SettlementLine.settlement_id) == settlement_id)
        .order_by(col(SettlementLine.request_id))
    )
    if page is not None:
        await page.count(session, query)
        query = page.window(query, col(SettlementLine.id))
    return await rows_of(session, query)


async def run(
    *, session: AsyncSession, settings: Settings, user: User | None, provider_id: int, month: str
) -> tuple[Settlement, bool, Difference]:
    """Compute the month's statement; a new draft revision only when a line changed (idempotent)."""
    if user is not None:
        _may_read(user, provider_id)
    if await session.get(Provider, provider_id, with_for_update=True) is None:  # one run per provider at a time
        raise NotFound("服务组织不存在", code="provider_not_found", message_en="Unknown provider")
    latest = await _latest(session, provider_id, month, lock=True)
    old = await lines_of(session, latest.id) if latest and latest.id else []
    read = await read_month(session, provider_id, month, settings.holiday_premium_percent)
    # Building tens of thousands of lines and comparing them is plain Python: off the event loop.
    new, diff = await anyio.to_thread.run_sync(
        compare, read, settings.min_visit_share, latest.id if latest else None, old
    )
    if latest is not None and not (diff.added or diff.removed or diff.changed):
        return latest, False, diff
    settlement = Settlement(
        provider_id=provider_id,
        month=month,
        revision=(latest.revision + 1) if latest else 1,
        created_by=user.actor if user else "system:settlement",
        included=sum(1 for x in new if x.kind == LineKind.included),
        excluded=sum(1 for x in new if x.kind == LineKind.excluded),
        government_fen=total(new, Payer.government),
        self_fen=total(new, Payer.self_paid),
        emergency_fen=total(new, Payer.emergency),
    )
    session.add(settlement)
    if latest is not None and latest.status != SettlementStatus.paid:
        latest.status = SettlementStatus.superseded.value
    await session.flush()
    # Written a few hundred at a time: binding a statement's parameters is the event loop's own work (2,000 rows
    # took it 90 ms), so each insert stays short and the loop serves others in between.
    for start in range(0, len(new), WRITE_PARTITION):
        part = new[start : start + WRITE_PARTITION]
        await session.execute(sa_insert(SettlementLine), [{**vars(x), "settlement_id": settlement.id} for x in part])
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
    provider_side = to == SettlementStatus.confirmed
    allowed = (
        (user.role == Role.provider_admin and user.provider_id == settlement.provider_id) or user.role == Role.admin
        if provider_side
        else user.role == Role.admin
    )
    if not allowed:  # before the state: a refusal says nothing about where the statement stands
        who = "服务组织" if provider_side else "民政局（管理员）"
        raise Forbidden(f"只有{who}可以执行此步骤", code="role_forbidden", message_en="Not your step")
    if NEXT.get(SettlementStatus(settlement.status)) != to:
        raise Conflict(
            f"结算单状态为 {settlement.status}，不能变为 {to.value}",
            code="illegal_transition",
            message_en=f"A {settlement.status} settlement cannot become {to.value}",
        )
    now, by = utcnow(), user.actor
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
    """The statement with its subtotals per quota category and per district (counted by the database)."""
    return (await publics(session, [settlement]))[0]


async def publics(session: AsyncSession, settlements: Sequence[Settlement]) -> list[SettlementPublic]:
    """Statements with their subtotals per quota category and per district: three queries however many there are
    (the subtotals of every statement grouped at once, then the providers' names)."""
    if not settlements:
        return []
    ids = [s.id for s in settlements]
    key = case(
        (
            col(SettlementLine.paid_by) == Payer.government.value,
            func.coalesce(col(SettlementLine.category), "uncategorised"),
        ),
        (col(SettlementLine.paid_by) == Payer.emergency.value, "emergency"),
        else_="self",
    )
    subtotals: dict[int, dict[str, list[Subtotal]]] = defaultdict(lambda: {"by_category": [], "by_district": []})
    for name, grouped in (("by_category", key), ("by_district", col(SettlementLine.district_id))):
        rows = await session.execute(
            sa_select(
                col(SettlementLine.settlement_id), grouped, func.count(), func.sum(col(SettlementLine.amount_fen))
            )
            .where(col(SettlementLine.settlement_id).in_(ids), col(SettlementLine.kind) == LineKind.included)
            .group_by(col(SettlementLine.settlement_id), grouped)
        )
        for settlement_id, k, n, fen in rows.all():
            subtotals[settlement_id][name].append(Subtotal(key=str(k), orders=n, fen=int(fen or 0)))
    providers = select(Provider.id, Provider.name).where(col(Provider.id).in_({s.provider_id for s in settlements}))
    names: dict[int | None, str] = {provider_id: name for provider_id, name in (await session.execute(providers)).all()}
    out = []
    for settlement in settlements:
        assert settlement.id is not None
        sums = {name: sorted(found, key=lambda s: s.key) for name, found in subtotals[settlement.id].items()}
        out.append(
            SettlementPublic.model_validate(
                {**settlement.model_dump(), "provider_name": names.get(settlement.provider_id, ""), **sums}
            )
        )
    return out


async def listing(
    *, session: AsyncSession, user: User, provider_id: int | None, month: str | None, page: Page
) -> list[Settlement]:
    """A page of statements, newest first: one provider's (its admin), or any (the bureau)."""
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
    return await page.scalars(session, query.order_by(col(Settlement.id).desc()))


# The statement's columns as a bureau clerk reads them: names and words, not ids and codes (the order number stays:
# it is what a disputed line is looked up by).
EXPORT: tuple[tuple[str, Any], ...] = (
    ("工单号", SettlementLine.request_id),
    ("服务日期", SettlementLine.day),
    ("服务项目", ServiceType.name_zh),
    ("老人", Elder.name),
    ("护理员", Caregiver.name),
    ("区县", District.name),
    ("付费方", SettlementLine.paid_by),
    ("保障类别", BenefitCategory.name_zh),
    ("结算", SettlementLine.kind),
    ("排除原因", SettlementLine.reason),
    ("金额（元）", SettlementLine.amount_fen),  # written as yuan, the holiday premium included
    ("法定节假日", SettlementLine.holiday),
    ("节假日加价（元）", SettlementLine.premium_fen),
    ("签到时间", SettlementLine.checkin_at),
    ("签退时间", SettlementLine.checkout_at),
    ("上门凭证", SettlementLine.proof),
)
WORDS: dict[str, dict[str, str]] = {
    "付费方": {Payer.government: "政府购买服务", Payer.self_paid: "自费", Payer.emergency: "一键通紧急救助"},
    "结算": {LineKind.included: "计入", LineKind.excluded: "不计入"},
    "排除原因": {
        Exclusion.no_proof: "无签到签退",
        Exclusion.gps_flagged: "签到位置偏离老人住址",
        Exclusion.too_short: "服务时长过短",
        Exclusion.cancelled: "工单已取消",
        Exclusion.missing_proof: "缺少该服务要求的上门凭证",
    },
}


def _cell(header: str, value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
    if header.endswith("（元）") and isinstance(value, int):
        return yuan_cell(value)  # yuan, a number the sheet shows with two decimals
    if header in WORDS and isinstance(value, str):
        return WORDS[header].get(value, value)
    return "" if value is None else value


async def export(session: AsyncSession, settlement: Settlement, format: str) -> tuple[bytes, list[int]]:
    """The statement as a spreadsheet (CSV in UTF-8 with BOM, so spreadsheet programs read the Chinese headers;
    or XLSX under a title naming the provider, month, revision and state), and the elders it names.

    Tens of thousands of lines: read as plain columns, and the file written in the offload pool (openpyxl is
    pure Python; in a thread it would still hold the event loop's lock for a second)."""
    read = (
        sa_select(*(column for _, column in EXPORT), col(SettlementLine.elder_id))
        .join(Elder, col(Elder.id) == col(SettlementLine.elder_id), isouter=True)
        .join(Caregiver, col(Caregiver.id) == col(SettlementLine.caregiver_id), isouter=True)
        .join(District, col(District.id) == col(SettlementLine.district_id), isouter=True)
        .join(ServiceType, col(ServiceType.code) == col(SettlementLine.service_type), isouter=True)
        .join(BenefitCategory, col(BenefitCategory.code) == col(SettlementLine.category), isouter=True)
        .where(col(SettlementLine.settlement_id) == settlement.id)
        .order_by(col(SettlementLine.request_id))
    )
    read_rows = [tuple(row) for row in await rows_of(session, read)]
    rows, elders = [row[:-1] for row in read_rows], [int(row[-1]) for row in read_rows]
    totals = [
        "政府支付合计（元）",
        yuan_cell(settlement.government_fen),
        "自费合计（元）",
        yuan_cell(settlement.self_fen),
    ]
    totals += ["一键通紧急救助合计（元）", yuan_cell(settlement.emergency_fen)]
    if format == "csv":
        title, sheet = None, ""
    else:
        provider = (await public(session, settlement)).provider_name
        title = f"{provider} {settlement.month} 月度结算（第 {settlement.revision} 版，{settlement.status}）"
        sheet = f"{settlement.month} 结算"
    data = await compute(_write_export, rows, totals, format, title, sheet)
    return data, elders


def _write_export(
    rows: list[tuple[Any, ...]], totals: list[object], format: str, title: str | None, sheet: str
) -> bytes:
    table: list[list[object]] = [] if title is None else [[title]]
    table.append([header for header, _ in EXPORT])
    table.extend([_cell(header, value) for (header, _), value in zip(EXPORT, row, strict=True)] for row in rows)
    table += [[], totals]
    return write_rows(table, format, sheet)[0]


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
        budget = SubsidyBudget(district_id=data.district_id, month=data.month, budget_fen=data.budget_fen)
        session.add(budget)
    else:
        budget.budget_fen = data.budget_fen
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
                    func.sum(col(SettlementLine.amount_fen)),
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
        b.district_id: b.budget_fen
        for b in (await session.execute(select(SubsidyBudget).where(col(SubsidyBudget.month) == month))).scalars()
    }
    out = []
    for district in (await session.execute(districts.order_by(col(District.code)))).scalars():
        assert district.id is not None
        orders, fen = spent.get(district.id, (0, 0))
        budget = budgets.get(district.id)
        out.append(
            DistrictSubsidy(
                district_id=district.id,
                district_name=district.name,
                month=month,
                spent_fen=fen,
                orders=orders,
                budget_fen=budget,
                share=round(fen / budget, 4) if budget else None,
            )
        )
    return out
