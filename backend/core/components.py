"""The platform's registered components (task and domain-event handler modules), carried into a child process.

A process started with ``spawn`` has none of its parent's imports: ``loaded()`` names the modules that registered
tasks and handlers in this process (the entry point imported ``worker.registry``), ``load()`` imports them in the
child, so a simulated day run there has every task and handler its parent had."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from backend.core import domain_events
from backend.core.jobs import REGISTRY


@dataclass(frozen=True)
class Components:
    modules: tuple[str, ...]
    handlers: bool  # the parent had every domain-event handler loaded


def loaded() -> Components:
    """What this process registered."""
    modules = {fn.__module__ for fn in REGISTRY.values()} | domain_events.handler_modules()
    return Components(tuple(sorted(modules)), domain_events.is_loaded())


def load(components: Components) -> None:
    """Register in this process what ``loaded()`` found in the parent."""
    for module in components.modules:
        importlib.import_module(module)
    if components.handlers:
        domain_events.handlers_loaded()
