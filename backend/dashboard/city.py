"""The bureau's city table: each district's and the city's 30 days of orders, beds, insurance cover and subsidy.

The orders are counted by PostgreSQL in one pass over ``order_figure`` (``GROUPING SETS``: each district and the
city); the embedded SQLite's few orders are counted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import area_condition
from backend.areas.models import Community, District
from backend.capacity.figures import area_capacity
from backend.core.db import local_midnight, local_today
from backend.core.i18n import LOCAL_TZ
from backend.core.money import Fen, yuan_cell
from backend.dashboard.figures import (
    ANALYTIC,
    Counted,
    aware,
    count_rows,
    counted_columns,
    kept_by_triggers,
    order_rows,
)
from backend.dashboard.models import OrderFigure
from backend.dashboard.schemas import City, DistrictRow
from backend.insurance.service import statistics as cover_statistics
from backend.settlement.service import subsidy
from backend.users.models import User


@dataclass
class _Month:
    """An area's orders over the table's 30 days, and how many of them were made today."""

    counted: Counted = field(default_factory=Counted)
    today: int = 0


async def _months(session: AsyncSession, first: date, today: date) -> dict[int | None, _Month]:
    """Each district's 30 days (by its id) and the city's (None), counted by the database in one pass."""
    if not kept_by_triggers(session):
        return _count_months(await order_rows(session, [], local_midnight(first)), today)
    district, day = col(Community.district_id), col(OrderFigure.day)
    query = (
        sa_select(func.grouping(district), district, func.count().filter(day == today), *counted_columns())
        .join(Community, col(Community.id) == col(OrderFigure.community_id))
        .where(day >= first)
        .group_by(func.grouping_sets(tuple_(district), tuple_()))
    )
    await session.execute(ANALYTIC)
    found = {}
    for whole, district_id, made_today, *counts in (await session.execute(query)).all():
        found[None if whole else district_id] = _Month(Counted(*counts), made_today)
    return found


def _count_months(rows: Sequence[Any], today: date) -> dict[int | None, _Month]:
    """``_months`` on SQLite: the embedded demo's few orders, counted here."""
    found = {key: _Month(counted) for key, counted in count_rows(rows, key=lambda row: row.district_id).items()}
    found[None] = _Month(count_rows(rows, key=lambda _row: None).get(None, Counted()))
    for row in rows:
        if aware(row.created_at).astimezone(LOCAL_TZ).date() == today:
            found[row.district_id].today += 1
            found[None].today += 1
    return found


async def city(*, session: AsyncSession, user: User) -> City:
    """The bureau's table: each district's orders, response, beds, insurance cover and subsidy this month."""
    await area_condition(session, user, None, None, None)  # the whole city: city-wide roles only
    today = local_today()
    month = f"{today:%Y-%m}"
    months = await _months(session, today - timedelta(days=29), today)
    spent = {s.district_id: s for s in await subsidy(session=session, user=user, month=month, district_id=None)}
    districts = (await session.execute(select(District).order_by(col(District.code)))).scalars().all()

    async def line(district: District | None, month: _Month, spent: Fen, budget: Fen | None) -> DistrictRow:
        """One line of the table: a district's (or, for None, the city's) month, beds and cover."""
        area_id = district.id if district is not None else None
        counted = month.counted.figures(today)
        beds = await area_capacity(session=session, user=user, community_id=None, street_id=None, district_id=area_id)
        cover = await cover_statistics(session=session, user=user, street_id=None, district_id=area_id, day=today)
        return DistrictRow(
            district_id=area_id or 0,
            code=district.code if district is not None else "",
            name=district.name if district is not None else "全市",
            orders_today=month.today,
            orders_30d=counted.orders,
            median_accept_seconds_30d=counted.median_accept_seconds,
            completion_rate_30d=counted.completion_rate,
            satisfaction_30d=counted.satisfaction,
            beds_total=beds.total,
            beds_free=beds.free,
            nursing_share=beds.nursing_share,
            social_share=beds.social_share,
            occupancy=beds.occupancy,
            provider_cover_rate=cover.providers.rate,
            institution_cover_rate=cover.institutions.rate,
            elder_cover_rate=cover.elders.rate,
            subsidy_spent_fen=spent,
            subsidy_budget_fen=budget,
        )

    out = []
    for district in districts:
        money = spent.get(district.id)  # type: ignore[arg-type]
        month_of = months.get(district.id, _Month())
        out.append(await line(district, month_of, money.spent_fen if money else 0, money.budget_fen if money else None))
    budgets = [r.subsidy_budget_fen for r in out if r.subsidy_budget_fen is not None]
    whole = months.get(None, _Month())
    totals = await line(None, whole, sum(r.subsidy_spent_fen for r in out), sum(budgets) if budgets else None)
    return City(day=today, month=month, districts=out, totals=totals)


CITY_COLUMNS = (
    ("name", "区/市", "District"),
    ("orders_today", "今日工单", "Orders today"),
    ("orders_30d", "近30天工单", "Orders, 30 days"),
    ("median_accept_seconds_30d", "接单时间中位数（秒）", "Median time to accept (s)"),
    ("completion_rate_30d", "完成率", "Completion rate"),
    ("satisfaction_30d", "满意度（1-5）", "Satisfaction (1-5)"),
    ("beds_total", "床位总数", "Beds"),
    ("beds_free", "空余床位", "Free beds"),
    ("nursing_share", "护理型床位占比", "Nursing-type share"),
    ("social_share", "社会力量运营占比", "Social-operator share"),
    ("occupancy", "入住率", "Occupancy"),
    ("provider_cover_rate", "服务组织责任险覆盖率", "Provider liability cover"),
    ("institution_cover_rate", "机构责任险覆盖率", "Institution liability cover"),
    ("elder_cover_rate", "老人意外险覆盖率", "Elder accident cover"),
    ("subsidy_spent_fen", "本月补贴支出（元）", "Subsidy spent this month (yuan)"),  # amounts written as yuan
    ("subsidy_budget_fen", "本月补贴预算（元）", "Subsidy budget (yuan)"),
)


def _cell(row: DistrictRow, name: str) -> object:
    value = getattr(row, name)
    return yuan_cell(value) if name.endswith("_fen") else value


def city_table(view: City, english: bool) -> list[list[object]]:
    """The bureau's table as rows (a header, each district, the city), for CSV and Excel (amounts in yuan, as
    numbers with two decimals)."""
    header: list[object] = [en if english else zh for _, zh, en in CITY_COLUMNS]
    body = [[_cell(row, name) for name, _, _ in CITY_COLUMNS] for row in [*view.districts, view.totals]]
    if english:
        body[-1][0] = "City"
    return [header, *body]
