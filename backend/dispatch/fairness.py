"""Provider fairness: each provider's share of government-paid orders against its capacity and quality.

Government-paid orders are public money. A provider's fair share is its weight (caregivers on its books
times a quality factor from elders' ratings) over the weight of all active providers. The dispatcher
gives a bonus to caregivers of providers below their fair share; the bureau reads the spread as a
weighted Gini index of "actual share / fair share" (0: everyone gets exactly their fair share).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.config import Settings
from backend.core.db import utcnow
from backend.orders.models import Payer, ServiceRequest, Status, Visit
from backend.registry.models import Caregiver, Provider

NEUTRAL_RATING = 4.0  # what a provider without enough ratings is assumed to earn
MIN_RATINGS = 3


@dataclass(frozen=True)
class ProviderShare:
    provider_id: int
    name: str
    orders: int  # government-paid orders its caregivers took in the window
    share: float  # of all government-paid orders in the window
    caregivers: int
    rating: float | None  # mean stars in the window, when enough elders rated
    fair_share: float

    @property
    def gap_points(self) -> float:
        """Percentage points below (positive) or above (negative) the fair share."""
        return (self.fair_share - self.share) * 100


@dataclass(frozen=True)
class Fairness:
    since: datetime
    orders: int
    gini: float
    providers: list[ProviderShare]


def weighted_gini(values: list[float], weights: list[float]) -> float:
    """Gini index of ``values`` with population ``weights`` (0 equal, toward 1 concentrated)."""
    total = sum(weights)
    if total <= 0:
        return 0.0
    mean = sum(v * w for v, w in zip(values, weights, strict=True)) / total
    if mean <= 0:
        return 0.0
    pairs = list(zip(values, weights, strict=True))
    spread = sum(wi * wj * abs(vi - vj) for vi, wi in pairs for vj, wj in pairs)
    return spread / (2 * total * total * mean)


async def _active_providers(session: AsyncSession) -> Sequence[Row[int, str, int]]:
    """Every active provider with the number of caregivers on its books."""
    rows = await session.execute(
        select(Provider.id, Provider.name, func.count(col(Caregiver.id)))
        .join(Caregiver, col(Caregiver.provider_id) == col(Provider.id))
        .where(col(Provider.active).is_(True))
        .group_by(col(Provider.id), col(Provider.name))
    )
    return rows.all()


async def _government_orders(session: AsyncSession, since: datetime) -> dict[int, int]:
    """Per provider: the government-paid orders its caregivers took since ``since``."""
    rows = await session.execute(
        select(Caregiver.provider_id, func.count(col(ServiceRequest.id)))
        .join(Caregiver, col(Caregiver.id) == col(ServiceRequest.assigned_caregiver_id))
        .where(
            col(ServiceRequest.paid_by) == Payer.government.value,
            col(ServiceRequest.created_at) >= since,
            col(ServiceRequest.status) != Status.cancelled.value,
        )
        .group_by(col(Caregiver.provider_id))
    )
    return dict(rows.all())


async def _ratings(session: AsyncSession, since: datetime) -> dict[int, tuple[float, int]]:
    """Per provider: the mean stars elders gave its caregivers' visits since ``since``, and how many ratings."""
    rows = await session.execute(
        select(Caregiver.provider_id, func.avg(col(Visit.rating)), func.count(col(Visit.rating)))
        .join(Caregiver, col(Caregiver.id) == col(Visit.caregiver_id))
        .where(col(Visit.rated_at) >= since)
        .group_by(col(Caregiver.provider_id))
    )
    return {pid: (float(mean), int(n)) for pid, mean, n in rows.all()}


async def provider_fairness(*, session: AsyncSession, settings: Settings, now: datetime | None = None) -> Fairness:
    """Every active provider's share of government-paid orders in the window, and the spread."""
    since = (now or utcnow()) - timedelta(days=settings.fairness_days)
    providers = await _active_providers(session)
    taken = await _government_orders(session, since)
    ratings = await _ratings(session, since)
    weights: dict[int, float] = {}
    for pid, _name, caregivers in providers:
        mean, n = ratings.get(pid, (NEUTRAL_RATING, 0))
        weights[pid] = caregivers * ((mean if n >= MIN_RATINGS else NEUTRAL_RATING) / 5)
    total_weight = sum(weights.values())
    total_orders = sum(int(taken.get(pid, 0)) for pid, _n, _c in providers)
    shares = []
    for pid, name, caregivers in providers:
        mean, n = ratings.get(pid, (NEUTRAL_RATING, 0))
        orders = int(taken.get(pid, 0))
        shares.append(
            ProviderShare(
                provider_id=pid,
                name=name,
                orders=orders,
                share=orders / total_orders if total_orders else 0.0,
                caregivers=int(caregivers),
                rating=round(mean, 2) if n >= MIN_RATINGS else None,
                fair_share=weights[pid] / total_weight if total_weight else 0.0,
            )
        )
    shares.sort(key=lambda s: s.provider_id)
    usable = [s for s in shares if s.fair_share > 0]
    gini = (
        weighted_gini([s.share / s.fair_share for s in usable], [s.fair_share for s in usable]) if total_orders else 0.0
    )
    return Fairness(since=since, orders=total_orders, gini=round(gini, 4), providers=shares)


_gaps: dict[str, tuple[float, dict[int, float]]] = {}


async def provider_gaps(*, session: AsyncSession, settings: Settings) -> dict[int, float]:
    """Each provider's gap to its fair share in points, recomputed at most every ``fairness_cache_seconds``.

    A short-lived cache of a figure derived from the database (the shares move slowly); the orders
    themselves stay the truth.
    """
    key = settings.database_url
    now = utcnow().timestamp()  # the platform's clock: a simulated day's, while one runs
    cached = _gaps.get(key)
    if cached is not None and 0 <= now - cached[0] < settings.fairness_cache_seconds:
        return cached[1]
    fairness = await provider_fairness(session=session, settings=settings)
    gaps = {s.provider_id: s.gap_points for s in fairness.providers} if fairness.orders else {}
    _gaps[key] = (now, gaps)
    return gaps
