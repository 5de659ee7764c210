"""Work order rules: intake, the queue, cancellation, and the caregiver's steps at the door."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import (
    ElderUse,
    check_community,
    check_elder,
    covers_community,
    followed_elders,
    follows,
    visible_communities,
)
from backend.areas.models import Community
from backend.benefits.service import decide_payer
from backend.calendars.models import CaregiverBooking
from backend.calendars.service import crew_of, finish, release
from backend.core.config import Settings
from backend.core.db import local_aware, utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.events import emit
from backend.core.geo import distance_m
from backend.core.i18n import LOCAL_TZ
from backend.core.lookups import referenced
from backend.core.paging import Page
from backend.dispatch.offers import withdraw_other_offers
from backend.dispatch.rounds import dispatch_after_commit
from backend.dispatch.waiting import caregivers_freed
from backend.emergency import service as ladder
from backend.emergency.models import LadderStep
from backend.emergency.schemas import LadderEntry
from backend.feedback import service as feedback
from backend.notifications.service import notify_family
from backend.orders.lifecycle import Actor, lock_request, record_creation, transition
from backend.orders.models import (
    ACTIVE_STATUSES,
    REFILLING_STATUSES,
    Payer,
    Priority,
    RequestHistory,
    ServiceRequest,
    Status,
    Visit,
)
from backend.orders.proof_status import min_visit_share, proofs_by_request, visit_public
from backend.plans.triggers import replan_after
from backend.registry.models import Caregiver, Elder, ServiceType
from backend.registry.service import service_type_or_422
from backend.requests.confirmation import confirm_with_code
from backend.requests.schemas import (
    HistoryEntry,
    RatingBody,
    RequestCreate,
    RequestPublic,
)
from backend.users.models import Role, User


async def create_request(
    *, session: AsyncSession, settings: Settings, user: User, data: RequestCreate
) -> ServiceRequest:
    """Take an order for an elder and start dispatching it after commit."""
    elder = await elder_to_order_for(session=session, user=user, data=data)
    return await open_request(
        session=session, settings=settings, elder=elder, data=data, actor=Actor.of_user(user), user_id=user.id
    )


async def elder_to_order_for(*, session: AsyncSession, user: User, data: RequestCreate) -> Elder:
    """The elder an order is for, if this user may order for her (and have the government pay, when asked)."""
    elder = await referenced(session, Elder, data.elder_id, what="老人", what_en="elder")
    if user.role == Role.elder and user.elder_id != elder.id:
        raise Forbidden("只能为本人下单", code="out_of_scope", message_en="Elders may only order for themselves")
    if user.role == Role.community_staff:
        community = await session.get(Community, elder.community_id)
        if community is None or not covers_community(user, community):
            raise Forbidden("超出您的管辖范围", code="out_of_scope", message_en="Outside your scope")
    elif user.role == Role.family:  # only with the elder's consent to act for her
        await check_elder(session, user, data.elder_id, ElderUse.act)
    elif user.role not in (Role.admin, Role.operator, Role.elder):
        raise Forbidden("无权下单", code="role_forbidden", message_en="Your role may not create orders")
    if data.paid_by == Payer.government and user.role not in (Role.admin, Role.operator, Role.community_staff):
        raise Forbidden(
            "政府购买服务工单只能由工作人员登记",
            code="government_pay_forbidden",
            message_en="Only staff may file a government-paid order",
        )
    return elder


async def open_request(
    *,
    session: AsyncSession,
    settings: Settings,
    elder: Elder,
    data: RequestCreate,
    actor: Actor,
    user_id: int | None = None,
) -> ServiceRequest:
    """Open an order for the elder (whoever may: checked by the caller) and dispatch it after commit."""
    kind = await service_type_or_422(session, data.service_type)
    start, end = local_aware(data.window_start), local_aware(data.window_end)
    if start and end and end <= start:
        raise Invalid(
            "服务时段的结束时间必须晚于开始时间",
            code="invalid_window",
            message_en="window_end must be after window_start",
        )
    now = utcnow()
    paid_by = await _payer(session, elder, data, start or now)
    request = ServiceRequest(
        elder_id=elder.id,  # type: ignore[arg-type]
        community_id=elder.community_id,
        service_type=data.service_type,
        priority=data.priority.value,
        paid_by=paid_by.value,
        status=Status.new.value,
        window_start=start,
        window_end=end,
        notes=data.notes,
        created_by_user_id=user_id,
        created_at=now,
        updated_at=now,
        dispatch_started_at=now,
    )
    session.add(request)
    await session.flush()
    opened: dict[int, tuple[RequestHistory, ServiceType]] = session.info.setdefault("opened", {})
    opened[request.id] = (await record_creation(session, request, actor), kind)  # type: ignore[index]
    if request.priority == Priority.emergency:
        await ladder.start(session, settings, request, actor)
    dispatch_after_commit(session, settings, request)  # emergencies never wait for the batching window
    return request


async def _payer(session: AsyncSession, elder: Elder, data: RequestCreate, needed_at: datetime) -> Payer:
    """An emergency is the one-key emergency service's (一键通), not an order of the elder's monthly quota; any
    other order the quota's (``decide_payer``)."""
    if data.priority == Priority.emergency:
        return Payer.emergency
    return await decide_payer(session, elder, data.paid_by, needed_at)


