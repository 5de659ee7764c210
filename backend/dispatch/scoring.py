"""Weighted objectives: how the dispatcher ranks the caregivers the hard rules let through.

A caregiver's score is a cost in minutes of travel (lower is better), the sum of its terms:

- travel: estimated minutes from where the caregiver is to the elder's door (looking ahead, for a visit booked
  for later: from the home of the elder she visits just before it, ``backend/calendars/positions.py``);
- detour: looking ahead, the minutes the visit adds to her way to the visit she has booked just after it;
- lateness: minutes the caregiver would arrive after the end of the order's window (looking ahead: setting
  off when her visit before it is over);
- continuity: a bonus per earlier visit to this elder that was not rated poorly (capped), a penalty
  when the elder rated this caregiver poorly (two stars or fewer);
- preferred: a bonus when the elder asked for this caregiver;
- language: a bonus when the caregiver speaks the elder's language (普通话 / 苏州话);
- workload: a cost per order the caregiver has taken today;
- fairness: for government-paid orders, a bonus (or cost) for each point the caregiver's provider is
  below (or above) its fair share;
- gives way: for an emergency, a cost per visit booked for later the caregiver would hand to a colleague.

Every term keeps its raw value and a sentence in Chinese and English, so an offer can say in plain words
why it went to this caregiver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.config import DispatchWeights, Settings
from backend.core.i18n import LOCAL_TZ
from backend.dispatch.fairness import provider_gaps
from backend.dispatch.rules import visit_day
from backend.orders.models import Payer, ServiceRequest, Visit
from backend.registry.models import Elder, ServiceType

POOR_RATING = 2  # stars at or below which a visit counts against continuity
LANGUAGE_ZH = {"mandarin": "普通话", "suzhounese": "苏州话"}
LANGUAGE_EN = {"mandarin": "Mandarin", "suzhounese": "Suzhounese"}


@dataclass(frozen=True)
class Term:
    """One objective's share of a score; its words are written only when someone reads them."""

    code: str
    value: float  # the measure: minutes, visits, orders, percentage points
    cost: float  # its weighted contribution (negative: a bonus)
    ctx: OrderContext = field(repr=False, compare=False)
    detail: tuple[Any, ...] = ()  # what the words need beyond the value

    @property
    def zh(self) -> str:
        return _words(self)[0]

    @property
    def en(self) -> str:
        return _words(self)[1]

    def as_dict(self) -> dict[str, Any]:
        zh, en = _words(self)
        return {"code": self.code, "value": self.value, "cost": self.cost, "zh": zh, "en": en}


def _words(term: Term) -> tuple[str, str]:
    """The term in plain Chinese and English."""
    ctx, value = term.ctx, term.value
    if term.code == "travel":
        km, minutes, origin = term.detail
        if origin:  # looking ahead: she sets off from her visit before this one
            return (
                f"上一单结束后从{origin}出发，{km:.1f} 公里（约 {minutes:.0f} 分钟）",
                f"from her previous visit in {origin}: {km:.1f} km (about {minutes:.0f} min)",
            )
        return f"{km:.1f} 公里（约 {minutes:.0f} 分钟）", f"{km:.1f} km (about {minutes:.0f} min)"
    if term.code == "detour":
        return f"去下一单多绕约 {value:.0f} 分钟", f"adds about {value:.0f} min on the way to her next visit"
    if term.code == "skill":
        return f"具备{ctx.service_type.name_zh}技能", f"{ctx.service_type.name_en.lower()} skill"
    if term.code == "lateness":
        if value <= 0:
            return "可在预约时段内到达", "arrives within the window"
        return f"预计晚到 {value:.0f} 分钟", f"about {value:.0f} min late"
    if term.code == "continuity":
        good, poor = term.detail
        zh = [f"服务过该老人 {good} 次"] if good else []
        en = [f"served this elder {good} time{'s' if good != 1 else ''}"] if good else []
        if poor:
            zh.append(f"被该老人差评 {poor} 次")
            en.append(f"rated poorly by this elder {poor} time(s)")
        return "，".join(zh), ", ".join(en)
    if term.code == "preferred":
        return "老人指定的护理员", "the elder's preferred caregiver"
    if term.code == "language":
        (language,) = term.detail
        return f"会说{LANGUAGE_ZH.get(language, language)}", f"speaks {LANGUAGE_EN.get(language, language)}"
    if term.code == "workload":  # her visits on the order's day (today, or the day it is booked for)
        load, orders = int(value), f"order{'s' if value != 1 else ''}"
        if ctx.day is None or ctx.day == ctx.now.astimezone(LOCAL_TZ).date():
            return f"今日已接 {load} 单", f"{load} {orders} today"
        return f"{ctx.day.month}月{ctx.day.day}日已接 {load} 单", f"{load} {orders} on {ctx.day:%d %b}"
    if term.code == "fairness":
        below = value > 0
        return (
            f"所属机构{'低于' if below else '高于'}公平份额 {abs(value):.1f} 个百分点",
            f"provider {abs(value):.1f} points {'below' if below else 'above'} its fair share",
        )
    if term.code == "gives_way":
        n = int(value)
        return f"需让出 {n} 个已预约上门（改派同事）", f"hands {n} booked visit{'s' if n != 1 else ''} to a colleague"
    return term.code, term.code


