"""Writing and reading the audit trail.

``record`` adds rows to the request's own unit of work: a read that rolled back never happened. Refusals and
failed sign-ins are written by ``record_apart`` in a transaction of their own, since the request that was
refused rolls back. Who and from where come from the request's context (``backend.core.context``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select

from backend.audit.models import AuditEvent, Outcome
from backend.core.context import current
from backend.core.db import utcnow
from backend.core.masking import mask_text
from backend.core.runtime import Runtime

log = logging.getLogger(__name__)


def _rows(
    *, action: str, subjects: Sequence[str | None], fields: Iterable[str], outcome: Outcome, detail: str | None
) -> list[dict[str, object]]:
    context = current()
    now = utcnow()
    base = {
        "at": now,
        "actor_user_id": context.user_id if context else None,
        "actor_username": (context.username if context else "")[:64],
        "actor_role": (context.role if context else "system")[:32],
        "action": action,
        "fields": sorted(set(fields)),
        "outcome": outcome.value,
        "client": (context.client if context else "")[:64],
        "request_id": (context.request_id if context else "")[:64],
        "detail": mask_text(detail)[:255] if detail else None,
    }
    return [{**base, "subject": subject} for subject in subjects]


async def record(
    session: AsyncSession,
    *,
    action: str,
    subjects: Sequence[str | None] = (None,),
    fields: Iterable[str] = (),
    outcome: Outcome = Outcome.ok,
    detail: str | None = None,
) -> None:
    """Add one audit row per subject to the session's unit of work."""
    if not subjects:
        return
    await session.execute(
        insert(AuditEvent), _rows(action=action, subjects=subjects, fields=fields, outcome=outcome, detail=detail)
    )


async def record_reads(session: AsyncSession, *, action: str, elder_ids: Iterable[int | None]) -> None:
    """Reads of elders' files, once per request and elder (a list names each elder it shows), with the route."""
    context = current()
    subjects = elders(elder_ids)
    if context is not None:
        subjects = [s for s in subjects if (action, s) not in context.audited]
        context.audited.update((action, s) for s in subjects)
    await record(session, action=action, subjects=subjects, detail=context.route if context else None)


async def record_apart(
    runtime: Runtime,
    *,
    action: str,
    subjects: Sequence[str | None] = (None,),
    outcome: Outcome,
    detail: str | None = None,
) -> None:
    """Write audit rows in a transaction of their own (for refusals: the refused request rolls back)."""
    try:
        async with runtime.unit_of_work() as session:
            await record(session, action=action, subjects=subjects, outcome=outcome, detail=detail)
    except Exception:  # the refusal still stands; only its record is missing
        log.exception("could not record %s in the audit trail", action)


def elders(ids: Iterable[int | None]) -> list[str]:
    """The audit subjects of these elders, each once, in order."""
    return [f"elder:{i}" for i in dict.fromkeys(ids) if i is not None]


async def search(
    session: AsyncSession,
    *,
    subject: str | None,
    actor_user_id: int | None,
    actor_username: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEvent], int]:
    """Audit rows matching every given filter, newest first, and how many match in all."""
    conditions = []
    if subject is not None:
        conditions.append(col(AuditEvent.subject) == subject)
    if actor_user_id is not None:
        conditions.append(col(AuditEvent.actor_user_id) == actor_user_id)
    if actor_username is not None:
        conditions.append(col(AuditEvent.actor_username) == actor_username)
    if action is not None:
        conditions.append(col(AuditEvent.action) == action)
    if since is not None:
        conditions.append(col(AuditEvent.at) >= since)
    if until is not None:
        conditions.append(col(AuditEvent.at) < until)
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = await session.execute(
        select(AuditEvent)
        .where(*conditions)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), int(total or 0)


async def prune(*, session: AsyncSession, retention_days: int) -> int:
    """Delete the rows older than the retention period (the only deletes the database allows)."""
    before = utcnow() - timedelta(days=retention_days)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # The append-only trigger lets through deletes of rows older than this, in this transaction only.
        await session.execute(
            text("SELECT set_config('eldercare.audit_prune_before', :before, true)"), {"before": before.isoformat()}
        )
    result = await session.execute(delete(AuditEvent).where(col(AuditEvent.at) < before))
    return int(getattr(result, "rowcount", 0) or 0)


async def record_refusal(runtime: Runtime, *, method: str, route: str, code: str) -> None:
    """A permission refusal (403), in the trail with who asked for what."""
    await record_apart(runtime, action="access.refused", outcome=Outcome.refused, detail=f"{method} {route} {code}")
