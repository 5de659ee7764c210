"""Every task module, imported once so their tasks are registered."""

from __future__ import annotations

import backend.audit.tasks
import backend.capacity.tasks
import backend.core.tasks
import backend.devices.tasks
import backend.dispatch.tasks
import backend.emergency.tasks
import backend.feedback.tasks
import backend.insurance.tasks
import backend.notifications.tasks
import backend.plans.tasks
import backend.settlement.tasks
import backend.simulation.tasks  # noqa: F401
from backend.core.jobs import REGISTRY

__all__ = ["REGISTRY"]
