"""What dispatch tells the domains above it (``backend.core.domain_events``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from backend.core.domain_events import DomainEvent


@dataclass(frozen=True)
class CaregiverDayChanged(DomainEvent):
    """These caregivers' day changed under them: ``absence`` (a sick call took them off) or ``emergency`` (an
    emergency took one, and her other visits went to colleagues)."""

    caregiver_ids: tuple[int, ...]
    why: Literal["absence", "emergency"]
