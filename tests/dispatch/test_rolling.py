"""Rolling re-optimisation (the lookahead policy): accepted visits that have not started are planned again, and a
change of hands is made only when it is worth it, within the hard rules, and never silently."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from backend.calendars.models import CaregiverBooking
from backend.core.config import Settings
from backend.core.db import local_today, set_clock
from backend.core.events import ChannelEvent
from backend.core.i18n import LOCAL_TZ
from backend.core.runtime import Runtime
from backend.dispatch.manual import report_absence
from backend.dispatch.models import Offer, OfferStatus
from backend.orders.lifecycle import Actor
from backend.orders.models import RequestHistory, ServiceRequest, Status
from backend.plans import rolling
from backend.registry.models import BlockedCaregiver, Caregiver, CaregiverSkill, Provider
from backend.requests import service as requests
from backend.users.models import User
from tests.client import unique_phone
from tests.factories import HERE, elder_at_home, new_community

pytestmark = pytest.mark.unit

KM = 1 / (111.32 * 0.854)  # a kilometre of longitude at Suzhou's latitude, in degrees
MORNING = datetime.combine(local_today() + timedelta(days=1), time(8, 0), LOCAL_TZ)


def at(hour: int, minute: int = 0) -> datetime:
    return MORNING.replace(hour=hour, minute=minute)


@pytest.fixture
def clock() -> Iterator[None]:
    """It is 08:00 on a fixed day (a re-plan covers the rest of today, whatever time the suite runs)."""
    set_clock(lambda: MORNING)
    yield
    set_clock(None)


class Recorded:
    """The job queue of these tests: what was asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, tuple[Any, ...]]] = []

    def enqueue(self, name: str, *args: Any, countdown: float = 0) -> None:
        self.asked.append((name, args))

    async def stop(self) -> None:
        """Nothing runs."""


@pytest.fixture
async def ahead(runtime: Runtime, clock: None) -> AsyncIterator[Runtime]:
    """A runtime looking ahead, on the suite's database."""
    settings = Settings(
        database_url=runtime.settings.database_url,
        redis_url=None,
        environment="test",
        dispatch_policy="lookahead",
        replan_seconds=0.5,
        fairness_cache_seconds=0,
    )
    made = Runtime(settings, role="cli")
    made.jobs = Recorded()
    yield made
    await made.stop()


@dataclass
class Town:
    provider_id: int
    west: int  # a caregiver living at the west end
    east: int  # and one at the east end
    west_visit: int  # a visit at the west end at 10:00, held by the east one
    east_visit: int  # a visit at the east end at 10:00, held by the west one
    west_elder: int


async def crossed(runtime: Runtime, *, book_from: datetime | None = None) -> Town:
    """Two caregivers 10 km apart, each holding the visit at the other's end of town."""
    async with runtime.unit_of_work() as session:
        community = await new_community(session)
        provider = Provider(name=f"重排测试{uuid.uuid4().hex[:6]}", kind="home_care", lat=HERE.lat, lon=HERE.lon)
        session.add(provider)
        await session.flush()
        assert provider.id is not None

        async def caregiver(km_east: float) -> int:
            user = User(username=f"replan_{uuid.uuid4().hex[:10]}", password_hash="-", role="caregiver")
            session.add(user)
            await session.flush()
            made = Caregiver(
                provider_id=provider.id,  # type: ignore[arg-type]
                user_id=user.id,  # type: ignore[arg-type]
                name=f"护理员{'西' if km_east < 0 else '东'}",
                phone=unique_phone(),
                lat=HERE.lat,
                lon=HERE.lon + km_east * KM,
            )
            session.add(made)
            await session.flush()
            assert made.id is not None
            session.add(CaregiverSkill(caregiver_id=made.id, service_type="meal"))
            return made.id

        async def visit(km_east: float, holder: int) -> tuple[int, int]:
            elder = elder_at_home(community)
            elder.lon = HERE.lon + km_east * KM
            session.add(elder)
            await session.flush()
            request = ServiceRequest(
                elder_id=elder.id,  # type: ignore[arg-type]
                community_id=community.id,  # type: ignore[arg-type]
                service_type="meal",
                status=Status.accepted.value,
                assigned_caregiver_id=holder,
                window_start=at(10),
                window_end=at(11),
                updated_at=MORNING,
            )
            session.add(request)
            await session.flush()
            assert request.id is not None and elder.id is not None
            session.add(
                Offer(
                    request_id=request.id,
                    caregiver_id=holder,
                    status=OfferStatus.accepted.value,
                    distance_m=9000.0,
                    explanation="测试",
                    explanation_en="test",
                    expires_at=MORNING,
                    created_at=MORNING,
                )
            )
            session.add(
                CaregiverBooking(
                    caregiver_id=holder,
                    request_id=request.id,
                    starts_at=book_from or at(9, 20),
                    ends_at=at(10, 45),
                )
            )
            return request.id, elder.id

        west, east = await caregiver(-5), await caregiver(5)
        west_visit, west_elder = await visit(-4.5, east)
        east_visit, _ = await visit(4.5, west)
    return Town(provider.id, west, east, west_visit, east_visit, west_elder)


