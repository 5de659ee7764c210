"""What the staff's screens show, read straight from the database within the viewer's area.

The queue puts what needs a person first: escalated orders, then those past their time (to be accepted, or for
the caregiver to arrive), then those close to it. Times are counted in Suzhou days.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.personal import caregiver_disclosure
from backend.access.scope import area_condition
from backend.areas.models import Community, District
from backend.audit import service as audit
from backend.capacity.service import area_capacity
from backend.core.config import Settings
from backend.core.db import local_midnight, local_today, utcnow
from backend.core.i18n import LOCAL_TZ
from backend.core.identity import mask_phone
from backend.dashboard.schemas import (
    CaregiverRow,
    Caregivers,
    CaregiverState,
    City,
    DayFigures,
    DistrictRow,
    Figures,
    Queue,
    QueueItem,
    Sla,
)
from backend.dispatch.models import Offer, OfferStatus
from backend.insurance.service import statistics as cover_statistics
from backend.registry.models import Caregiver, Elder, Provider, ProviderCommunity, ServiceType
from backend.requests.models import RequestHistory, ServiceRequest, Status, Visit
from backend.settlement.service import subsidy
from backend.users.models import Role, User

WAITING = (Status.new, Status.dispatching, Status.offered, Status.escalated)
ON_THE_WAY = (Status.accepted, Status.en_route)
OPEN = (*WAITING, *ON_THE_WAY, Status.in_service)
DONE = (Status.completed, Status.closed)
PRIORITY_ORDER = {"emergency": 0, "urgent": 1, "normal": 2}
SLA_ORDER = {"late": 0, "warning": 1, "ok": 2}


async def _area(
    session: AsyncSession, user: User, community_id: int | None, street_id: int | None, district_id: int | None
) -> tuple[str, list[ColumnElement[bool]]]:
    """The area asked for; none asked: community staff get their own, city-wide roles the city."""
    if community_id is None and street_id is None and district_id is None and user.role == Role.community_staff:
        community_id, street_id, district_id = user.community_id, user.street_id, user.district_id
    return await area_condition(session, user, community_id, street_id, district_id)


def sla_of(request: ServiceRequest, now: datetime, settings: Settings) -> tuple[Sla, datetime | None]:
    """How the order stands against its time: to be accepted while it waits, for the caregiver to arrive after."""
    if request.status in WAITING:
        start = request.created_at
        due = start + timedelta(minutes=settings.sla_accept_minutes.get(request.priority, 120))
    elif request.status in ON_THE_WAY:
        if request.window_start is not None:
            start = min(request.created_at, request.window_start)
            due = request.window_start + timedelta(minutes=settings.sla_late_arrival_minutes)
        else:
            start = request.created_at
            due = start + timedelta(minutes=settings.sla_arrive_minutes.get(request.priority, 24 * 60))
    else:  # in service: past the end of its window is worth a look, not an alarm
        late_end = request.window_end is not None and now > request.window_end
        return ("warning" if late_end else "ok"), request.window_end
    if now >= due:
        return "late", due
    spent = (now - start) / (due - start) if due > start else 1.0
    return ("warning" if spent >= settings.sla_warn_share else "ok"), due


async def queue(
    *,
    session: AsyncSession,
    settings: Settings,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    limit: int,
) -> Queue:
    """An area's open orders with who, where, how long they have waited and their SLA colour."""
    area, where = await _area(session, user, community_id, street_id, district_id)
    in_area = select(Community.id).where(*where)
    rows = await session.execute(
        sa_select(
            ServiceRequest,
            col(Elder.name),
            col(Elder.address),
            col(Elder.lat),
            col(Elder.lon),
            col(Community.name),
            col(ServiceType.name_zh),
            col(ServiceType.name_en),
            col(Caregiver.name),
        )
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .join(Community, col(Community.id) == col(ServiceRequest.community_id))
        .join(ServiceType, col(ServiceType.code) == col(ServiceRequest.service_type))
        .outerjoin(Caregiver, col(Caregiver.id) == col(ServiceRequest.assigned_caregiver_id))
        .where(col(ServiceRequest.status).in_(OPEN), col(ServiceRequest.community_id).in_(in_area))
        .order_by(col(ServiceRequest.created_at))
    )
    now = utcnow()
    items = []
    found = rows.all()
    await audit.record_reads(session, action="elder.list", elder_ids=[r[0].elder_id for r in found])
    for request, elder, address, lat, lon, community, zh, en, caregiver in found:
        state, due = sla_of(request, now, settings)
        assert request.id is not None
        items.append(
            QueueItem(
                id=request.id,
                status=request.status,
                priority=request.priority,
                service_type=request.service_type,
                service_name_zh=zh,
                service_name_en=en,
                elder_id=request.elder_id,
                elder_name=elder,
                address=address,
                lat=lat,
                lon=lon,
                community_id=request.community_id,
                community_name=community,
                caregiver_id=request.assigned_caregiver_id,
                caregiver_name=caregiver,
                escalation_reason=request.escalation_reason,
                window_start=request.window_start,
                window_end=request.window_end,
                created_at=request.created_at,
                waiting_seconds=max(0, int((now - request.created_at).total_seconds())),
                sla=state,
                sla_due_at=due,
            )
        )
    items.sort(
        key=lambda i: (
            i.status != Status.escalated,
            SLA_ORDER[i.sla],
            PRIORITY_ORDER.get(i.priority, 3),
            i.created_at,
        )
    )
    counts = Counter(i.status for i in items)
    return Queue(
        area=area,
        generated_at=now,
        counts={s.value: counts.get(s.value, 0) for s in OPEN},
        late=sum(1 for i in items if i.sla == "late"),
        orders=items[:limit],
    )


