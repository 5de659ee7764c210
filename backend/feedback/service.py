"""After the visit: who is called back (回访), complaints and their deadlines, and closing finished orders."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import CITYWIDE, follows
from backend.areas.service import area_channels
from backend.core.config import Settings
from backend.core.db import iso, utcnow
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.events import emit
from backend.core.paging import Page
from backend.feedback.models import Complaint, ComplaintSource, ComplaintStatus
from backend.followups.models import FollowUp, FollowUpKind, FollowUpStatus
from backend.followups.service import mark_done, open_follow_up, open_one
from backend.orders.lifecycle import Actor, transition
from backend.orders.models import ServiceRequest, Status, Visit
from backend.registry.models import Caregiver, Elder
from backend.users.models import Role, User

CLOSER = Actor.system("follow_up")


def sampled(request_id: int, share: float) -> bool:
    """A stable draw: the same order is always in or out of the sample for a given share."""
    digest = hashlib.sha256(f"follow-up:{request_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


async def after_visit(session: AsyncSession, settings: Settings, request: ServiceRequest) -> FollowUp | None:
    """At check-out: every first-time elder, and a sample of the rest, get an operator's callback."""
    assert request.id is not None
    earlier = await session.scalar(
        select(func.count(col(ServiceRequest.id))).where(
            col(ServiceRequest.elder_id) == request.elder_id,
            col(ServiceRequest.id) != request.id,
            col(ServiceRequest.status).in_([Status.completed.value, Status.closed.value]),
        )
    )
    first_time = not earlier
    if not (first_time or sampled(request.id, settings.follow_up_share)):
        return None
    return await _callback(session, settings, request, "首次服务回访" if first_time else "抽样回访")


def _callback_reason(why: str, request: ServiceRequest) -> str:
    return f"{why}：请致电老人了解服务满意度（工单 {request.id}）"


async def _callback(session: AsyncSession, settings: Settings, request: ServiceRequest, why: str) -> FollowUp:
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    return await open_follow_up(
        session=session,
        settings=settings,
        kind=FollowUpKind.satisfaction_call,
        elder=elder,
        request_id=request.id,
        reason=_callback_reason(why, request),
        due_at=utcnow() + timedelta(hours=settings.follow_up_hours),
    )


async def _provider_of(session: AsyncSession, request: ServiceRequest) -> int:
    caregiver = await session.get(Caregiver, request.assigned_caregiver_id)
    if caregiver is None:
        raise Conflict("该工单没有服务组织可投诉", code="nobody_to_answer", message_en="Nobody served this order")
    return caregiver.provider_id


async def open_complaint(
    session: AsyncSession, settings: Settings, request: ServiceRequest, *, source: ComplaintSource, text: str, by: str
) -> Complaint:
    """A case for the provider that served the order, to answer by the deadline."""
    complaint = Complaint(
        request_id=request.id,  # type: ignore[arg-type]
        elder_id=request.elder_id,
        provider_id=await _provider_of(session, request),
        source=source.value,
        text=text,
        by=by,
        due_at=utcnow() + timedelta(hours=settings.complaint_answer_hours),
    )
    session.add(complaint)
    await session.flush()
    await _tell(session, complaint, "complaint.opened")
    return complaint


async def _tell(session: AsyncSession, complaint: Complaint, event: str) -> None:
    elder = await session.get(Elder, complaint.elder_id)
    assert elder is not None
    channels = [f"provider:{complaint.provider_id}", f"request:{complaint.request_id}"]
    channels += await area_channels(session, elder.community_id)
    emit(
        session,
        event,
        channels,
        {
            "complaint_id": complaint.id,
            "request_id": complaint.request_id,
            "provider_id": complaint.provider_id,
            "status": complaint.status,
            "due_at": iso(complaint.due_at),
        },
    )


async def after_rating(
    session: AsyncSession, settings: Settings, request: ServiceRequest, visit: Visit, user: User
) -> None:
    """Staff recording the rating on a callback have done it; a low rating opens a complaint, and, given in
    the app, a callback."""
    by, staff = user.actor, user.role in (*CITYWIDE, Role.community_staff.value)
    if staff:
        callback = await open_one(session, FollowUpKind.satisfaction_call, request_id=request.id)
        if callback is not None:
            mark_done(callback, by=by, outcome=f"回访评价 {visit.rating} 星")
    if visit.rating is not None and visit.rating <= settings.low_rating:
        text = f"评价 {visit.rating} 星" + (f"：{visit.rating_comment}" if visit.rating_comment else "")
        await open_complaint(session, settings, request, source=ComplaintSource.rating, text=text, by=by)
        if not staff:
            callback = await _callback(session, settings, request, "低分回访")
            # A sampled callback already open for this order becomes the low-rating one: the operator should know.
            callback.reason = _callback_reason("低分回访", request)
    await session.flush()


async def complain(
    *, session: AsyncSession, settings: Settings, user: User, request: ServiceRequest, text: str
) -> Complaint:
    """The elder, their family, or staff taking a call files a complaint about an order."""
    own = user.role == Role.elder and user.elder_id == request.elder_id
    if not (
        own or user.role in (*CITYWIDE, Role.community_staff.value) or await follows(session, user, request.elder_id)
    ):
        raise Forbidden("无权投诉该工单", code="role_forbidden", message_en="You may not complain about this order")
    return await open_complaint(session, settings, request, source=ComplaintSource.complaint, text=text, by=user.actor)


