"""What a caregiver's calendar shows for a span: her booked visits, her roster's shifts, her absences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from backend.areas.models import Community, Street
from backend.audit import service as audit
from backend.calendars.holidays import day_info
from backend.calendars.models import CaregiverBooking
from backend.calendars.rosters import periods_on, roster
from backend.calendars.schemas import CalendarAbsence, CalendarBooking, CalendarPublic, CalendarShift
from backend.core.db import local_aware, local_midnight, local_today
from backend.core.errors import Invalid
from backend.core.i18n import LOCAL_TZ
from backend.core.identity import courtesy_name
from backend.orders.models import Priority, ServiceRequest, Status
from backend.registry.absences import absences_between
from backend.registry.models import Caregiver, Elder, ServiceType

DEFAULT_DAYS = 7  # no span asked for: a week from today's midnight in Suzhou
MAX_DAYS = 31


def calendar_span(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The span asked for, times without a zone in Suzhou time; a week from today when neither end is given, a
    week from (or to) the one given. 422 ``invalid_range`` unless start < end, ``range_too_long`` past 31 days."""
    start, end = local_aware(start), local_aware(end)
    week = timedelta(days=DEFAULT_DAYS)
    if start is None:
        start = end - week if end is not None else local_midnight(local_today())
    if end is None:
        end = start + week
    if end <= start:
        raise Invalid("结束时间必须晚于开始时间", code="invalid_range", message_en="end must be after start")
    if end - start > timedelta(days=MAX_DAYS):
        raise Invalid(
            f"日历一次最多查询 {MAX_DAYS} 天",
            code="range_too_long",
            message_en=f"A calendar spans at most {MAX_DAYS} days",
        )
    return start, end


async def calendar(
    *,
    session: AsyncSession,
    caregiver: Caregiver,
    start: datetime | None,
    end: datetime | None,
    reasons: bool,
    english: bool,
) -> CalendarPublic:
    """The caregiver's calendar over [start, end) (``calendar_span``); ``reasons``: the viewer may read why she was
    away. The elders of the visits shown are in the audit trail (``elder.list``)."""
    assert caregiver.id is not None
    start, end = calendar_span(start, end)
    bookings, elder_ids = await _bookings(session, caregiver.id, start, end, english=english)
    await audit.record_reads(session, action="elder.list", elder_ids=elder_ids)
    periods = await roster(session, caregiver.id)
    shifts = []
    day = start.astimezone(LOCAL_TZ).date()
    while (midnight := local_midnight(day)) < end:
        # The periods she works that day: none on a public holiday she does not work, her roster of the weekday an
        # adjusted working day is worked as besides its own (backend/calendars/rosters.py).
        info = await day_info(session, day)
        for first, last in periods_on(info, caregiver, periods):
            begins = midnight + timedelta(minutes=first)
            ends = midnight + timedelta(minutes=last)
            if begins < end and ends > start:
                shifts.append(
                    CalendarShift(
                        weekday=day.isoweekday(), day_kind=info.kind, starts_at=_utc(begins), ends_at=_utc(ends)
                    )
                )
        day += timedelta(days=1)
    absences = [
        CalendarAbsence(
            starts_at=a.starts_at, ends_at=a.ends_at, reason=a.reason if reasons else None, reported_by=a.reported_by
        )
        for a in await absences_between(session, caregiver.id, start, end)
    ]
    return CalendarPublic(
        caregiver_id=caregiver.id,
        start=_utc(start),
        end=_utc(end),
        on_shift=caregiver.on_shift,
        rostered=bool(periods),
        bookings=bookings,
        shifts=shifts,
        absences=absences,
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


async def _bookings(
    session: AsyncSession, caregiver_id: int, start: datetime, end: datetime, *, english: bool
) -> tuple[list[CalendarBooking], list[int]]:
    """Her active bookings overlapping the span with their orders, and the elders they name (in order)."""
    rows = await session.execute(
        sa_select(
            CaregiverBooking,
            ServiceRequest,
            col(Elder.name),
            col(Elder.gender),
            col(Street.name),
            col(Community.name),
            ServiceType,
        )
        .join(ServiceRequest, col(ServiceRequest.id) == col(CaregiverBooking.request_id))
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .join(Community, col(Community.id) == col(ServiceRequest.community_id))
        .join(Street, col(Street.id) == col(Community.street_id))
        .outerjoin(ServiceType, col(ServiceType.code) == col(ServiceRequest.service_type))
        .where(
            col(CaregiverBooking.caregiver_id) == caregiver_id,
            col(CaregiverBooking.active).is_(True),
            col(CaregiverBooking.starts_at) < end,
            col(CaregiverBooking.ends_at) > start,
        )
        .order_by(col(CaregiverBooking.starts_at), col(CaregiverBooking.id))
    )
    bookings, elder_ids = [], []
    for booking, request, name, gender, street, community, kind in rows.all():
        assert request.id is not None
        elder_ids.append(request.elder_id)
        bookings.append(
            CalendarBooking(
                request_id=request.id,
                service_type=request.service_type,
                service_name=(kind.name_en if english else kind.name_zh) if kind else request.service_type,
                priority=Priority(request.priority),
                status=Status(request.status),
                starts_at=booking.starts_at,
                ends_at=booking.ends_at,
                window_start=request.window_start,
                window_end=request.window_end,
                elder_name=courtesy_name(name, gender),
                community_id=request.community_id,
                area=f"{street} {community}",
            )
        )
    return bookings, elder_ids
