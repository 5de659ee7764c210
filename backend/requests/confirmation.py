"""The elder's confirmation code (服务确认码): a 6-digit code sent to her phone, told to the caregiver at check-out.

Only a keyed hash of the code is kept (the platform's blind-index key, bound to the order: a copy of the table does
not give the codes away). Wrong codes are counted per order in the shared throttle (``confirmation_code_limit``),
outside the refused request's transaction so that a refusal still counts; past the limit the code is refused with
429 until the window moves on, and the caregiver may still check out without it (the visit then lacks the
confirmation). A code is valid for ``confirmation_code_minutes`` of the phone's time of check-out, and once.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import crypto
from backend.core.config import Settings
from backend.core.db import utcnow
from backend.core.errors import Invalid
from backend.core.runtime import Runtime
from backend.core.throttle import Throttle
from backend.orders.models import Confirmation, ConfirmationCode, Visit

log = logging.getLogger(__name__)
CONTEXT = "confirmation_code"


def code_hash(request_id: int, code: str) -> str:
    """The keyed hash kept for an order's code."""
    return crypto.blind(f"{request_id}:{code}", context=CONTEXT)


def new_code() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(1_000_000):06d}"


def throttle_of(session: AsyncSession) -> Throttle:
    """The process's shared failure counters (through the session's runtime)."""
    runtime: Runtime | None = session.info.get("runtime")
    if runtime is None:
        raise RuntimeError("session has no runtime")
    return runtime.throttle


async def keep_code(
    session: AsyncSession,
    settings: Settings,
    *,
    request_id: int,
    code: str,
    sent_to: str,
    family_member_id: int | None,
) -> ConfirmationCode:
    """Keep the hash of the order's new code (it replaces the one sent before)."""
    now = utcnow()
    row = await session.get(ConfirmationCode, request_id)
    if row is None:
        row = ConfirmationCode(request_id=request_id, code_hash="", sent_to="", expires_at=now)
        session.add(row)
    row.code_hash, row.sent_to, row.family_member_id = code_hash(request_id, code), sent_to, family_member_id
    row.created_at, row.expires_at, row.used_at = now, now + timedelta(minutes=settings.confirmation_code_minutes), None
    await session.flush()
    return row


async def confirm_with_code(
    session: AsyncSession, settings: Settings, *, visit: Visit, code: str, at: datetime
) -> None:
    """The elder confirms the visit with her code at check-out (``at``: the phone's time of check-out).

    422 ``no_confirmation_code`` (none sent, or used), ``bad_confirmation_code`` (counted),
    ``confirmation_code_expired``; 429 ``too_many_attempts`` after ``confirmation_code_limit`` wrong codes.
    """
    throttle = throttle_of(session)
    rules = [(settings.confirmation_code_limit, f"confirm:guess:{visit.request_id}")]
    await throttle.check(rules)
    row = await session.get(ConfirmationCode, visit.request_id)
    if row is None or row.used_at is not None:
        raise Invalid(
            "尚未向老人发送确认码，请先发送",
            code="no_confirmation_code",
            message_en="No confirmation code was sent for this order: send one first",
        )
    if not hmac.compare_digest(row.code_hash, code_hash(visit.request_id, code)):
        await throttle.fail(rules)
        log.info("wrong confirmation code for order %s", visit.request_id)
        raise Invalid(
            "确认码不正确，请与老人核对",
            code="bad_confirmation_code",
            message_en="Wrong confirmation code: check it with the elder",
        )
    if at > row.expires_at:
        raise Invalid(
            "确认码已过期，请重新发送",
            code="confirmation_code_expired",
            message_en="The confirmation code has expired: send a new one",
        )
    row.used_at = utcnow()
    visit.confirmed_by, visit.confirmed_at = Confirmation.code.value, at
