"""Caregivers' absences (请假): the history behind ``Caregiver.absent_until``, for their calendars."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.registry.models import CaregiverAbsence


async def record_absence(
    *, session: AsyncSession, caregiver_id: int, at: datetime, until: datetime, reason: str | None, reported_by: str
) -> CaregiverAbsence:
    """She is away from ``at`` until ``until``: a new absence, or, while one is still open, that one with its end
    moved (as ``absent_until`` is) and the newer reason, if one was given."""
    found = await session.execute(
        select(CaregiverAbsence)
        .where(col(CaregiverAbsence.caregiver_id) == caregiver_id, col(CaregiverAbsence.ends_at) > at)
        .order_by(col(CaregiverAbsence.starts_at).desc())
        .limit(1)
    )
    absence = found.scalar_one_or_none()
    if absence is None:
        absence = CaregiverAbsence(
            caregiver_id=caregiver_id, starts_at=at, ends_at=until, reason=reason, reported_by=reported_by
        )
        session.add(absence)
    else:
        absence.ends_at = until
        if reason:
            absence.reason = reason
    await session.flush()
    return absence


async def end_absence(*, session: AsyncSession, caregiver_id: int, at: datetime) -> None:
    """She is back at ``at`` (started a shift): an absence still open ends then."""
    await session.execute(
        update(CaregiverAbsence)
        .where(col(CaregiverAbsence.caregiver_id) == caregiver_id, col(CaregiverAbsence.ends_at) > at)
        .values(ends_at=at)
        .execution_options(synchronize_session=False)
    )


async def absences_between(
    session: AsyncSession, caregiver_id: int, start: datetime, end: datetime
) -> list[CaregiverAbsence]:
    """Her absences overlapping [start, end), earliest first."""
    rows = await session.execute(
        select(CaregiverAbsence)
        .where(
            col(CaregiverAbsence.caregiver_id) == caregiver_id,
            col(CaregiverAbsence.starts_at) < end,
            col(CaregiverAbsence.ends_at) > start,
        )
        .order_by(col(CaregiverAbsence.starts_at), col(CaregiverAbsence.id))
    )
    return list(rows.scalars())