async def caregivers(
    *,
    session: AsyncSession,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    everyone: bool,
) -> Caregivers:
    """The caregivers of the providers serving an area, and what each is doing now."""
    area, where = await _area(session, user, community_id, street_id, district_id)
    serving = select(ProviderCommunity.provider_id).where(
        col(ProviderCommunity.community_id).in_(select(Community.id).where(*where))
    )
    query = (
        select(Caregiver, Provider.name)
        .join(Provider, col(Provider.id) == col(Caregiver.provider_id))
        .where(col(Provider.active).is_(True), col(Provider.id).in_(serving))
        .order_by(col(Caregiver.name), col(Caregiver.id))
    )
    if not everyone:
        query = query.where(col(Caregiver.on_shift).is_(True))
    people = (await session.execute(query)).all()
    ids = [c.id for c, _ in people]
    holding: dict[int, int] = {}
    offered: dict[int, int] = {}
    if ids:
        held = await session.execute(
            select(ServiceRequest.id, ServiceRequest.assigned_caregiver_id, ServiceRequest.partner_caregiver_id).where(
                col(ServiceRequest.status).in_([s.value for s in (*ON_THE_WAY, Status.in_service)]),
                col(ServiceRequest.assigned_caregiver_id).in_(ids) | col(ServiceRequest.partner_caregiver_id).in_(ids),
            )
        )
        for request_id, first, second in held.all():
            for caregiver_id in (first, second):
                if caregiver_id is not None:
                    holding[caregiver_id] = request_id
        pending = await session.execute(
            select(Offer.caregiver_id, Offer.request_id).where(
                col(Offer.status) == OfferStatus.pending, col(Offer.caregiver_id).in_(ids)
            )
        )
        offered = dict(pending.tuples().all())
    now = utcnow()
    out = []
    for caregiver, provider in people:
        assert caregiver.id is not None
        state: CaregiverState
        request_id = holding.get(caregiver.id) or offered.get(caregiver.id)
        if caregiver.absent_until is not None and caregiver.absent_until > now:
            state = "absent"
        elif caregiver.id in holding:
            state = "busy"
        elif caregiver.id in offered:
            state = "offered"
        else:
            state = "idle" if caregiver.on_shift else "off_shift"
        shown = caregiver_disclosure(user, caregiver, now)
        out.append(
            CaregiverRow(
                id=caregiver.id,
                name=caregiver.name,
                phone=caregiver.phone if shown.phone else mask_phone(caregiver.phone),
                provider_id=caregiver.provider_id,
                provider_name=provider,
                lat=caregiver.lat if shown.position else None,
                lon=caregiver.lon if shown.position else None,
                state=state,
                request_id=request_id if state in ("busy", "offered") else None,
            )
        )
    counts = Counter(c.state for c in out)
    return Caregivers(area=area, counts=dict(counts), caregivers=out)


