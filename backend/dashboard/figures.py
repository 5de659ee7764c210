"""An area's figures by Suzhou day: orders, time to accept, completion and satisfaction, counted by the database.

On PostgreSQL a day's counts, its median time to accept and its ratings are one ``GROUP BY`` day over the area's
rows of ``order_figure`` (one narrow row per order, kept by triggers: ``backend.dashboard.models``), read from its
covering indexes; only a line a day reaches Python, whatever the city's size. The embedded SQLite has neither the
triggers nor a median: its few orders are read from the orders themselves and counted here.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.models import Community
from backend.core.db import local_midnight, local_today
from backend.core.i18n import LOCAL_TZ
from backend.dashboard.models import OrderFigure
from backend.dashboard.schemas import DayFigures
from backend.orders.models import RequestHistory, ServiceRequest, Status, Visit

K = TypeVar("K")
DONE = (Status.completed.value, Status.closed.value)
# A statistics query of a month's orders is past PostgreSQL's default JIT threshold, and compiling it costs more
# than it saves (50-100 ms measured on this query): off, and sorts kept in memory, for this transaction only.
ANALYTIC = text("SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true)")


@dataclass
class Counted:
    """One day's orders in an area, as counted (by the database or here)."""

    orders: int = 0
    accepted: int = 0
    completed: int = 0
    cancelled: int = 0
    escalated: int = 0
    median_accept: float | None = None  # seconds
    stars: int = 0
    rated: int = 0

    def figures(self, day: date) -> DayFigures:
        return DayFigures(
            day=day,
            orders=self.orders,
            accepted=self.accepted,
            completed=self.completed,
            cancelled=self.cancelled,
            escalated=self.escalated,
            median_accept_seconds=round(self.median_accept) if self.median_accept is not None else None,
            completion_rate=completion(self.completed, self.cancelled),
            satisfaction=round(self.stars / self.rated, 2) if self.rated else None,
            rated=self.rated,
        )


def completion(completed: int, cancelled: int) -> float | None:
    """Of the orders that have ended (done or cancelled), the share done."""
    ended = completed + cancelled
    return round(completed / ended, 4) if ended else None


def kept_by_triggers(session: AsyncSession) -> bool:
    """True on PostgreSQL, where ``order_figure`` follows the orders; SQLite counts from the orders themselves."""
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # stored in UTC


def in_area(where: Sequence[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    """The area's orders, by their community (none for the city: every order is in one)."""
    return [col(OrderFigure.community_id).in_(select(Community.id).where(*where))] if where else []


def counted_columns() -> tuple[Any, ...]:
    """What a group of ``order_figure`` rows counts: orders, accepted, completed, cancelled, escalated, the median
    seconds to accept, stars and rated visits (``Counted``'s fields, in order)."""
    status = col(OrderFigure.status)
    return (
        func.count(),
        func.count(col(OrderFigure.accept_seconds)),
        func.count().filter(status.in_(DONE)),
        func.count().filter(status == Status.cancelled.value),
        func.count().filter(status == Status.escalated.value),
        func.percentile_cont(0.5).within_group(col(OrderFigure.accept_seconds)),
        func.coalesce(func.sum(col(OrderFigure.rating)), 0),
        func.count(col(OrderFigure.rating)),
    )


async def count_days(session: AsyncSession, where: Sequence[ColumnElement[bool]], first: date) -> dict[date, Counted]:
    """Each Suzhou day's orders in the area from ``first``, counted by PostgreSQL from ``order_figure``."""
    day = col(OrderFigure.day)
    query = sa_select(day, *counted_columns()).where(day >= first, *in_area(where)).group_by(day)
    await session.execute(ANALYTIC)
    return {row[0]: Counted(*row[1:]) for row in (await session.execute(query)).all()}


async def order_rows(session: AsyncSession, where: Iterable[ColumnElement[bool]], since: datetime) -> list[Any]:
    """Orders made since ``since`` in the area, one row each: district, made, status, first accepted, rating."""
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
            accepted.c.at.label("accepted_at"),
            col(Visit.rating),
        )
        .join(Community, col(Community.id) == col(ServiceRequest.community_id))
        .outerjoin(accepted, accepted.c.request_id == col(ServiceRequest.id))
        .outerjoin(Visit, col(Visit.request_id) == col(ServiceRequest.id))
        .where(col(ServiceRequest.created_at) >= since, *where)
    )
    return list(rows.all())


def local_day(row: Any) -> date:
    """The Suzhou day an order of ``order_rows`` was made."""
    return aware(row.created_at).astimezone(LOCAL_TZ).date()


def count_rows(rows: Iterable[Any], key: Callable[[Any], K] = local_day) -> dict[K, Counted]:  # type: ignore[assignment]
    """Orders of ``order_rows`` counted here by ``key`` (their Suzhou day unless told): SQLite has no median."""
    found: dict[K, Counted] = defaultdict(Counted)
    waits: dict[K, list[float]] = defaultdict(list)
    for row in rows:
        counted = found[key(row)]
        counted.orders += 1
        if row.accepted_at is not None:
            counted.accepted += 1
            waits[key(row)].append((aware(row.accepted_at) - aware(row.created_at)).total_seconds())
        counted.completed += row.status in DONE
        counted.cancelled += row.status == Status.cancelled
        counted.escalated += row.status == Status.escalated
        if row.rating is not None:
            counted.stars += row.rating
            counted.rated += 1
    for bucket, values in waits.items():
        found[bucket].median_accept = statistics.median(values)
    return dict(found)


async def day_series(session: AsyncSession, where: Sequence[ColumnElement[bool]], days: int) -> list[DayFigures]:
    """The figures of an area (its condition on ``Community``, already in scope) for each of the last ``days``
    Suzhou days, oldest first, today last."""
    first = local_today() - timedelta(days=days - 1)
    if kept_by_triggers(session):
        counted = await count_days(session, where, first)
    else:
        counted = count_rows(await order_rows(session, where, local_midnight(first)))
    return [counted.get(day, Counted()).figures(day) for day in (first + timedelta(days=n) for n in range(days))]
