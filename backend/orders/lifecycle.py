"""The work order's state machine: every transition goes through ``transition`` here.

A transition checks the current state and the actor's right to make it, then changes the row
with a compare-and-set UPDATE (so a lost race is refused, never half-written), appends a history
row, and records a ``request.status`` event in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from backend.areas.service import area_channels
from backend.core.db import iso, utcnow
from backend.core.errors import Conflict, Forbidden
from backend.core.events import emit
from backend.core.masking import mask_text
from backend.orders.models import RequestHistory, ServiceRequest, Status
from backend.registry.models import Caregiver
from backend.users.models import Role, User

SYSTEM = "system"

# target status -> the statuses it may be reached from
TRANSITIONS: dict[Status, frozenset[Status]] = {
    # accepted → dispatching: the caregiver called in sick before setting off (the day plan is repaired).
    Status.dispatching: frozenset({Status.new, Status.offered, Status.escalated, Status.accepted}),
    Status.offered: frozenset({Status.dispatching}),
    Status.accepted: frozenset({Status.offered, Status.escalated, Status.dispatching}),
    Status.en_route: frozenset({Status.accepted}),
    Status.in_service: frozenset({Status.accepted, Status.en_route}),
    Status.completed: frozenset({Status.in_service}),
    Status.closed: frozenset({Status.completed}),
    Status.cancelled: frozenset(
        {Status.new, Status.dispatching, Status.offered, Status.accepted, Status.en_route, Status.escalated}
    ),
    Status.escalated: frozenset({Status.new, Status.dispatching, Status.offered}),
}

# target status -> roles that may cause it (SYSTEM is the dispatcher and the scheduler)
RIGHTS: dict[Status, frozenset[str]] = {
    Status.dispatching: frozenset({SYSTEM, Role.admin, Role.operator}),
    Status.offered: frozenset({SYSTEM}),
    Status.accepted: frozenset({Role.caregiver, Role.admin, Role.operator, SYSTEM}),  # SYSTEM: the day planner
    Status.en_route: frozenset({Role.caregiver}),
    Status.in_service: frozenset({Role.caregiver}),
    Status.completed: frozenset({Role.caregiver}),
    Status.closed: frozenset({SYSTEM, Role.admin, Role.operator}),
    # family: only with the elder's act_for_elder consent (checked by the cancelling service)
    Status.cancelled: frozenset({SYSTEM, Role.admin, Role.operator, Role.community_staff, Role.elder, Role.family}),
    Status.escalated: frozenset({SYSTEM, Role.admin, Role.operator}),
}

STATUS_ZH = {
    Status.new: "新建",
    Status.dispatching: "派单中",
    Status.offered: "已派单",
    Status.accepted: "已接单",
    Status.en_route: "在途",
    Status.in_service: "服务中",
    Status.completed: "已完成",
    Status.closed: "已关闭",
    Status.cancelled: "已取消",
    Status.escalated: "待人工处理",
}


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user, or the system (dispatcher, scheduler)."""

    role: str
    label: str
    user_id: int | None = None
    caregiver_id: int | None = None

    @classmethod
    def system(cls, name: str) -> Actor:
        """The platform itself, e.g. ``Actor.system("dispatcher")``."""
        return cls(role=SYSTEM, label=f"system:{name}")

    @classmethod
    def of_user(cls, user: User) -> Actor:
        """A signed-in user; the label names the account by id, never by a name or a phone number."""
        return cls(role=user.role, label=user.actor, user_id=user.id)

    @classmethod
    def of_caregiver(cls, caregiver: Caregiver) -> Actor:
        """A caregiver acting from their phone."""
        return cls(
            role=Role.caregiver.value,
            label=f"{Role.caregiver.value}:{caregiver.user_id}",  # her account, as User.actor names her
            user_id=caregiver.user_id,
            caregiver_id=caregiver.id,
        )