async def _order_rows(session: AsyncSession, where: Iterable[ColumnElement[bool]], since: datetime) -> list[Any]:
    """Orders made since ``since`` in the area: district, made, status, first accepted, rating."""
    accepted = (
        sa_select(col(RequestHistory.request_id).label("request_id"), func.min(col(RequestHistory.at)).label("at"))
        .where(col(RequestHistory.status) == Status.accepted.value)
        .group_by(col(RequestHistory.request_id))
        .subquery()
    )
    rows = await session.execute(
        sa_select(
            col(Community.district_id),
            col(ServiceRequest.created_at),
            col(ServiceRequest.status),
            accepted.c.at,
            col(Visit.rating),
        )
        .join(Community, col(Community.id) == col(ServiceRequest.community_id))
        .outerjoin(accepted, accepted.c.request_id == col(ServiceRequest.id))
        .outerjoin(Visit, col(Visit.request_id) == col(ServiceRequest.id))
        .where(col(ServiceRequest.created_at) >= since, *where)
    )
    return list(rows.all())


def _completion(completed: int, cancelled: int) -> float | None:
    """Of the orders that have ended (done or cancelled), the share done."""
    ended = completed + cancelled
    return round(completed / ended, 4) if ended else None


@dataclass
class _Month:
    """An area's orders over the table's 30 days."""

    orders: int = 0
    today: int = 0
    completed: int = 0
    cancelled: int = 0
    satisfaction: float | None = None
    median_accept_seconds: int | None = None

    @property
    def completion_rate(self) -> float | None:
        return _completion(self.completed, self.cancelled)


