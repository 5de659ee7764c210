"""``order_figure`` follows the orders whoever writes them (PostgreSQL's triggers), and the dashboards' figures
counted from it equal a recount from the orders, their history and their visits."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, text, update
from sqlmodel import col

from backend.areas.models import Community
from backend.core.db import local_midnight, local_today, utcnow
from backend.core.runtime import Runtime
from backend.dashboard import city as bureau
from backend.dashboard.figures import count_days, count_rows, day_series, order_rows
from backend.orders.models import RequestHistory, ServiceRequest, Visit
from backend.registry.models import Caregiver, Provider
from backend.users.models import User
from tests.factories import elder_at_home, new_community
from tests.infra import ROOT

pytestmark = pytest.mark.unit

MIGRATION = ROOT / "alembic" / "versions" / "20261207_order_figures.py"


async def _caregiver(session, community: Community) -> int:
    provider = Provider(name="测试服务组织", kind="home_care", lat=31.3, lon=120.6)
    user = User(username=f"figures-{uuid.uuid4().hex[:10]}", password_hash="-", role="caregiver")
    session.add_all([provider, user])
    await session.flush()
    caregiver = Caregiver(provider_id=provider.id, user_id=user.id, name="护", phone="+8613900000000", lat=0, lon=0)
    session.add(caregiver)
    await session.flush()
    assert caregiver.id is not None
    return caregiver.id


async def _month_of_orders(runtime: Runtime) -> tuple[Community, Community, dict[str, int]]:
    """Orders written the ways the platform writes them: one by one and in bulk, accepted (twice), moved to
    another community, completed, rated after the visit, cancelled, escalated."""
    now = utcnow()
    async with runtime.unit_of_work() as session:
        home, other = await new_community(session), await new_community(session)
        elder = elder_at_home(home)
        session.add(elder)
        await session.flush()
        caregiver = await _caregiver(session, home)

        def order(ago: timedelta, status: str = "new") -> dict[str, object]:
            made = now - ago
            return {
                "elder_id": elder.id,
                "community_id": home.id,
                "service_type": "meal",
                "status": status,
                "created_at": made,
                "updated_at": made,
            }

        made = await session.execute(
            insert(ServiceRequest).returning(col(ServiceRequest.id)),
            [order(timedelta(days=2)), order(timedelta(minutes=30)), order(timedelta(minutes=20))],
        )
        done, dropped, waiting = made.scalars().all()
        moved = await session.execute(insert(ServiceRequest).returning(col(ServiceRequest.id)), [order(timedelta(0))])
        moved_id = moved.scalar_one()
        accepted = [
            (done, timedelta(days=2) - timedelta(seconds=90)),  # 90 s after it was made
            (done, timedelta(days=2) - timedelta(seconds=400)),  # accepted again later: the first counts
            (dropped, timedelta(minutes=30) - timedelta(seconds=20)),
        ]
        for request_id, ago in accepted:  # one at a time: an acceptance after another, as a redispatch makes it
            session.add(RequestHistory(request_id=request_id, status="accepted", at=now - ago, by="test"))
            await session.flush()
        for request_id, status in ((done, "completed"), (dropped, "cancelled"), (waiting, "escalated")):
            await session.execute(
                update(ServiceRequest).where(col(ServiceRequest.id) == request_id).values(status=status)
            )
        await session.execute(
            update(ServiceRequest).where(col(ServiceRequest.id) == moved_id).values(community_id=other.id)
        )
        visit = Visit(request_id=done, caregiver_id=caregiver, checkin_lat=0, checkin_lon=0, checkin_distance_m=0)
        session.add(visit)
        await session.flush()
        visit.rating = 5  # rated after the visit
        await session.flush()
    return home, other, {"done": done, "dropped": dropped, "waiting": waiting, "moved": moved_id}


async def test_order_figures_follow_every_write_and_equal_a_recount(runtime: Runtime) -> None:
    home, other, _ids = await _month_of_orders(runtime)
    today = local_today()
    async with runtime.sessions() as session:
        counted = await count_days(session, [col(Community.id) == home.id], today - timedelta(days=6))
        recount = count_rows(
            await order_rows(session, [col(Community.id) == home.id], local_midnight(today - timedelta(days=6)))
        )
        series = await day_series(session, [col(Community.id) == home.id], 7)
        moved = await day_series(session, [col(Community.id) == other.id], 1)
    assert {day: c.figures(day) for day, c in counted.items()} == {day: c.figures(day) for day, c in recount.items()}
    two_days_ago = series[-3] if series[-3].orders else series[-4]  # made 48 h ago: two or three Suzhou days back
    assert (two_days_ago.orders, two_days_ago.accepted, two_days_ago.completed) == (1, 1, 1)
    assert (two_days_ago.median_accept_seconds, two_days_ago.satisfaction, two_days_ago.rated) == (90, 5.0, 1)
    recent = [d for d in series[-2:] if d.orders]
    assert sum(d.orders for d in recent) == 2 and sum(d.cancelled for d in recent) == 1
    assert sum(d.escalated for d in recent) == 1 and {d.median_accept_seconds for d in recent} <= {20, None}
    assert moved[0].orders == 1 and moved[0].day == today


async def test_the_city_months_and_the_backfill_equal_a_recount(runtime: Runtime) -> None:
    await _month_of_orders(runtime)
    today = local_today()
    first = today - timedelta(days=29)
    async with runtime.sessions() as session:
        # One snapshot for both counts: the suite's scheduler may move an order in between.
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        months = await bureau._months(session, first, today)
        recount = bureau._count_months(await order_rows(session, [], local_midnight(first)), today)
        assert months.keys() == recount.keys() and None in months
        for key, month in months.items():
            again = recount[key]
            assert (month.today, month.counted.figures(today)) == (again.today, again.counted.figures(today))
        # The migration's backfill, run on today's orders, finds exactly what the triggers kept.
        spec = importlib.util.spec_from_file_location("order_figures_migration", MIGRATION)
        assert spec is not None and spec.loader is not None
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        backfill = "SELECT" + migration.BACKFILL.split("SELECT", 1)[1]
        kept = "SELECT request_id, community_id, day, status, accept_seconds, rating FROM order_figure"
        for one, other in ((backfill, kept), (kept, backfill)):
            differ = await session.scalar(text(f"SELECT count(*) FROM (({one}) EXCEPT ALL ({other})) AS d"))
            assert differ == 0


@pytest.mark.parametrize("days", [1, 14])
async def test_a_day_without_orders_counts_nothing(runtime: Runtime, days: int) -> None:
    async with runtime.unit_of_work() as session:
        empty = await new_community(session)
    async with runtime.sessions() as session:
        series = await day_series(session, [col(Community.id) == empty.id], days)
    assert (
        len(series) == days
        and series[-1].day == local_today()
        and series[0].day == date.fromordinal(local_today().toordinal() - days + 1)
    )
    assert all(d.orders == 0 and d.median_accept_seconds is None and d.completion_rate is None for d in series)