async def requests_public(session: AsyncSession, requests: list[ServiceRequest]) -> list[RequestPublic]:
    """Orders with their history, ladder, visit (and its proof) and crew, as the API shows them (seven queries for
    any number)."""
    ids = [r.id for r in requests]
    histories: dict[int, list[HistoryEntry]] = {i: [] for i in ids if i is not None}
    rows = await session.execute(
        select(RequestHistory).where(col(RequestHistory.request_id).in_(ids)).order_by(col(RequestHistory.id))
    )
    for h in rows.scalars():
        histories[h.request_id].append(HistoryEntry.model_validate(h, from_attributes=True))
    visits = {
        v.request_id: v for v in (await session.execute(select(Visit).where(col(Visit.request_id).in_(ids)))).scalars()
    }
    crews: dict[int, list[int]] = {}
    booked = select(CaregiverBooking.request_id, CaregiverBooking.caregiver_id).where(
        col(CaregiverBooking.request_id).in_(ids), col(CaregiverBooking.active).is_(True)
    )
    for request_id, caregiver_id in (await session.execute(booked.order_by(col(CaregiverBooking.id)))).all():
        crews.setdefault(request_id, []).append(caregiver_id)
    kinds = {
        code: (needed, proof, minutes)
        for code, needed, proof, minutes in (
            await session.execute(
                select(
                    ServiceType.code,
                    ServiceType.caregivers_needed,
                    ServiceType.proof_required,
                    ServiceType.default_minutes,
                ).where(col(ServiceType.code).in_({r.service_type for r in requests}))
            )
        ).all()
    }
    share = min_visit_share(session)
    proofs = await proofs_by_request(session, ids)
    ladders: dict[int, list[LadderEntry]] = {}
    rungs = select(LadderStep).where(col(LadderStep.request_id).in_(ids)).order_by(col(LadderStep.position))
    for step in (await session.execute(rungs)).scalars():
        ladders.setdefault(step.request_id, []).append(LadderEntry.model_validate(step, from_attributes=True))
    out = []
    for request in requests:
        public = RequestPublic.model_validate(request, from_attributes=True)
        public.history = histories.get(request.id, [])  # type: ignore[arg-type]
        public.ladder = ladders.get(request.id, [])  # type: ignore[arg-type]
        needed, required, minutes = kinds.get(request.service_type, (1, [], None))
        public.crew, public.caregivers_needed = crews.get(request.id, []), needed  # type: ignore[arg-type]
        visit = visits.get(request.id)  # type: ignore[arg-type]
        if visit is not None:
            found = proofs.get(visit.request_id, [])
            public.visit = visit_public(visit, found, required, usual_minutes=minutes, share=share)
        out.append(public)
    return out


async def elders_of(session: AsyncSession, requests: list[ServiceRequest]) -> dict[int, Elder]:
    """The elders of these orders, by id, in one query (whoever reads them audits the read)."""
    ids = {r.elder_id for r in requests}
    if not ids:
        return {}
    rows = await session.execute(select(Elder).where(col(Elder.id).in_(ids)))
    return {e.id: e for e in rows.scalars() if e.id is not None}