async def _months(session: AsyncSession, since: datetime, today_start: datetime) -> tuple[dict[int, _Month], _Month]:
    """Each district's 30 days and the city's, counted by the database (the bureau's table, not row by row)."""
    made_today = case((col(ServiceRequest.created_at) >= today_start, 1), else_=0)
    done = case((col(ServiceRequest.status).in_([s.value for s in DONE]), 1), else_=0)
    dropped = case((col(ServiceRequest.status) == Status.cancelled.value, 1), else_=0)
    rated = func.count(col(Visit.rating))
    counts = (
        sa_select(
            col(Community.district_id),
            func.count(col(ServiceRequest.id)),
            func.sum(made_today),
            func.sum(done),
            func.sum(dropped),
            func.sum(col(Visit.rating)),
            rated,
        )
        .join(Community, col(Community.id) == col(ServiceRequest.community_id))
        .outerjoin(Visit, col(Visit.request_id) == col(ServiceRequest.id))
        .where(col(ServiceRequest.created_at) >= since)
        .group_by(col(Community.district_id))
    )
    months: dict[int, _Month] = {}
    city, stars, rated_visits = _Month(), 0, 0
    for district_id, n, today, completed, cancelled, rating_sum, n_rated in (await session.execute(counts)).all():
        month = _Month(int(n), int(today or 0), int(completed or 0), int(cancelled or 0))
        month.satisfaction = round(int(rating_sum) / n_rated, 2) if n_rated else None
        months[district_id] = month
        city.orders, city.today = city.orders + month.orders, city.today + month.today
        city.completed, city.cancelled = city.completed + month.completed, city.cancelled + month.cancelled
        stars, rated_visits = stars + int(rating_sum or 0), rated_visits + int(n_rated)
    city.satisfaction = round(stars / rated_visits, 2) if rated_visits else None
    accepted = (
        sa_select(col(RequestHistory.request_id).label("request_id"), func.min(col(RequestHistory.at)).label("at"))
        .where(col(RequestHistory.status) == Status.accepted.value, col(RequestHistory.at) >= since)
        .group_by(col(RequestHistory.request_id))
        .subquery()
    )
    waits = (
        sa_select(col(Community.district_id), col(ServiceRequest.created_at), accepted.c.at)
        .join(Community, col(Community.id) == col(ServiceRequest.community_id))
        .join(accepted, accepted.c.request_id == col(ServiceRequest.id))
        .where(col(ServiceRequest.created_at) >= since)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        seconds = func.extract("epoch", accepted.c.at - col(ServiceRequest.created_at))
        median = func.percentile_cont(0.5).within_group(seconds)
        base = waits.with_only_columns(col(Community.district_id), median)
        for district_id, value in (await session.execute(base.group_by(col(Community.district_id)))).all():
            months[district_id].median_accept_seconds = round(value)
        whole = await session.scalar(waits.with_only_columns(median))
        city.median_accept_seconds = round(whole) if whole is not None else None
    else:  # SQLite (the embedded demo): few rows, counted here
        found: dict[int, list[float]] = defaultdict(list)
        for district_id, created, at in (await session.execute(waits)).all():
            found[district_id].append((_aware(at) - _aware(created)).total_seconds())
        for district_id, values in found.items():
            months[district_id].median_accept_seconds = round(statistics.median(values))
        every = [v for values in found.values() for v in values]
        city.median_accept_seconds = round(statistics.median(every)) if every else None
    return months, city


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # stored in UTC


def _figures(day: date, rows: Iterable[Any]) -> DayFigures:
    orders = accepted = completed = cancelled = escalated = 0
    waits: list[float] = []
    ratings: list[int] = []
    for _district, created, status, accepted_at, rating in rows:
        orders += 1
        if accepted_at is not None:
            accepted += 1
            waits.append((_aware(accepted_at) - _aware(created)).total_seconds())
        completed += status in DONE
        cancelled += status == Status.cancelled
        escalated += status == Status.escalated
        if rating is not None:
            ratings.append(rating)
    return DayFigures(
        day=day,
        orders=orders,
        accepted=accepted,
        completed=completed,
        cancelled=cancelled,
        escalated=escalated,
        median_accept_seconds=round(statistics.median(waits)) if waits else None,
        completion_rate=_completion(completed, cancelled),
        satisfaction=round(statistics.fmean(ratings), 2) if ratings else None,
        rated=len(ratings),
    )


def _local_day(moment: datetime) -> date:
    return _aware(moment).astimezone(LOCAL_TZ).date()


async def figures(
    *,
    session: AsyncSession,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    days: int,
) -> Figures:
    """Today's orders, time to accept, completion and satisfaction in an area, and the same for each past day."""
    area, where = await _area(session, user, community_id, street_id, district_id)
    today = local_today()
    first = today - timedelta(days=days - 1)
    by_day: dict[date, list[Any]] = defaultdict(list)
    for row in await _order_rows(session, where, local_midnight(first)):
        by_day[_local_day(row[1])].append(row)
    series = [_figures(first + timedelta(days=n), by_day.get(first + timedelta(days=n), ())) for n in range(days)]
    return Figures(area=area, today=series[-1], days=series)


async def city(*, session: AsyncSession, user: User) -> City:
    """The bureau's table: each district's orders, response, beds, insurance cover and subsidy this month."""
    await area_condition(session, user, None, None, None)  # the whole city: city-wide roles only
    today = local_today()
    month = f"{today:%Y-%m}"
    months, whole = await _months(session, local_midnight(today - timedelta(days=29)), local_midnight(today))
    spent = {s.district_id: s for s in await subsidy(session=session, user=user, month=month, district_id=None)}
    districts = (await session.execute(select(District).order_by(col(District.code)))).scalars().all()

    async def line(district: District | None, counted: _Month, spent_yuan: int, budget: int | None) -> DistrictRow:
        """One line of the table: a district's (or, for None, the city's) month, beds and cover."""
        area_id = district.id if district is not None else None
        beds = await area_capacity(session=session, user=user, community_id=None, street_id=None, district_id=area_id)
        cover = await cover_statistics(session=session, user=user, street_id=None, district_id=area_id, day=today)
        return DistrictRow(
            district_id=area_id or 0,
            code=district.code if district is not None else "",
            name=district.name if district is not None else "全市",
            orders_today=counted.today,
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
            subsidy_spent_yuan=spent_yuan,
            subsidy_budget_yuan=budget,
        )

    out = []
    for district in districts:
        money = spent.get(district.id)  # type: ignore[arg-type]
        counted = months.get(district.id, _Month())  # type: ignore[arg-type]
        out.append(
            await line(district, counted, money.spent_yuan if money else 0, money.budget_yuan if money else None)
        )
    budgets = [r.subsidy_budget_yuan for r in out if r.subsidy_budget_yuan is not None]
    totals = await line(None, whole, sum(r.subsidy_spent_yuan for r in out), sum(budgets) if budgets else None)
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
    ("subsidy_spent_yuan", "本月补贴支出（元）", "Subsidy spent this month (yuan)"),
    ("subsidy_budget_yuan", "本月补贴预算（元）", "Subsidy budget (yuan)"),
)


def city_table(view: City, english: bool) -> list[list[object]]:
    """The bureau's table as rows (a header, each district, the city), for CSV and Excel."""
    header: list[object] = [en if english else zh for _, zh, en in CITY_COLUMNS]
    body = [[getattr(row, name) for name, _, _ in CITY_COLUMNS] for row in [*view.districts, view.totals]]
    if english:
        body[-1][0] = "City"
    return [header, *body]
