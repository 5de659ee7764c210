"""Day-care rules: centres, bookings that never overbook a day, cancellations, attendance."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import area_condition, check_elder, covers_community
from backend.areas.models import Community
from backend.areas.service import area_channels
from backend.audit import service as audit
from backend.core.db import local_today, utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.events import emit
from backend.core.lookups import insert_unique, referenced
from backend.core.paging import Page
from backend.daycare.models import BookingStatus, DayCareBooking, DayCareCentre, DayCareDay
from backend.daycare.schemas import BookingCreate, CentreCreate, CentreDay, CentrePublic, DayPublic
from backend.registry.models import Elder, Provider
from backend.users.models import Role, User

BOOKERS = frozenset({Role.admin.value, Role.operator.value, Role.community_staff.value})


def _runs(user: User, centre: DayCareCentre) -> bool:
    return user.role == Role.admin or (user.role == Role.provider_admin and user.provider_id == centre.provider_id)


async def create_centre(*, session: AsyncSession, user: User, data: CentreCreate) -> DayCareCentre:
    """Give a day-care provider its daily places (admins; the provider's own admin)."""
    if not (user.role == Role.admin or (user.role == Role.provider_admin and user.provider_id == data.provider_id)):
        raise Forbidden("无权登记该日间照料中心", code="out_of_scope", message_en="Not your centre")
    await referenced(session, Provider, data.provider_id, what="服务组织", what_en="provider")
    await referenced(session, Community, data.community_id, what="社区", what_en="community")
    centre = DayCareCentre(**data.model_dump())
    taken = Conflict("该服务组织已登记日间照料中心", code="centre_exists", message_en="This provider has a centre")
    return await insert_unique(session, centre, taken)


async def _centre(session: AsyncSession, centre_id: int) -> DayCareCentre:
    centre = await session.get(DayCareCentre, centre_id)
    if centre is None:
        raise NotFound("日间照料中心不存在", code="centre_not_found", message_en="Unknown day-care centre")
    return centre


def wanted_days(data: BookingCreate) -> list[date]:
    if data.days:
        return sorted(set(data.days))
    assert data.start is not None and data.end is not None
    span = (data.end - data.start).days + 1
    return [d for d in (data.start + timedelta(days=n) for n in range(span)) if d.isoweekday() in data.weekdays]


async def _day_row(session: AsyncSession, centre_id: int, day: date) -> None:
    """Make sure the day's counter exists (a concurrent first booking may make it first)."""
    exists = await session.execute(
        select(DayCareDay.id).where(col(DayCareDay.centre_id) == centre_id, col(DayCareDay.day) == day)
    )
    if exists.first() is not None:
        return
    try:
        async with session.begin_nested():
            session.add(DayCareDay(centre_id=centre_id, day=day))
            await session.flush()
    except IntegrityError:
        pass


async def _take_place(session: AsyncSession, centre: DayCareCentre, day: date, *, meal: bool, transport: bool) -> bool:
    """Take a place (and a lunch, a seat) of the day, or nothing when one of them is full."""
    await _day_row(session, centre.id, day)  # type: ignore[arg-type]
    limits = [col(DayCareDay.booked) < centre.places]
    values = {"booked": col(DayCareDay.booked) + 1}
    for wanted, name, cap in ((meal, "meals", centre.meal_places), (transport, "transport", centre.transport_places)):
        if wanted:
            counter = col(getattr(DayCareDay, name))
            limits.append(counter < (cap or 0))
            values[name] = counter + 1
    taken = await session.execute(
        update(DayCareDay)
        .where(col(DayCareDay.centre_id) == centre.id, col(DayCareDay.day) == day, *limits)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


async def book(*, session: AsyncSession, user: User, data: BookingCreate) -> list[DayCareBooking]:
    """Book the elder's days, all or none (409 ``day_full`` naming the full days)."""
    centre = await referenced(session, DayCareCentre, data.centre_id, what="日间照料中心", what_en="centre")
    if not _runs(user, centre):
        if user.role not in BOOKERS:
            raise Forbidden("无权预约", code="role_forbidden", message_en="Your role may not book day care")
        await check_elder(session, user, data.elder_id)
    if data.meal and not centre.meal_places:
        raise Invalid("该中心不提供午餐", code="no_meals", message_en="The centre serves no meals")
    if data.transport and not centre.transport_places:
        raise Invalid("该中心无接送车", code="no_transport", message_en="The centre has no shuttle")
    days = wanted_days(data)
    if not days:
        raise Invalid("所选时段内没有符合的日期", code="no_days", message_en="No day matches")
    if days[0] < local_today():
        raise Invalid("不能预约过去的日期", code="day_past", message_en="Days in the past cannot be booked")
    full = [d for d in days if not await _take_place(session, centre, d, meal=data.meal, transport=data.transport)]
    if full:  # all or none: the unit of work rolls the places taken back
        raise Conflict(
            "以下日期名额已满：" + "、".join(d.isoformat() for d in full),
            code="day_full",
            message_en="Full on: " + ", ".join(d.isoformat() for d in full),
        )
    by = user.actor
    made = []
    twice = Conflict("该老人当天已有预约", code="already_booked", message_en="The elder is booked that day")
    for day in days:
        booking = DayCareBooking(
            centre_id=centre.id,  # type: ignore[arg-type]
            elder_id=data.elder_id,
            day=day,
            meal=data.meal,
            transport=data.transport,
            by=by,
        )
        made.append(await insert_unique(session, booking, twice))
    for day in days:
        await _changed(session, centre, day)
    return made


async def _changed(session: AsyncSession, centre: DayCareCentre, day: date) -> None:
    """Tell the centre's area the day's new counts (``day_care.changed``)."""
    (counts,) = await days_of(session=session, centre_id=centre.id, start=day, end=day)  # type: ignore[arg-type]
    channels = await area_channels(session, centre.community_id)
    emit(session, "day_care.changed", channels, {"centre_id": centre.id, **counts.model_dump(mode="json")})


async def _booking(session: AsyncSession, user: User, booking_id: int) -> tuple[DayCareBooking, DayCareCentre]:
    booking = (
        await session.execute(select(DayCareBooking).where(col(DayCareBooking.id) == booking_id).with_for_update())
    ).scalar_one_or_none()
    if booking is None:
        raise NotFound("预约不存在", code="booking_not_found", message_en="Unknown booking")
    centre = await _centre(session, booking.centre_id)
    if not _runs(user, centre):
        if user.role not in BOOKERS:
            raise Forbidden("无权操作", code="role_forbidden", message_en="Not allowed")
        await check_elder(session, user, booking.elder_id)
    return booking, centre


async def cancel(*, session: AsyncSession, user: User, booking_id: int) -> DayCareBooking:
    """Give the day's place back."""
    booking, centre = await _booking(session, user, booking_id)
    if booking.status != BookingStatus.booked:
        raise Conflict("该预约不能取消", code="not_booked", message_en=f"The booking is {booking.status}")
    values = {"booked": col(DayCareDay.booked) - 1}
    if booking.meal:
        values["meals"] = col(DayCareDay.meals) - 1
    if booking.transport:
        values["transport"] = col(DayCareDay.transport) - 1
    await session.execute(
        update(DayCareDay)
        .where(col(DayCareDay.centre_id) == centre.id, col(DayCareDay.day) == booking.day)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    booking.status, booking.cancelled_at = BookingStatus.cancelled.value, utcnow()
    await session.flush()
    await _changed(session, centre, booking.day)
    return booking


async def attend(*, session: AsyncSession, user: User, booking_id: int) -> DayCareBooking:
    """The elder arrived at the centre (签到): only on the booked day."""
    booking, _centre_row = await _booking(session, user, booking_id)
    if booking.status != BookingStatus.booked:
        raise Conflict("该预约不能签到", code="not_booked", message_en=f"The booking is {booking.status}")
    if booking.day != local_today():
        raise Conflict("只能在预约当天签到", code="not_today", message_en="Check in on the booked day only")
    booking.status, booking.attended_at = BookingStatus.attended.value, utcnow()
    await session.flush()
    return booking


async def area_centres(
    *,
    session: AsyncSession,
    user: User,
    community_id: int | None,
    street_id: int | None,
    district_id: int | None,
    day: date | None,
) -> list[CentreDay]:
    """The centres of an area (the smallest given; none: the city) with the day's places (default: today)."""
    _area, where = await area_condition(session, user, community_id, street_id, district_id)
    day = day or local_today()
    rows = await session.execute(
        select(DayCareCentre, Provider.name, DayCareDay)
        .join(Community, col(Community.id) == col(DayCareCentre.community_id))
        .join(Provider, col(Provider.id) == col(DayCareCentre.provider_id))
        .outerjoin(DayCareDay, (col(DayCareDay.centre_id) == col(DayCareCentre.id)) & (col(DayCareDay.day) == day))
        .where(*where)
        .order_by(col(Provider.name), col(DayCareCentre.id))
    )
    return [
        CentreDay(
            **CentrePublic.model_validate(centre, from_attributes=True).model_dump(),
            name=name,
            today=_day_public(centre, counter or DayCareDay(centre_id=centre.id, day=day)),  # type: ignore[arg-type]
        )
        for centre, name, counter in rows.all()
    ]


async def roster(
    *, session: AsyncSession, user: User, centre_id: int, day: date | None, page: Page
) -> list[tuple[DayCareBooking, str]]:
    """A page of the day's bookings of a centre, by elder name, for the check-in desk (the centre, staff of its
    area); the reads of the names shown are audited."""
    centre = await _centre(session, centre_id)
    if not _runs(user, centre):
        community = await session.get(Community, centre.community_id)
        if user.role not in BOOKERS or community is None or not covers_community(user, community):
            raise Forbidden("超出您的管辖范围", code="out_of_scope", message_en="Outside your scope")
    rows = await page.rows(
        session,
        select(DayCareBooking, Elder.name)
        .join(Elder, col(Elder.id) == col(DayCareBooking.elder_id))
        .where(
            col(DayCareBooking.centre_id) == centre_id,
            col(DayCareBooking.day) == (day or local_today()),
            col(DayCareBooking.status) != BookingStatus.cancelled.value,
        )
        .order_by(col(Elder.name), col(DayCareBooking.id)),
    )
    found = [(booking, name) for booking, name in rows]
    await audit.record_reads(session, action="elder.list", elder_ids=[b.elder_id for b, _ in found])
    return found


async def elder_bookings(
    *, session: AsyncSession, user: User, elder_id: int, start: date, end: date
) -> list[DayCareBooking]:
    """An elder's bookings from ``start`` to ``end`` (cancelled ones included), by day."""
    await check_elder(session, user, elder_id)
    _check_range(start, end)
    rows = await session.execute(
        select(DayCareBooking)
        .where(col(DayCareBooking.elder_id) == elder_id, col(DayCareBooking.day).between(start, end))
        .order_by(col(DayCareBooking.day), col(DayCareBooking.id))
    )
    return list(rows.scalars())


def _check_range(start: date, end: date) -> None:
    if end < start or (end - start).days > 92:
        raise Invalid("日期范围无效（最多 93 天）", code="invalid_range", message_en="Bad range (93 days at most)")


def _day_public(centre: DayCareCentre, counter: DayCareDay) -> DayPublic:
    return DayPublic(
        day=counter.day,
        places=centre.places,
        booked=counter.booked,
        free=max(0, centre.places - counter.booked),
        meals=counter.meals,
        transport=counter.transport,
    )


async def days_of(*, session: AsyncSession, centre_id: int, start: date, end: date) -> list[DayPublic]:
    """Each day's places, taken and free, from ``start`` to ``end``."""
    centre = await _centre(session, centre_id)
    _check_range(start, end)
    rows = await session.execute(
        select(DayCareDay).where(
            col(DayCareDay.centre_id) == centre_id, col(DayCareDay.day) >= start, col(DayCareDay.day) <= end
        )
    )
    counters = {d.day: d for d in rows.scalars()}
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [_day_public(centre, counters.get(d) or DayCareDay(centre_id=centre_id, day=d)) for d in days]
