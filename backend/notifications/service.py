"""The one notification service: tell an elder's family, by app and SMS, within the elder's consent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.db import utcnow
from backend.core.events import emit
from backend.core.paging import Page
from backend.families.models import FamilyMember
from backend.notifications.models import Channel, Notification, SendStatus
from backend.notifications.senders import Message, Sender
from backend.notifications.templates import params, render

MAX_ATTEMPTS = 5
# Whether a family member hears of this kind of message (the elder's consent).
CONSENT = {"emergency": "notify_emergency", "visit_completed": "notify_visits"}


async def notify_family(
    session: AsyncSession, *, elder_id: int, template: str, data: dict[str, Any], request_id: int | None = None
) -> list[Notification]:
    """Queue the message for every family member who agreed to hear of it: in the app (their account) and by SMS."""
    members = (
        await session.execute(
            select(FamilyMember).where(
                col(FamilyMember.elder_id) == elder_id, col(getattr(FamilyMember, CONSENT[template])).is_(True)
            )
        )
    ).scalars()
    now = utcnow()
    made = []
    for member in members:
        body = render(template, member.language, data)
        channels = [Channel.sms] + ([Channel.in_app] if member.user_id else [])
        for channel in channels:
            note = Notification(
                elder_id=elder_id,
                family_member_id=member.id,
                user_id=member.user_id,
                phone=member.phone if channel != Channel.in_app else None,
                channel=channel.value,
                template=template,
                language=member.language,
                body=body,
                params=params(template, data, member.language) if channel != Channel.in_app else None,
                request_id=request_id,
                next_attempt_at=now,
            )
            if channel == Channel.in_app:  # delivered with the transaction, over the elder's channel
                note.status, note.sent_at, note.attempts, note.next_attempt_at = SendStatus.sent.value, now, 1, None
            made.append(note)
    session.add_all(made)
    await session.flush()
    for note in made:
        if note.channel == Channel.in_app:
            emit(
                session,
                "notification",
                [f"elder:{elder_id}"],
                {"notification_id": note.id, "template": template, "body": note.body, "user_id": note.user_id},
            )
    return made


async def send_sms(
    session: AsyncSession,
    *,
    elder_id: int,
    phone: str,
    template: str,
    language: str,
    data: dict[str, Any],
    request_id: int | None = None,
    family_member_id: int | None = None,
) -> Notification:
    """Queue one SMS about the elder to one phone (hers, or a family member's), sent by the worker's next pass."""
    note = Notification(
        elder_id=elder_id,
        family_member_id=family_member_id,
        phone=phone,
        channel=Channel.sms.value,
        template=template,
        language=language,
        body=render(template, language, data),
        params=params(template, data, language),
        request_id=request_id,
        next_attempt_at=utcnow(),
    )
    session.add(note)
    await session.flush()
    return note


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 10 * 2 ** (attempts - 1)))


async def due(session: AsyncSession, now: datetime, limit: int = 100) -> list[int]:
    rows = await session.execute(
        select(Notification.id)
        .where(col(Notification.status) == SendStatus.pending.value, col(Notification.next_attempt_at) <= now)
        .order_by(col(Notification.next_attempt_at))
        .limit(limit)
    )
    return list(rows.scalars())


async def send_one(session: AsyncSession, senders: Mapping[str, Sender], notification_id: int, now: datetime) -> bool:
    """Send one queued message (locked, so two workers never send it twice); True when it went."""
    note = (
        await session.execute(
            select(Notification)
            .where(col(Notification.id) == notification_id, col(Notification.status) == SendStatus.pending.value)
            .with_for_update(skip_locked=True)
        )
    ).scalar_one_or_none()
    if note is None or note.phone is None:
        return False
    note.attempts += 1
    try:
        message = Message(note.phone, note.body, note.template, note.language, note.params, str(note.id))
        await senders[note.channel].send(message)
    except Exception as exc:  # any gateway failure is retried later
        note.error = f"{type(exc).__name__}: {exc}"[:255]
        if note.attempts >= MAX_ATTEMPTS:
            note.status, note.next_attempt_at = SendStatus.failed.value, None
        else:
            note.next_attempt_at = now + _backoff(note.attempts)
        await session.flush()
        return False
    note.status, note.sent_at, note.next_attempt_at, note.error = SendStatus.sent.value, now, None, None
    await session.flush()
    return True


async def of_elder(session: AsyncSession, elder_id: int, page: Page) -> list[Notification]:
    """A page of what was sent about an elder, newest first."""
    query = select(Notification).where(col(Notification.elder_id) == elder_id).order_by(col(Notification.id).desc())
    return await page.scalars(session, query)
