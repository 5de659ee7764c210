"""Domain events: the handlers that higher domains register run in order, in the publisher's unit of work, and a
process that never loaded them refuses to publish instead of skipping the reactions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import domain_events
from backend.core.domain_events import DomainEvent, handles, publish, subscribers
from backend.dispatch.events import CaregiverDayChanged
from backend.registry.events import CaregiverChanged

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Happened(DomainEvent):
    what: str


def test_each_event_of_the_platform_has_the_handler_the_architecture_names() -> None:
    assert subscribers(CaregiverChanged) == ["backend.dispatch.handlers.new_skills_wake_waiting_orders"]
    assert subscribers(CaregiverDayChanged) == ["backend.plans.handlers.replan_their_day"]


async def test_handlers_run_in_the_order_registered_with_the_publisher_s_session() -> None:
    seen: list[tuple[str, Any, str]] = []
    session = cast(AsyncSession, object())

    @handles(Happened)
    async def first(s: AsyncSession, event: Happened) -> None:
        seen.append(("first", s, event.what))

    @handles(Happened)
    async def second(s: AsyncSession, event: Happened) -> None:
        seen.append(("second", s, event.what))

    handles(Happened)(first)  # registering the same handler again does not run it twice
    await publish(session, Happened("visit done"))
    assert seen == [("first", session, "visit done"), ("second", session, "visit done")]


async def test_a_failing_handler_fails_the_change() -> None:
    @dataclass(frozen=True)
    class Broke(DomainEvent):
        pass

    @handles(Broke)
    async def breaks(_s: AsyncSession, _event: Broke) -> None:
        raise ValueError("the reaction failed")

    with pytest.raises(ValueError, match="the reaction failed"):
        await publish(cast(AsyncSession, object()), Broke())


async def test_a_process_that_never_loaded_the_handlers_refuses_to_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(domain_events, "_loaded", False)
    with pytest.raises(RuntimeError, match=r"worker\.registry"):
        await publish(cast(AsyncSession, object()), Happened("lost"))