async def holders(runtime: Runtime, request_id: int) -> tuple[int | None, list[int]]:
    async with runtime.sessions() as session:
        request = await session.get(ServiceRequest, request_id)
        assert request is not None
        booked = await session.execute(
            select(CaregiverBooking.caregiver_id).where(
                col(CaregiverBooking.request_id) == request_id, col(CaregiverBooking.active).is_(True)
            )
        )
        return request.assigned_caregiver_id, list(booked.scalars())


async def events_since(runtime: Runtime, first: int) -> list[ChannelEvent]:
    await runtime.relay_now()  # sequenced into their channels, as the relay does after each commit
    async with runtime.sessions() as session:
        rows = await session.execute(select(ChannelEvent).where(col(ChannelEvent.id) >= first))
        return list(rows.scalars())


async def last_event_id(runtime: Runtime) -> int:
    await runtime.relay_now()
    async with runtime.sessions() as session:
        rows = await session.execute(select(ChannelEvent.id).order_by(col(ChannelEvent.id).desc()).limit(1))
        return (rows.scalar() or 0) + 1


async def test_two_crossed_visits_change_hands_and_everyone_is_told_why(ahead: Runtime) -> None:
    town = await crossed(ahead)
    since = await last_event_id(ahead)
    async with ahead.unit_of_work() as session:
        done = await rolling.replan(session=session, settings=ahead.settings, provider_id=town.provider_id)
    assert done.outcome == "changed" and done.visits == 2
    assert done.saved_minutes > 2 * ahead.settings.replan_change_minutes  # two crossings of the town saved
    # Each visit now goes to the caregiver at its own end of town, her time booked for it, the other's freed.
    assert await holders(ahead, town.west_visit) == (town.west, [town.west])
    assert await holders(ahead, town.east_visit) == (town.east, [town.east])
    async with ahead.sessions() as session:
        history = (
            (
                await session.execute(
                    select(RequestHistory)
                    .where(col(RequestHistory.request_id) == town.west_visit)
                    .order_by(col(RequestHistory.id).desc())
                )
            )
            .scalars()
            .first()
        )
        assert history is not None and history.status == Status.accepted.value == history.from_status
        assert history.reason is not None and "改由 护理员西 上门（原 护理员东）" in history.reason
        offer = (await session.execute(select(Offer).where(col(Offer.request_id) == town.west_visit))).scalar_one()
        assert offer.status == OfferStatus.released.value  # the east one no longer reads the order
    events = await events_since(ahead, since)
    published = {e.channel: e.data for e in events if e.event == "plan.published"}
    assert set(published) == {f"caregiver:{town.west}", f"caregiver:{town.east}"}
    west_day = published[f"caregiver:{town.west}"]
    assert west_day["added"] == [town.west_visit] and west_day["removed"] == [town.east_visit]
    assert [v["request_id"] for v in west_day["visits"]] == [town.west_visit]
    assert (west_day["reason"], west_day["reason_en"]) == ("定时重新优化", "the day was re-optimised")
    told = {e.channel for e in events if e.event == "request.reassigned" and e.data["request_id"] == town.west_visit}
    assert {f"elder:{town.west_elder}", f"caregiver:{town.west}", f"caregiver:{town.east}"} <= told


