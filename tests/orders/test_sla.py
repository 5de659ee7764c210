"""An order's SLA times and when it breaches them (the queue's colours and the breach prediction read the same)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.core.config import Settings
from backend.dispatch.breach_features import at_stake
from backend.orders.models import ServiceRequest, Status
from backend.orders.sla import breach_of

pytestmark = pytest.mark.unit

MADE = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SETTINGS = Settings(sla_accept_minutes={"normal": 60, "urgent": 15, "emergency": 3}, sla_late_arrival_minutes=30)


def order(*, window_in: float | None = None, status: Status = Status.dispatching) -> ServiceRequest:
    start = MADE + timedelta(minutes=window_in) if window_in is not None else None
    return ServiceRequest(
        elder_id=1, community_id=1, service_type="meal", status=status.value, created_at=MADE, updated_at=MADE,
        window_start=start, window_end=start + timedelta(hours=1) if start else None,
    )  # fmt: skip


def at(minutes: float) -> datetime:
    return MADE + timedelta(minutes=minutes)


def test_not_accepted_within_its_time_is_a_breach_at_that_time() -> None:
    assert breach_of(order(), SETTINGS, accepted_at=None, arrived_at=None, cancelled_at=None) == ("accept", at(60))
    assert breach_of(order(), SETTINGS, accepted_at=at(61), arrived_at=at(70), cancelled_at=None) == ("accept", at(60))
    assert breach_of(order(), SETTINGS, accepted_at=at(59), arrived_at=at(70), cancelled_at=None) is None


def test_a_booked_visit_breaches_when_she_is_at_the_door_after_half_an_hour_into_its_window() -> None:
    booked = order(window_in=120)
    assert breach_of(booked, SETTINGS, accepted_at=at(5), arrived_at=at(151), cancelled_at=None) == ("arrive", at(150))
    assert breach_of(booked, SETTINGS, accepted_at=at(5), arrived_at=at(149), cancelled_at=None) is None


def test_the_sooner_time_counts_and_a_cancelled_order_does_not_breach_what_came_after() -> None:
    soon = order(window_in=10)  # at the door by 40 minutes, accepted by 60: the door comes first
    assert breach_of(soon, SETTINGS, accepted_at=None, arrived_at=None, cancelled_at=None) == ("arrive", at(40))
    assert at_stake(soon, SETTINGS, at(1)) == ("arrive", at(40))
    assert breach_of(order(), SETTINGS, accepted_at=None, arrived_at=None, cancelled_at=at(30)) is None
    assert breach_of(order(), SETTINGS, accepted_at=None, arrived_at=None, cancelled_at=at(90)) == ("accept", at(60))


def test_what_is_at_stake_while_waiting_once_accepted_and_once_late() -> None:
    assert at_stake(order(), SETTINGS, at(1)) == ("accept", at(60))
    assert at_stake(order(status=Status.accepted), SETTINGS, at(1)) == ("arrive", at(24 * 60))
    assert at_stake(order(), SETTINGS, at(61)) is None  # late already: nothing left to predict