async def request_public(session: AsyncSession, request: ServiceRequest) -> RequestPublic:
    """One order with its history and visit."""
    return (await requests_public(session, [request]))[0]


async def new_request_public(session: AsyncSession, request: ServiceRequest) -> RequestPublic:
    """An order as the API shows it, without reading back one this unit of work has just opened: nothing has
    happened to it yet but its creation (no visit, crew or proof can exist before it is dispatched after commit).
    An emergency (its ladder has started) or an order opened before is read as usual."""
    opened: tuple[RequestHistory, ServiceType] | None = session.info.get("opened", {}).get(request.id)
    if opened is None or request.priority == Priority.emergency:
        return await request_public(session, request)
    created, kind = opened
    public = RequestPublic.model_validate(request, from_attributes=True)
    public.history = [HistoryEntry.model_validate(created, from_attributes=True)]
    public.caregivers_needed = kind.caregivers_needed
    return public


async def list_requests(
    *,
    session: AsyncSession,
    user: User,
    community_id: int | None,
    status: Status | None,
    page: Page,
    elder_id: int | None = None,
) -> list[ServiceRequest]:
    """A page of a queue of orders within the user's scope (one elder's, when asked), newest first."""
    query = select(ServiceRequest).order_by(col(ServiceRequest.id).desc())
    if elder_id is not None:
        query = query.where(col(ServiceRequest.elder_id) == elder_id)
    if community_id is not None:
        query = query.where(col(ServiceRequest.community_id) == community_id)
    if status is not None:
        query = query.where(col(ServiceRequest.status) == status.value)
    if community_id is not None and user.role in (Role.admin, Role.operator, Role.community_staff):
        await check_community(session, user, community_id)
    if user.role == Role.community_staff:
        query = query.where(col(ServiceRequest.community_id).in_(visible_communities(user)))  # type: ignore[arg-type]
    elif user.role == Role.elder:
        query = query.where(col(ServiceRequest.elder_id) == user.elder_id)
    elif user.role == Role.caregiver:
        caregiver_id = select(Caregiver.id).where(col(Caregiver.user_id) == user.id).scalar_subquery()
        query = query.where(on_crew(caregiver_id))
    elif user.role == Role.provider_admin:
        staff = select(Caregiver.id).where(col(Caregiver.provider_id) == user.provider_id)
        crew = (col(ServiceRequest.assigned_caregiver_id), col(ServiceRequest.partner_caregiver_id))
        query = query.where(or_(*(member.in_(staff) for member in crew)))
    elif user.role == Role.family:
        query = query.where(col(ServiceRequest.elder_id).in_(followed_elders(user)))
    elif user.role not in (Role.admin, Role.operator):
        query = query.where(false())  # a role this queue does not know sees nothing
    return await page.scalars(session, query)


async def cancel_request(
    *, session: AsyncSession, request: ServiceRequest, user: User, reason: str | None
) -> ServiceRequest:
    """Cancel an open order; pending offers are withdrawn."""
    locked = await lock_request(session, request.id)  # type: ignore[arg-type]
    assert locked is not None
    request = locked
    if user.role == Role.family:
        await check_elder(session, user, request.elder_id, ElderUse.act)
    if user.role in (Role.elder, Role.family) and request.status in (Status.en_route, Status.in_service):
        raise Forbidden(
            "护理员已出发，请致电热线取消",
            code="too_late_to_cancel",
            message_en="Call the hotline: the caregiver is on the way",
        )
    await withdraw_other_offers(session, request, keep=None)
    await release(session, request.id)  # type: ignore[arg-type]
    holders = [request.assigned_caregiver_id, request.partner_caregiver_id] if request.status in ACTIVE_STATUSES else []
    caregivers_freed(session, [c for c in holders if c is not None])  # orders waiting for them are offered now
    if request.status == Status.accepted and request.window_start is not None:
        await replan_after(session, holders, "cancelled")  # a gap in their day: the rest may fit better now
    return await transition(session, request, Status.cancelled, actor=Actor.of_user(user), reason=reason or "取消")


async def redispatch(
    *, session: AsyncSession, settings: Settings, request: ServiceRequest, user: User, reason: str | None
) -> ServiceRequest:
    """Send an escalated order back to the dispatcher."""
    await transition(
        session,
        request,
        Status.dispatching,
        actor=Actor.of_user(user),
        reason=reason or "重新派单",
        escalation_reason=None,
        dispatch_started_at=utcnow(),  # a fresh dispatch: everyone may be asked again, the clock restarts
    )
    dispatch_after_commit(session, settings, request)
    return request