async def test_a_change_not_worth_its_cost_leaves_the_day_as_it_is(ahead: Runtime) -> None:
    town = await crossed(ahead)
    dear = ahead.settings.model_copy(update={"replan_change_minutes": 500.0})
    async with ahead.unit_of_work() as session:
        done = await rolling.replan(session=session, settings=dear, provider_id=town.provider_id)
    assert done.outcome == "kept" and done.moves == []
    assert await holders(ahead, town.west_visit) == (town.east, [town.east])


async def test_a_caregiver_the_elder_refused_is_not_given_her_visit(ahead: Runtime) -> None:
    town = await crossed(ahead)
    async with ahead.unit_of_work() as session:
        session.add(BlockedCaregiver(elder_id=town.west_elder, caregiver_id=town.west))
    async with ahead.unit_of_work() as session:
        done = await rolling.replan(session=session, settings=ahead.settings, provider_id=town.provider_id)
    assert town.west_visit not in {m.request_id for m in done.moves}
    assert await holders(ahead, town.west_visit) == (town.east, [town.east])


async def test_a_visit_she_sets_off_for_soon_stays_with_her(ahead: Runtime) -> None:
    town = await crossed(ahead, book_from=MORNING + timedelta(minutes=10))  # sets off at 08:10: within the freeze
    async with ahead.unit_of_work() as session:
        done = await rolling.replan(session=session, settings=ahead.settings, provider_id=town.provider_id)
    assert done.outcome == "nothing_to_plan" and done.visits == 0
    assert await holders(ahead, town.east_visit) == (town.west, [town.west])


async def test_a_sick_call_and_a_cancellation_ask_for_a_re_plan_of_the_provider(ahead: Runtime) -> None:
    town = await crossed(ahead)
    async with ahead.unit_of_work() as session:
        await report_absence(
            session=session,
            settings=ahead.settings,
            caregiver_id=town.west,
            reported_by=Actor.system("test"),
            reason=None,
        )
    assert ("plans.replan", (town.provider_id, "absence")) in ahead.jobs.asked  # type: ignore[attr-defined]
    async with ahead.unit_of_work() as session:
        operator = User(username=f"op_{uuid.uuid4().hex[:10]}", password_hash="-", role="operator")
        session.add(operator)
        await session.flush()
        request = await session.get(ServiceRequest, town.west_visit)  # still held by the east one
        assert request is not None
        await requests.cancel_request(session=session, request=request, user=operator, reason="老人住院")
    assert ("plans.replan", (town.provider_id, "cancelled")) in ahead.jobs.asked  # type: ignore[attr-defined]


async def test_greedy_and_batched_never_re_plan(runtime: Runtime, clock: None) -> None:
    town = await crossed(runtime)
    recorded = Recorded()
    runtime.jobs, kept = recorded, runtime.jobs  # type: ignore[assignment]
    try:
        async with runtime.unit_of_work() as session:
            await report_absence(
                session=session,
                settings=runtime.settings,
                caregiver_id=town.west,
                reported_by=Actor.system("t"),
                reason=None,
            )
    finally:
        runtime.jobs = kept
    assert not [name for name, _ in recorded.asked if name.startswith("plans.replan")]


async def test_the_scheduler_s_sweep_asks_each_provider_with_movable_visits_and_the_task_re_plans(
    ahead: Runtime,
) -> None:
    import worker.registry  # noqa: F401  (registers every task)
    from backend.core.jobs import REGISTRY

    town = await crossed(ahead)
    asked = await REGISTRY["plans.replan_all"](ahead)
    assert asked >= 1 and ("plans.replan", (town.provider_id, "periodic")) in ahead.jobs.asked  # type: ignore[attr-defined]
    assert await REGISTRY["plans.replan"](ahead, town.provider_id, "periodic") == 2
    assert await holders(ahead, town.east_visit) == (town.east, [town.east])
