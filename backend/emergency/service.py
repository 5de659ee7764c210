"""Ladder rules: start with the order, climb on each timer, stop when someone acts or help is at the door."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import caregiver_of, follows
from backend.areas.service import area_channels
from backend.core.config import Settings
from backend.core.db import iso, utcnow
from backend.core.errors import Conflict, Forbidden
from backend.core.events import emit
from backend.core.i18n import LOCAL_TZ
from backend.emergency.models import LadderStep, StepCode, StepStatus
from backend.emergency.schemas import Answer
from backend.notifications.service import notify_family
from backend.orders.lifecycle import Actor
from backend.orders.models import ServiceRequest, Status
from backend.registry.models import Caregiver, CaregiverSkill, Elder
from backend.users.models import Role, User

# Help has reached the elder, or the order is over: the ladder has nothing left to do.
SETTLED = frozenset({Status.in_service, Status.completed, Status.closed, Status.cancelled})
WORDING = {
    StepCode.operator_callback: "话务员请立即回拨老人电话",
    StepCode.family: "已通知家属：老人按下紧急呼叫按钮",
    StepCode.community_staff: "请社区工作人员立即上门查看",
    StepCode.caregiver: "请联系附近具备助急技能的护理员前往",
    StepCode.public_emergency: "请话务员拨打 120/110 并在系统中确认",
}
NEAREST = 3
# Staff (the city's, her area's) act at any rung; opening an emergency themselves, they have her on the line already.
STAFF = frozenset({Role.admin.value, Role.operator.value, Role.community_staff.value})
ANSWERED = {Answer.reached_elder: "我已联系上老人", Answer.on_my_way: "我正在赶去"}


async def start(session: AsyncSession, settings: Settings, request: ServiceRequest, actor: Actor) -> None:
    """Lay out the ladder of a new emergency. Staff who took the call (the hotline, her community) have done the
    callback already; her own SOS, her family's or a device's has not."""
    assert request.id is not None
    now = utcnow()
    steps = [
        LadderStep(request_id=request.id, position=n, code=rung.code, seconds=rung.seconds)
        for n, rung in enumerate(settings.emergency_ladder)
    ]
    session.add_all(steps)
    await session.flush()
    first = steps[0]
    if actor.role in STAFF and first.code == StepCode.operator_callback and len(steps) > 1:
        first.status, first.started_at, first.ended_at = StepStatus.done.value, now, now
        first.acted_by, first.note = actor.label, "话务员接听来电并登记紧急工单"
        first = steps[1]
    await _activate(session, request, first, now)


async def _channels(session: AsyncSession, request: ServiceRequest) -> list[str]:
    return [f"request:{request.id}", f"elder:{request.elder_id}", *await area_channels(session, request.community_id)]


async def _nearest_helpers(session: AsyncSession, request: ServiceRequest) -> list[dict[str, Any]]:
    """The emergency-skilled caregivers nearest the elder, for the operator or community to phone."""
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    rows = await session.execute(
        select(Caregiver)
        .join(CaregiverSkill, col(CaregiverSkill.caregiver_id) == col(Caregiver.id))
        .where(col(CaregiverSkill.service_type) == "emergency", col(Caregiver.on_shift).is_(True))
    )
    ranked = sorted(rows.scalars(), key=lambda c: (c.lat - elder.lat) ** 2 + ((c.lon - elder.lon) * 0.85) ** 2)[
        :NEAREST
    ]
    return [{"caregiver_id": c.id, "name": c.name} for c in ranked]


async def _activate(session: AsyncSession, request: ServiceRequest, step: LadderStep, now: datetime) -> None:
    step.status, step.started_at = StepStatus.active.value, now
    step.due_at = now + timedelta(seconds=step.seconds) if step.seconds else None
    await session.flush()
    data: dict[str, Any] = {
        "request_id": request.id,
        "position": step.position,
        "code": step.code,
        "status": step.status,
        "message": WORDING[StepCode(step.code)],
        "due_at": iso(step.due_at) if step.due_at else None,
    }
    if step.code == StepCode.caregiver:
        data["nearest"] = await _nearest_helpers(session, request)
    if step.code == StepCode.family:
        elder = await session.get(Elder, request.elder_id)
        assert elder is not None and request.id is not None
        told = await notify_family(
            session,
            elder_id=request.elder_id,
            template="emergency",
            data={
                "elder": elder.name,
                "time": f"{request.created_at.astimezone(LOCAL_TZ):%H:%M}",
                "request_id": request.id,
            },
            request_id=request.id,
        )
        data["family_told"] = len({n.family_member_id for n in told})
    emit(session, "ladder.step", await _channels(session, request), data)


async def _stop(
    session: AsyncSession,
    request: ServiceRequest,
    by: str,
    note: str | None,
    now: datetime,
    *,
    answer: Answer | None = None,
) -> None:
    """End the ladder: the active step is done by ``by``; the rest never run."""
    steps = await steps_of(session, request.id)  # type: ignore[arg-type]
    for step in steps:
        if step.status == StepStatus.active:
            step.status, step.acted_by, step.note = StepStatus.done.value, by, note
            step.ended_at = now
        elif step.status == StepStatus.waiting:
            step.status, step.ended_at = StepStatus.stopped.value, now
    await session.flush()
    emit(
        session,
        "ladder.stopped",
        await _channels(session, request),
        {"request_id": request.id, "by": by, "note": note, "answer": answer.value if answer else None},
    )


async def steps_of(session: AsyncSession, request_id: int) -> list[LadderStep]:
    rows = await session.execute(
        select(LadderStep).where(col(LadderStep.request_id) == request_id).order_by(col(LadderStep.position))
    )
    return list(rows.scalars())


async def act(
    *, session: AsyncSession, user: User, request: ServiceRequest, note: str | None, answer: Answer | None = None
) -> list[LadderStep]:
    """Someone has reached the elder or is handling it (or, at the last rung, has called 120): the ladder stops.

    Staff of her area and the caregiver on the order at any rung; a family member who follows her orders once the
    ladder has reached the family (409 ``family_not_reached`` before), with their ``answer`` as the note when they
    wrote none.
    """
    if user.role == Role.caregiver:
        own = await caregiver_of(session, user)
        if own is None or own.id not in (request.assigned_caregiver_id, request.partner_caregiver_id):
            raise Forbidden("只有接单护理员可以确认", code="out_of_scope", message_en="Not your order")
    elif user.role == Role.family:
        if not await follows(session, user, request.elder_id):
            raise Forbidden("超出您的管辖范围", code="out_of_scope", message_en="Outside your scope")
    elif user.role not in STAFF:
        raise Forbidden("无权操作", code="role_forbidden", message_en="Your role may not act on the ladder")
    await session.execute(select(ServiceRequest.id).where(col(ServiceRequest.id) == request.id).with_for_update())
    steps = await steps_of(session, request.id)  # type: ignore[arg-type]
    if not any(s.status == StepStatus.active for s in steps):
        raise Conflict("该工单的呼叫升级已结束", code="ladder_not_running", message_en="The ladder is not running")
    if user.role == Role.family and not any(s.code == StepCode.family and s.started_at for s in steps):
        raise Conflict(
            "平台正在联系老人，尚未通知家属；情况紧急请直接拨打 120",
            code="family_not_reached",
            message_en="The platform is still calling her and has not asked the family yet; call 120 if urgent",
        )
    note = note or (ANSWERED[answer] if answer else None)
    await _stop(session, request, user.actor, note, utcnow(), answer=answer)
    return steps


async def sweep(*, session: AsyncSession, now: datetime, limit: int = 200) -> int:
    """Climb every ladder whose active step's timer ran out; stop those whose order no longer needs them."""
    rows = await session.execute(
        select(LadderStep, ServiceRequest)
        .join(ServiceRequest, col(ServiceRequest.id) == col(LadderStep.request_id))
        .where(
            col(LadderStep.status) == StepStatus.active.value,
            (col(LadderStep.due_at) <= now) | col(ServiceRequest.status).in_([s.value for s in SETTLED]),
        )
        .order_by(col(LadderStep.due_at))
        .limit(limit)
        .with_for_update(of=LadderStep, skip_locked=True)
    )
    moved = 0
    for step, request in rows.all():
        if Status(request.status) in SETTLED:
            await _stop(session, request, "system:ladder", f"工单已{request.status}", now)
        else:
            step.status, step.ended_at = StepStatus.expired.value, now
            following = (
                await session.execute(
                    select(LadderStep).where(
                        col(LadderStep.request_id) == request.id, col(LadderStep.position) == step.position + 1
                    )
                )
            ).scalar_one_or_none()
            if following is not None:
                await _activate(session, request, following, now)
        moved += 1
    await session.flush()
    return moved