def on_crew(caregiver_id: Any) -> ColumnElement[bool]:
    """True for orders the caregiver (an id or a scalar subquery) serves, alone or as the second of two."""
    return or_(
        col(ServiceRequest.assigned_caregiver_id) == caregiver_id,
        col(ServiceRequest.partner_caregiver_id) == caregiver_id,
    )


def held(caregiver_id: Any) -> ColumnElement[bool]:
    """True for the orders the caregiver holds now: ahead or under way, or a two-caregiver visit she stays on while
    its other seat is dispatched again."""
    ahead = [s.value for s in ACTIVE_STATUSES | REFILLING_STATUSES]
    return on_crew(caregiver_id) & col(ServiceRequest.status).in_(ahead)


async def active_assignments(*, session: AsyncSession, caregiver: Caregiver) -> list[ServiceRequest]:
    """The orders a caregiver holds now (accepted, en route, in service; or waiting for the rest of its crew)."""
    rows = await session.execute(select(ServiceRequest).where(held(caregiver.id)).order_by(col(ServiceRequest.id)))
    return list(rows.scalars())


async def assigned_request(session: AsyncSession, request_id: int, caregiver: Caregiver) -> ServiceRequest:
    """An order the caregiver holds, locked (404 otherwise: others' orders are not theirs to see)."""
    request = await lock_request(session, request_id)
    if request is None or caregiver.id not in (request.assigned_caregiver_id, request.partner_caregiver_id):
        raise NotFound("工单不存在或未分配给您", code="request_not_found", message_en="No such order assigned to you")
    return request


def _crew_complete(request: ServiceRequest) -> ServiceRequest:
    """The order, unless its other seat is still being filled: then it waits for its crew (409)."""
    if request.status in REFILLING_STATUSES:
        raise Conflict(
            "另一名护理员正在重新派单，人齐后才能出发",
            code="crew_incomplete",
            message_en="The visit's other caregiver is still being found: set off once the crew is complete",
        )
    return request


def device_time(settings: Settings, at: datetime | None) -> datetime:
    """When a phone says an action happened: taken if no older than ``device_time_lateness_hours`` and no more than
    ``device_time_ahead_seconds`` ahead of the server (422 ``device_time_out_of_range``); none: now."""
    now = utcnow()
    if at is None:
        return now
    at = at if at.tzinfo else at.replace(tzinfo=LOCAL_TZ)  # a phone's time without a zone is Suzhou's
    earliest = now - timedelta(hours=settings.device_time_lateness_hours)
    if not earliest <= at <= now + timedelta(seconds=settings.device_time_ahead_seconds):
        raise Invalid(
            "手机时间与服务器相差过大，请检查手机时间",
            code="device_time_out_of_range",
            message_en="The phone's time is too far from the server's",
        )
    return at


async def start_en_route(
    *, session: AsyncSession, settings: Settings, request_id: int, caregiver: Caregiver, at: datetime | None = None
) -> ServiceRequest:
    """The caregiver sets off (``at``: the phone's time, for an action queued offline)."""
    request = _crew_complete(await assigned_request(session, request_id, caregiver))
    when = device_time(settings, at)
    actor = Actor.of_caregiver(caregiver)
    return await transition(session, request, Status.en_route, actor=actor, reason="出发", at=when)


