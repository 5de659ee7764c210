"""What the registry tells the domains above it (``backend.core.domain_events``)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.domain_events import DomainEvent


@dataclass(frozen=True)
class CaregiverChanged(DomainEvent):
    """A caregiver's record changed: ``fields`` names what (``name``, ``phone``, ``skills``, ``languages``)."""

    caregiver_id: int
    fields: tuple[str, ...]
    on_shift: bool
