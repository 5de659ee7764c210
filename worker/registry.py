"""Every task and domain-event handler module, imported once so that their tasks and handlers are registered:
every entry point imports this module (``backend.core.jobs``, ``backend.core.domain_events``)."""

from __future__ import annotations

import backend.audit.tasks
import backend.capacity.tasks
import backend.core.tasks
import backend.devices.tasks
import backend.dispatch.handlers
import backend.dispatch.tasks
import backend.emergency.tasks
import backend.feedback.tasks
import backend.insurance.tasks
import backend.notifications.tasks
import backend.plans.handlers
import backend.plans.tasks
import backend.settlement.tasks
import backend.simulation.tasks  # noqa: F401
from backend.core.domain_events import handlers_loaded
from backend.core.jobs import REGISTRY

__all__ = ["REGISTRY"]

handlers_loaded()