@dataclass(frozen=True)
class Ahead:
    """Looking ahead: where she sets off from for this visit and what it does to the rest of her day."""

    from_place: str | None = None  # the community of the visit she sets off from (None: where she is now)
    free_at: datetime | None = None  # when that visit is over
    detour_minutes: float = 0.0  # added to her way to the visit she has booked next


@dataclass(frozen=True)
class History:
    """What this elder's past visits say of each caregiver."""

    good: int = 0
    poor: int = 0


@dataclass(frozen=True)
class OrderContext:
    """What the scorer knows of one order, gathered once per decision."""

    request: ServiceRequest
    elder: Elder
    service_type: ServiceType
    now: datetime
    history: dict[int, History] = field(default_factory=dict)
    provider_gaps: dict[int, float] = field(default_factory=dict)
    day: date | None = None  # the Suzhou day of the visit, whose workload counts

    @property
    def government_paid(self) -> bool:
        return self.request.paid_by == Payer.government


async def elder_history(session: AsyncSession, elder_id: int) -> dict[int, History]:
    """Per caregiver: completed visits to this elder not rated poorly, and the poorly rated ones."""
    poor = col(Visit.rating) <= POOR_RATING
    rows = await session.execute(
        select(
            col(Visit.caregiver_id),
            func.sum(case((poor, 0), else_=1)),
            func.sum(case((poor, 1), else_=0)),
        )
        .join(ServiceRequest, col(ServiceRequest.id) == col(Visit.request_id))
        .where(col(ServiceRequest.elder_id) == elder_id, col(Visit.checkout_at).is_not(None))
        .group_by(col(Visit.caregiver_id))
    )
    return {cid: History(int(good or 0), int(bad or 0)) for cid, good, bad in rows.all()}


async def order_context(
    session: AsyncSession, settings: Settings, request: ServiceRequest, elder: Elder, now: datetime
) -> OrderContext:
    """Gather what scoring this order needs: the elder's history and, for public money, providers' gaps."""
    service_type = await session.get(ServiceType, request.service_type)
    assert service_type is not None and elder.id is not None
    gaps = await provider_gaps(session=session, settings=settings) if request.paid_by == Payer.government.value else {}
    return OrderContext(
        request=request,
        elder=elder,
        service_type=service_type,
        now=now,
        history=await elder_history(session, elder.id),
        provider_gaps=gaps,
        day=visit_day(request, service_type, now),
    )


def score(
    ctx: OrderContext,
    settings: Settings,
    *,
    caregiver_id: int,
    provider_id: int,
    distance_m: float,
    load: int,
    languages: Sequence[str],
    gives_way: int = 0,
    ahead: Ahead | None = None,
) -> tuple[float, list[Term]]:
    """The caregiver's cost for this order (lower is better) and its terms, in the order a person reads them.
    ``ahead``: looking ahead, her visits around this one (``distance_m`` is then from the one before it)."""
    w: DispatchWeights = settings.dispatch_weights
    minutes = settings.travel_minutes(distance_m)
    origin = ahead.from_place if ahead else None
    terms = [
        Term("travel", round(minutes, 1), w.travel_per_minute * minutes, ctx, (distance_m / 1000, minutes, origin)),
        Term("skill", 1, 0.0, ctx),
    ]
    if ahead is not None and ahead.detour_minutes >= 0.5:
        detour = ahead.detour_minutes
        terms.append(Term("detour", round(detour, 1), w.travel_per_minute * detour, ctx))
    end = ctx.request.window_end
    if end is not None:
        sets_off = ahead.free_at if ahead and ahead.free_at else ctx.now
        late = max(0.0, (max(sets_off, ctx.now) + timedelta(minutes=minutes) - end).total_seconds() / 60)
        terms.append(Term("lateness", round(late, 1), w.lateness_per_minute * late, ctx))
    seen = ctx.history.get(caregiver_id)
    if seen is not None and (seen.good or seen.poor):
        counted = min(seen.good, w.continuity_max_visits)
        cost = -w.continuity_per_visit * counted + w.poor_rating_penalty * seen.poor
        terms.append(Term("continuity", float(seen.good - seen.poor), cost, ctx, (seen.good, seen.poor)))
    if ctx.elder.preferred_caregiver_id == caregiver_id:
        terms.append(Term("preferred", 1, -w.preferred_caregiver, ctx))
    language = ctx.elder.language
    if language and language in languages:
        terms.append(Term("language", 1, -w.language, ctx, (language,)))
    terms.append(Term("workload", load, w.workload_per_order * load, ctx))
    if ctx.government_paid and provider_id in ctx.provider_gaps:
        gap = max(-w.fairness_max_points, min(w.fairness_max_points, ctx.provider_gaps[provider_id]))
        if abs(gap) >= 0.05:
            terms.append(Term("fairness", round(gap, 1), -w.fairness_per_point * gap, ctx))
    if gives_way:
        terms.append(Term("gives_way", gives_way, w.bump_per_visit * gives_way, ctx))
    return sum(t.cost for t in terms), terms


def explain(terms: Sequence[Term], *, rank: int, total: int, english: bool) -> str:
    """The plain-words reason for an offer (「1.2 公里（约 6 分钟） · 具备助浴技能 · 服务过该老人 3 次 · …」)."""
    if english:
        return " · ".join([t.en for t in terms] + [f"rank {rank} of {total} eligible nearby"])
    return " · ".join([t.zh for t in terms] + [f"在附近 {total} 名可派人员中排第 {rank}"])