async def lock_request(session: AsyncSession, request_id: int) -> ServiceRequest | None:
    """Load an order and lock its row until commit.

    Every change that touches an order and its offers locks the order first: one lock order
    everywhere, so concurrent accepts, declines, sweeps and cancels queue up instead of deadlocking.
    """
    result = await session.execute(
        select(ServiceRequest)
        .where(col(ServiceRequest.id) == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def request_channels(session: AsyncSession, request: ServiceRequest) -> list[str]:
    """The channels that see an order's status: its own, the elder's, its area's, its caregiver's."""
    channels = [
        f"request:{request.id}",
        f"elder:{request.elder_id}",
        *await area_channels(session, request.community_id),
    ]
    for caregiver_id in (request.assigned_caregiver_id, request.partner_caregiver_id):
        if caregiver_id is not None:
            channels.append(f"caregiver:{caregiver_id}")
    return channels


def status_payload(request: ServiceRequest) -> dict[str, Any]:
    """What a subscriber learns of an order (no personal data)."""
    return {
        "request_id": request.id,
        "status": request.status,
        "elder_id": request.elder_id,
        "community_id": request.community_id,
        "service_type": request.service_type,
        "priority": request.priority,
        "assigned_caregiver_id": request.assigned_caregiver_id,
        "partner_caregiver_id": request.partner_caregiver_id,
    }


async def record_creation(session: AsyncSession, request: ServiceRequest, actor: Actor) -> RequestHistory:
    """Write the first history row and event of a new order (already flushed)."""
    assert request.id is not None
    created = RequestHistory(
        request_id=request.id, status=request.status, at=request.created_at, by=actor.label, by_user_id=actor.user_id
    )
    session.add(created)
    data = status_payload(request) | {"from_status": None, "at": iso(request.created_at), "by": actor.role}
    emit(session, "request.status", await request_channels(session, request), data)
    return created


def check_transition(request: ServiceRequest, to: Status, *, actor: Actor) -> Status:
    """The order's current state if the actor may move it to ``to`` (403 or 409 otherwise); writes nothing."""
    current = Status(request.status)
    if actor.role not in RIGHTS[to]:
        raise Forbidden(
            f"无权将工单改为「{STATUS_ZH[to]}」",
            code="transition_forbidden",
            message_en=f"Your role may not move an order to {to}",
        )
    if current not in TRANSITIONS[to]:
        raise Conflict(
            f"工单当前状态为「{STATUS_ZH[current]}」，不能改为「{STATUS_ZH[to]}」",
            code="illegal_transition",
            message_en=f"Cannot move an order from {current} to {to}",
        )
    return current


async def transition(
    session: AsyncSession,
    request: ServiceRequest,
    to: Status,
    *,
    actor: Actor,
    reason: str | None = None,
    at: datetime | None = None,
    **changes: Any,
) -> ServiceRequest:
    """Move an order to ``to`` if its state and the actor allow it; 409 on an illegal move or a lost race.

    ``at``: when it happened, if not now (a phone's own time for an action it queued while offline)."""
    assert request.id is not None
    current = check_transition(request, to, actor=actor)
    now = utcnow()
    happened = at or now
    values = {"status": to.value, "updated_at": now, "waiting_since": None, **changes}  # any move ends a wait
    result = await session.execute(
        update(ServiceRequest)
        .where(col(ServiceRequest.id) == request.id, col(ServiceRequest.status) == current.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "工单已被他人处理，请刷新后重试", code="lost_race", message_en="The order was changed by someone else"
        )
    for key, value in values.items():
        set_committed_value(request, key, value)
    session.add(
        RequestHistory(
            request_id=request.id,
            from_status=current.value,
            status=to.value,
            at=happened,
            by=actor.label,
            by_user_id=actor.user_id,
            reason=reason,
        )
    )
    data = status_payload(request) | {
        "from_status": current.value,
        "at": iso(happened),
        "by": actor.role,
        "reason": mask_text(reason) if reason else None,  # free text may quote a phone number
    }
    emit(session, "request.status", await request_channels(session, request), data)
    await session.flush()
    return request