async def _case(session: AsyncSession, complaint_id: int) -> Complaint:
    complaint = (
        await session.execute(select(Complaint).where(col(Complaint.id) == complaint_id).with_for_update())
    ).scalar_one_or_none()
    if complaint is None:
        raise NotFound("投诉不存在", code="complaint_not_found", message_en="Unknown complaint")
    return complaint


def _may_see(user: User, complaint: Complaint) -> bool:
    return user.role in CITYWIDE or (user.role == Role.provider_admin and user.provider_id == complaint.provider_id)


async def answer(*, session: AsyncSession, user: User, complaint_id: int, text: str) -> Complaint:
    """The provider replies (its admin), before or after the deadline; 409 once resolved."""
    complaint = await _case(session, complaint_id)
    if not (user.role == Role.provider_admin and user.provider_id == complaint.provider_id):
        raise Forbidden("只有被投诉的服务组织可以答复", code="out_of_scope", message_en="Not your complaint")
    if complaint.status == ComplaintStatus.resolved:
        raise Conflict("投诉已办结", code="complaint_resolved", message_en="The complaint is resolved")
    complaint.answer, complaint.answered_at, complaint.answered_by = text, utcnow(), user.actor
    if complaint.status == ComplaintStatus.open:
        complaint.status = ComplaintStatus.answered.value
    await session.flush()
    await _tell(session, complaint, "complaint.answered")
    return complaint


async def resolve(*, session: AsyncSession, user: User, complaint_id: int, text: str) -> Complaint:
    """The bureau closes the case with its resolution."""
    if user.role not in CITYWIDE:
        raise Forbidden("只有民政部门可以办结投诉", code="role_forbidden", message_en="The bureau resolves complaints")
    complaint = await _case(session, complaint_id)
    if complaint.status == ComplaintStatus.resolved:
        raise Conflict("投诉已办结", code="complaint_resolved", message_en="The complaint is resolved")
    complaint.status, complaint.resolution = ComplaintStatus.resolved.value, text
    complaint.resolved_at, complaint.resolved_by = utcnow(), user.actor
    await session.flush()
    await _tell(session, complaint, "complaint.resolved")
    return complaint


async def listing(
    *, session: AsyncSession, user: User, provider_id: int | None, status: ComplaintStatus | None, page: Page
) -> list[Complaint]:
    """A page of complaints, oldest deadline first: the bureau's all, a provider's own."""
    query = select(Complaint)
    if user.role == Role.provider_admin:
        query = query.where(col(Complaint.provider_id) == user.provider_id)
    elif user.role not in CITYWIDE:
        raise Forbidden("无权查看投诉", code="out_of_scope", message_en="Not allowed")
    elif provider_id is not None:
        query = query.where(col(Complaint.provider_id) == provider_id)
    if status is not None:
        query = query.where(col(Complaint.status) == status.value)
    return await page.scalars(session, query.order_by(col(Complaint.due_at), col(Complaint.id)))


async def get(*, session: AsyncSession, user: User, complaint_id: int) -> Complaint:
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None or not _may_see(user, complaint):
        raise NotFound("投诉不存在", code="complaint_not_found", message_en="Unknown complaint")
    return complaint


async def escalate_overdue(*, session: AsyncSession, now: datetime, limit: int = 200) -> int:
    """Cases the provider did not answer in time go to the bureau, once."""
    rows = await session.execute(
        select(Complaint)
        .where(col(Complaint.status) == ComplaintStatus.open.value, col(Complaint.due_at) < now)
        .order_by(col(Complaint.due_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    moved = 0
    for complaint in rows.scalars():
        complaint.status, complaint.escalated_at = ComplaintStatus.escalated.value, now
        await _tell(session, complaint, "complaint.escalated")
        moved += 1
    await session.flush()
    return moved


async def close_finished(*, session: AsyncSession, settings: Settings, now: datetime, limit: int = 200) -> int:
    """Close completed orders that were followed up (rated, callback done) or waited ``close_after_hours``."""
    checkout_before = now - timedelta(hours=settings.close_after_hours)
    callbacks = select(FollowUp.request_id).where(col(FollowUp.request_id).is_not(None))
    open_callback = callbacks.where(col(FollowUp.status) == FollowUpStatus.open.value)
    done_callback = callbacks.where(col(FollowUp.status) == FollowUpStatus.done.value)
    rows = await session.execute(
        select(ServiceRequest)
        .join(Visit, col(Visit.request_id) == col(ServiceRequest.id))
        .where(
            col(ServiceRequest.status) == Status.completed.value,
            col(ServiceRequest.id).not_in(open_callback),
            col(Visit.rating).is_not(None)
            | col(ServiceRequest.id).in_(done_callback)
            | (col(Visit.checkout_at) < checkout_before),
        )
        .order_by(col(ServiceRequest.id))
        .limit(limit)
        .with_for_update(of=ServiceRequest, skip_locked=True)
    )
    closed = 0
    for request in rows.scalars():
        await transition(session, request, Status.closed, actor=CLOSER, reason="回访完成，工单关闭")
        closed += 1
    return closed
