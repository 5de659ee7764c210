"""Domain events: how a lower domain lets higher ones act on what happened without importing them.

A service states a fact (``CaregiverChanged``, ``CaregiverDayChanged``: frozen dataclasses in the domain that
publishes them) with ``await publish(session, event)``. The handlers that higher domains subscribed at start-up
(``@handles(CaregiverChanged)`` in their ``handlers.py``) run at once, in the same unit of work and in the order
they were registered: what they write commits or rolls back with the change, and what must wait for the commit
they ask for as usual (``enqueue_after_commit``, ``emit``). A handler that fails fails the change, as the direct
call it replaces would have.

Handlers are registered by importing their modules: ``worker.registry`` imports every one, and every entry point
(the API, the CLI, a Celery worker, the test suite) imports ``worker.registry``. ``publish`` refuses to run in a
process that did not, so a forgotten import is a loud error, not a reaction silently skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened, in the past tense, carrying ids and plain values (never rows)."""


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[AsyncSession, Any], Awaitable[None]]

_handlers: defaultdict[type[DomainEvent], list[Handler]] = defaultdict(list)
_loaded = False


def handles(kind: type[E]) -> Callable[[Callable[[AsyncSession, E], Awaitable[None]]], Callable[..., Any]]:
    """Subscribe the decorated ``async def handler(session, event)`` to events of ``kind``."""

    def register(handler: Callable[[AsyncSession, E], Awaitable[None]]) -> Callable[..., Any]:
        if handler not in _handlers[kind]:
            _handlers[kind].append(handler)
        return handler

    return register


def handlers_loaded() -> None:
    """Every handler module is imported (``worker.registry`` says so once it has imported them)."""
    global _loaded
    _loaded = True


def is_loaded() -> bool:
    return _loaded


def handler_modules() -> set[str]:
    """The modules whose handlers are registered in this process."""
    return {h.__module__ for hs in _handlers.values() for h in hs}


def subscribers(kind: type[DomainEvent]) -> list[str]:
    """The handlers of ``kind``, by qualified name, in the order they run (for docs and tests)."""
    return [f"{h.__module__}.{h.__qualname__}" for h in _handlers.get(kind, [])]


async def publish(session: AsyncSession, event: DomainEvent) -> None:
    """Run every handler of the event's kind, in this unit of work."""
    if not _loaded:
        raise RuntimeError("domain event handlers are not loaded in this process: import worker.registry first")
    for handler in list(_handlers.get(type(event), ())):
        await handler(session, event)
