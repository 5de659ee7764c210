"""Notification tasks: queued SMS and voice messages sent, and retried, by the worker."""

from __future__ import annotations

import httpx

from backend.core.db import utcnow
from backend.core.jobs import task
from backend.core.runtime import Runtime
from backend.notifications import service
from backend.notifications.senders import senders


@task("notifications.send")
async def send(runtime: Runtime) -> int:
    """Send every queued message that is due, each in its own transaction; returns how many went."""
    now = utcnow()
    async with runtime.sessions() as session:
        ids = await service.due(session, now)
    if not ids:
        return 0
    sent = 0
    async with httpx.AsyncClient(timeout=10) as client:  # one connection pool per pass, to the SMS provider
        channels = senders(runtime.settings, client)
        for notification_id in ids:
            async with runtime.unit_of_work() as session:
                sent += await service.send_one(session, channels, notification_id, now)
    return sent