async def check_in(
    *,
    session: AsyncSession,
    settings: Settings,
    request_id: int,
    caregiver: Caregiver,
    lat: float,
    lon: float,
    at: datetime | None = None,
    accuracy_m: float | None = None,
) -> tuple[ServiceRequest, Visit]:
    """The caregiver arrives; a check-in far from the elder's home is flagged, not refused. The visit keeps the
    phone's time (``at``) when it was queued offline, not the time it reached the server."""
    when = device_time(settings, at)
    request = _crew_complete(await assigned_request(session, request_id, caregiver))
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    distance = round(distance_m(lat, lon, elder.lat, elder.lon), 1)
    flagged = distance > settings.checkin_radius_m
    reason = f"上门签到（距老人家 {distance:.0f} 米{'，超出范围已标记' if flagged else ''}）"
    await transition(session, request, Status.in_service, actor=Actor.of_caregiver(caregiver), reason=reason, at=when)
    visit = Visit(
        request_id=request_id,
        caregiver_id=caregiver.id,  # type: ignore[arg-type]
        checkin_at=when,
        checkin_lat=lat,
        checkin_lon=lon,
        checkin_distance_m=distance,
        checkin_accuracy_m=accuracy_m,
        location_flagged=flagged,
    )
    session.add(visit)
    caregiver.lat, caregiver.lon = lat, lon
    for partner_id in {request.assigned_caregiver_id, request.partner_caregiver_id} - {None, caregiver.id}:
        partner = await session.get(Caregiver, partner_id)  # a two-caregiver crew arrives together
        if partner is not None:
            partner.lat, partner.lon = lat, lon
    await session.flush()
    return request, visit


async def check_out(
    *,
    session: AsyncSession,
    settings: Settings,
    request_id: int,
    caregiver: Caregiver,
    notes: str | None,
    at: datetime | None = None,
    confirmation_code: str | None = None,
) -> ServiceRequest:
    """The caregiver finishes the visit (``at``: the phone's time, for a check-out queued offline), with the code the
    elder was sent when she confirms it (``backend.requests.confirmation``; without one the visit is unconfirmed)."""
    when = device_time(settings, at)
    request = await assigned_request(session, request_id, caregiver)
    visit = (await session.execute(select(Visit).where(col(Visit.request_id) == request_id))).scalar_one_or_none()
    if visit is not None and when < visit.checkin_at:
        raise Invalid("签退时间早于签到时间", code="checkout_before_checkin", message_en="Check-out before check-in")
    actor = Actor.of_caregiver(caregiver)
    await transition(session, request, Status.completed, actor=actor, reason="服务完成签退", at=when)
    assert visit is not None  # in service means checked in
    visit.checkout_at = when
    crew = await crew_of(session, request_id)
    await finish(session, request_id, visit.checkout_at)
    assert caregiver.id is not None
    caregivers_freed(session, [caregiver.id, *crew])  # orders waiting near them are offered now
    visit.notes = notes
    if confirmation_code is not None:
        await confirm_with_code(session, settings, visit=visit, code=confirmation_code, at=when)
    await session.flush()
    elder = await session.get(Elder, request.elder_id)
    kind = await session.get(ServiceType, request.service_type)
    assert elder is not None and kind is not None
    await notify_family(
        session,
        elder_id=request.elder_id,
        template="visit_completed",
        data={
            "elder": elder.name,
            "service": {"zh": kind.name_zh, "en": kind.name_en},
            "time": f"{visit.checkout_at.astimezone(LOCAL_TZ):%H:%M}",
            "caregiver": caregiver.name,
        },
        request_id=request.id,
    )
    await feedback.after_visit(session, settings, request)
    return request


async def rate_visit(
    *, session: AsyncSession, settings: Settings, request: ServiceRequest, user: User, data: RatingBody
) -> Visit:
    """The elder, their family, or staff on a follow-up call (回访) rate a finished visit, once."""
    own = user.role == Role.elder and user.elder_id == request.elder_id
    own = own or await follows(session, user, request.elder_id)
    if not own and user.role not in (Role.admin, Role.operator, Role.community_staff):
        raise Forbidden("只有老人本人或回访人员可以评价", code="role_forbidden", message_en="Not allowed to rate")
    visit = (await session.execute(select(Visit).where(col(Visit.request_id) == request.id))).scalar_one_or_none()
    if visit is None or visit.checkout_at is None:
        raise Conflict("服务尚未完成，暂不能评价", code="visit_not_finished", message_en="The visit has not finished")
    if visit.rating is not None:
        raise Conflict("该次服务已评价", code="already_rated", message_en="This visit has been rated")
    visit.rating, visit.rating_comment, visit.rated_at = data.stars, data.comment, utcnow()
    await session.flush()
    emit(
        session,
        "visit.rated",
        [f"request:{request.id}", f"caregiver:{visit.caregiver_id}"],
        {"request_id": request.id, "stars": data.stars},
    )
    await feedback.after_rating(session, settings, request, visit, user)
    return visit
