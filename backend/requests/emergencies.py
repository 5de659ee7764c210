"""One open emergency per elder: the one-key device's red button, the apps' SOS and an elder's own emergency order.

Each of them opens an emergency order (its escalation ladder started) unless one of hers is still open; then the
call joins that order instead, and whoever follows it hears that she called again. Calls arriving together are
taken one at a time under a lock of the elder's emergencies, so only the first opens an order.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.service import area_channels
from backend.audit import service as audit
from backend.core.config import Settings
from backend.core.db import lock_transaction
from backend.core.events import emit
from backend.core.throttle import Throttle
from backend.emergency.schemas import SosResult
from backend.orders.lifecycle import Actor
from backend.orders.models import Priority, ServiceRequest, Status
from backend.registry.models import Elder
from backend.requests.schemas import RequestCreate
from backend.requests.service import create_request, elder_to_order_for, open_request
from backend.users.models import Role, User

PRESS_LOCK_SPACE = 7_020_613  # advisory lock namespace: one elder's emergency calls, one at a time
FINISHED = [Status.completed.value, Status.closed.value, Status.cancelled.value]
WHO = {Role.elder.value: "老人本人", Role.family.value: "家属"}  # anyone else: staff in her name


async def open_emergency(session: AsyncSession, elder_id: int) -> int | None:
    """The elder's emergency order still open, if any, looked up under a lock of her emergency calls (held until
    commit): calls arriving together are taken one at a time, so only the first opens an order.

    A transaction-scoped advisory lock, not the elder's row: the dispatcher locks an order and then its elder,
    and a call joining that order must not hold the elder's row while it waits for the order's.
    """
    await lock_transaction(session, PRESS_LOCK_SPACE, elder_id)
    return await session.scalar(
        select(ServiceRequest.id)
        .where(
            col(ServiceRequest.elder_id) == elder_id,
            col(ServiceRequest.priority) == Priority.emergency.value,
            col(ServiceRequest.status).not_in(FINISHED),
        )
        .order_by(col(ServiceRequest.id).desc())
        .limit(1)
    )


async def raise_emergency(
    *,
    session: AsyncSession,
    settings: Settings,
    elder: Elder,
    data: RequestCreate,
    actor: Actor,
    user_id: int | None = None,
) -> tuple[ServiceRequest, bool]:
    """Her emergency: the one still open (``True``: this call joined it), or a new order from ``data`` that starts
    its ladder and is dispatched after commit (``False``). Whoever calls has checked they may."""
    assert elder.id is not None
    joined = await open_emergency(session, elder.id)
    if joined is not None:
        request = await session.get(ServiceRequest, joined)
        assert request is not None
        return request, True
    opened = await open_request(
        session=session, settings=settings, elder=elder, data=data, actor=actor, user_id=user_id
    )
    return opened, False


async def press_sos(
    *,
    session: AsyncSession,
    settings: Settings,
    throttle: Throttle,
    user: User,
    elder: Elder,
    note: str | None,
    data: RequestCreate | None = None,
) -> SosResult:
    """The elder's SOS, by her, her family or staff in her name (whoever may act for her: checked by the caller):
    her open emergency, or a new one (``data``, or the app's emergency order). Every press counts against
    ``sos_limit`` per elder (429 past it), is in the audit trail, and is told as ``sos.pressed`` on her channels
    (and the order's, when it joined one)."""
    assert elder.id is not None
    rules = [(settings.sos_limit, f"sos:elder:{elder.id}")]
    await throttle.check(rules)
    if data is None:
        said = f"：{note}" if note else ""
        data = RequestCreate(
            elder_id=elder.id,
            service_type="emergency",
            priority=Priority.emergency,
            notes=f"App 紧急呼叫（{WHO.get(user.role, '工作人员代呼')}）{said}",
        )
    request, absorbed = await raise_emergency(
        session=session, settings=settings, elder=elder, data=data, actor=Actor.of_user(user), user_id=user.id
    )
    await throttle.hit(rules)
    await audit.record(
        session,
        action="elder.sos",
        subjects=audit.elders([elder.id]),
        detail=f"request={request.id} absorbed={absorbed}",
    )
    channels = [f"elder:{elder.id}", *await area_channels(session, elder.community_id)]
    if absorbed:  # whoever follows her open emergency hears that she called again
        channels.append(f"request:{request.id}")
    emit(
        session,
        "sos.pressed",
        channels,
        {"elder_id": elder.id, "request_id": request.id, "absorbed": absorbed, "by": user.role, "note": note},
    )
    assert request.id is not None
    return SosResult(request_id=request.id, absorbed=absorbed)


async def place_order(
    *, session: AsyncSession, settings: Settings, throttle: Throttle, user: User, data: RequestCreate
) -> ServiceRequest:
    """An order as its caller means it: an elder's (or her family's) emergency is her SOS, absorbed into her open
    emergency and throttled like the button; anyone else's emergency, and every other order, a new order."""
    if data.priority != Priority.emergency or user.role not in WHO:
        return await create_request(session=session, settings=settings, user=user, data=data)
    elder = await elder_to_order_for(session=session, user=user, data=data)
    result = await press_sos(
        session=session, settings=settings, throttle=throttle, user=user, elder=elder, note=data.notes, data=data
    )
    request = await session.get(ServiceRequest, result.request_id)
    assert request is not None
    return request
