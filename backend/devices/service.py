"""Device rules: registration, device credentials, alarms counted once, dormant devices."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from backend.access.scope import ElderUse, area_condition, check_elder
from backend.areas.models import Community, District
from backend.areas.service import area_channels
from backend.audit import service as audit
from backend.audit.models import Outcome
from backend.core.config import WELL_KNOWN_SECRETS, Settings
from backend.core.context import current
from backend.core.db import utcnow
from backend.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from backend.core.events import emit
from backend.core.lookups import insert_unique
from backend.core.runtime import Runtime
from backend.devices.models import Button, Device, DeviceAlarm
from backend.devices.schemas import AlarmIn, AlarmResult, DeviceCreate, DormantShare
from backend.followups.models import FollowUp, FollowUpKind
from backend.followups.service import mark_done, open_follow_up, open_one
from backend.orders.lifecycle import Actor
from backend.orders.models import Priority
from backend.registry.models import Elder
from backend.requests.emergencies import raise_emergency
from backend.requests.schemas import RequestCreate
from backend.users.models import Role, User

STAFF = frozenset({Role.admin.value, Role.operator.value, Role.community_staff.value})


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def register(*, session: AsyncSession, user: User, data: DeviceCreate) -> tuple[Device, str]:
    """Install a device for an elder (staff of the elder's area); the secret is returned this once."""
    if user.role not in STAFF:
        raise Forbidden("无权登记设备", code="role_forbidden", message_en="Staff only")
    await check_elder(session, user, data.elder_id, ElderUse.private)
    secret = secrets.token_urlsafe(24)
    device = Device(**data.model_dump(), secret_hash=digest(secret))
    taken = Conflict(f"设备序列号 {data.serial} 已登记", code="serial_taken", message_en="The serial is registered")
    return await insert_unique(session, device, taken), secret


async def authenticate(*, session: AsyncSession, runtime: Runtime, authorization: str | None) -> Device:
    """The device named by ``Authorization: Device <serial>:<secret>``; 401, or 429 after repeated wrong secrets.

    Wrong secrets are counted per serial and per client address; production refuses the demo's secret.
    """
    settings = runtime.settings
    scheme, _, credentials = (authorization or "").partition(" ")
    serial, _, secret = credentials.strip().partition(":")
    refused = Unauthorized("设备认证失败", code="invalid_device_credentials", message_en="Bad device credentials")
    if scheme.lower() != "device" or not serial or not secret:
        raise refused
    context = current()
    rules = [
        (settings.device_auth_limit, f"device:serial:{serial[:64]}"),
        (settings.device_auth_limit, f"device:address:{context.client if context else ''}"),
    ]
    await runtime.throttle.check(rules)
    device = (await session.execute(select(Device).where(col(Device.serial) == serial))).scalar_one_or_none()
    good = device is not None and device.active and hmac.compare_digest(device.secret_hash, digest(secret))
    if not good or (settings.production and secret in WELL_KNOWN_SECRETS):
        await runtime.throttle.fail(rules)
        await audit.record_apart(
            runtime, action="device.auth_failed", outcome=Outcome.failed, detail=f"serial={serial[:64]}"
        )
        raise refused
    assert device is not None
    return device


async def _seen(session: AsyncSession, settings: Settings, device: Device, now: datetime) -> None:
    """The device is alive: a dormant one's community check is no longer needed."""
    device.last_seen_at = now
    if device.dormant_since is not None:
        device.dormant_since = None
        check = await open_one(session, FollowUpKind.dormant_device, device_id=device.id)
        if check is not None:
            mark_done(check, by=f"device:{device.serial}", outcome="设备已恢复在线", at=now)


async def alarm(*, session: AsyncSession, settings: Settings, device: Device, data: AlarmIn) -> AlarmResult:
    """Take an alarm once: red opens an emergency order, green asks an operator to call back, test is a sign of life."""
    now = utcnow()
    previous = (await session.execute(_same_alarm(device, data.alarm_id))).scalar_one_or_none()
    if previous is not None:
        return await _result(session, device, previous, duplicate=True)
    record = DeviceAlarm(device_id=device.id, alarm_id=data.alarm_id, button=data.button.value, at=data.at)  # type: ignore[arg-type]
    try:
        record = await insert_unique(session, record, Conflict("", code="duplicate_alarm"))
    except Conflict:  # the same alarm arriving twice at once: the other one took it
        previous = (await session.execute(_same_alarm(device, data.alarm_id))).scalar_one()
        return await _result(session, device, previous, duplicate=True)
    await _seen(session, settings, device, now)
    elder = await session.get(Elder, device.elder_id)
    assert elder is not None
    await _answer_button(session, settings, device=device, elder=elder, record=record, data=data, now=now)
    await session.flush()
    channels = [f"elder:{elder.id}", *await area_channels(session, elder.community_id)]
    if record.absorbed:  # whoever follows the open emergency hears that she pressed again
        channels.append(f"request:{record.request_id}")
    result = await _result(session, device, record, duplicate=False)
    if data.button != Button.test:
        emit(
            session,
            "device.alarm",
            channels,
            {"device_id": device.id, "elder_id": elder.id, **result.model_dump(mode="json")},
        )
    return result


def _same_alarm(device: Device, alarm_id: str) -> SelectOfScalar[DeviceAlarm]:
    """The device's alarm of this id, taken before."""
    return select(DeviceAlarm).where(col(DeviceAlarm.device_id) == device.id, col(DeviceAlarm.alarm_id) == alarm_id)


async def _answer_button(
    session: AsyncSession,
    settings: Settings,
    *,
    device: Device,
    elder: Elder,
    record: DeviceAlarm,
    data: AlarmIn,
    now: datetime,
) -> None:
    """Red: an emergency order (or her open one absorbs it); green: a call back from an operator; test: nothing."""
    if data.button == Button.red:  # her open emergency absorbs the press, else a new one starts its ladder
        request, record.absorbed = await raise_emergency(
            session=session,
            settings=settings,
            elder=elder,
            data=RequestCreate(
                elder_id=elder.id,
                service_type="emergency",
                priority=Priority.emergency,
                notes=f"一键通紧急呼叫（设备 {device.serial}，{data.at.isoformat()}）",
            ),
            actor=Actor.system(f"device:{device.serial}"),
        )
        record.request_id = request.id
    elif data.button == Button.green:
        await open_follow_up(
            session=session,
            settings=settings,
            kind=FollowUpKind.help_call,
            elder=elder,
            device_id=device.id,
            reason=f"一键通求助（设备 {device.serial}）：请回电了解需求",
            due_at=now + timedelta(minutes=settings.help_call_minutes),
        )


async def _result(session: AsyncSession, device: Device, record: DeviceAlarm, *, duplicate: bool) -> AlarmResult:
    follow_up_id = None
    if record.button == Button.green:
        follow_up_id = await session.scalar(
            select(FollowUp.id)
            .where(col(FollowUp.device_id) == device.id, col(FollowUp.kind) == FollowUpKind.help_call.value)
            .where(col(FollowUp.created_at) <= utcnow())
            .order_by(col(FollowUp.id).desc())
            .limit(1)
        )
    return AlarmResult(
        alarm_id=record.alarm_id,
        button=Button(record.button),
        duplicate=duplicate,
        request_id=record.request_id,
        absorbed=record.absorbed,
        follow_up_id=follow_up_id,
    )


async def get_device(*, session: AsyncSession, user: User, device_id: int) -> Device:
    device = await session.get(Device, device_id)
    if device is None:
        raise NotFound("设备不存在", code="device_not_found", message_en="Unknown device")
    await check_elder(session, user, device.elder_id, ElderUse.private)
    return device


async def devices_of(*, session: AsyncSession, user: User, elder_id: int) -> list[Device]:
    await check_elder(session, user, elder_id, ElderUse.private)
    rows = await session.execute(select(Device).where(col(Device.elder_id) == elder_id).order_by(col(Device.id)))
    return list(rows.scalars())


async def deactivate(*, session: AsyncSession, user: User, device_id: int) -> Device:
    """Uninstall a device: its credentials stop working, it no longer counts as dormant."""
    if user.role not in STAFF:
        raise Forbidden("无权停用设备", code="role_forbidden", message_en="Staff only")
    device = await get_device(session=session, user=user, device_id=device_id)
    device.active = False
    await session.flush()
    return device


def dormant_after(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=settings.device_dormant_days)


async def sweep_dormant(*, session: AsyncSession, settings: Settings, now: datetime, limit: int = 500) -> int:
    """Devices silent for ``device_dormant_days`` get one community check each (visit, plug in, test)."""
    quiet = dormant_after(settings, now)
    rows = await session.execute(
        select(Device, Elder)
        .join(Elder, col(Elder.id) == col(Device.elder_id))
        .where(
            col(Device.active).is_(True),
            col(Device.dormant_since).is_(None),
            func.coalesce(col(Device.last_seen_at), col(Device.installed_at)) < quiet,
        )
        .order_by(col(Device.id))
        .limit(limit)
        .with_for_update(of=Device, skip_locked=True)
    )
    made = 0
    for device, elder in rows.all():
        device.dormant_since = now
        seen = device.last_seen_at or device.installed_at
        await open_follow_up(
            session=session,
            settings=settings,
            kind=FollowUpKind.dormant_device,
            elder=elder,
            device_id=device.id,
            reason=f"一键通设备 {device.serial} 自 {seen:%Y-%m-%d} 起无心跳：请上门检查电源与信号",
            due_at=now + timedelta(days=settings.dormant_check_days),
        )
        made += 1
    await session.flush()
    return made


async def dormant_share(*, session: AsyncSession, user: User, district_id: int | None) -> list[DormantShare]:
    """Per district: active devices and the share of them dormant (the bureau's audit of 一键通)."""
    _area, where = await area_condition(session, user, None, None, district_id)
    rows = await session.execute(
        sa_select(
            col(District.id),
            col(District.name),
            func.count(col(Device.id)),
            func.count(col(Device.dormant_since)),
        )
        .select_from(Device)
        .join(Elder, col(Elder.id) == col(Device.elder_id))
        .join(Community, col(Community.id) == col(Elder.community_id))
        .join(District, col(District.id) == col(Community.district_id))
        .where(col(Device.active).is_(True), *where)
        .group_by(col(District.id), col(District.name))
        .order_by(col(District.id))
    )
    return [
        DormantShare(district_id=d, district_name=name, devices=n, dormant=k, share=round(k / n, 4) if n else None)
        for d, name, n, k in rows.all()
    ]
