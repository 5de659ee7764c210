"""``GET /metrics``: the process's own series, and the deployment's, read from the database and Redis when scraped.

Every API process answers the same deployment-wide figures (take ``max`` across instances in queries and alerts):
orders open by status and priority, the age of the oldest event not yet relayed, how many emergency rungs are past
their clock, notifications retrying or given up, Celery's queue, and the heartbeats of every periodic job, of the
workers and of the scheduler (``backend.core.heartbeats``). Open by default; with ``ELDERCARE_METRICS_TOKEN`` set,
only ``Authorization: Bearer <token>`` reads it.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.db import utcnow
from backend.core.deps import RuntimeDep, SessionDep
from backend.core.errors import Unauthorized
from backend.core.events import OutboxEvent
from backend.core.runtime import Runtime
from backend.emergency.models import LadderStep, StepStatus
from backend.notifications.models import Notification, SendStatus
from backend.operations.timetable import daily, schedule
from backend.orders.models import ServiceRequest as Order
from backend.orders.models import Status

OPEN = [s.value for s in Status if s not in (Status.completed, Status.closed, Status.cancelled)]
CELERY_QUEUE = "celery"

OPEN_ORDERS = Gauge("eldercare_open_orders", "Orders not yet finished, by status and priority", ["status", "priority"])
OUTBOX_LAG = Gauge("eldercare_outbox_lag_seconds", "Age of the oldest event not yet relayed to the sockets (0: none)")
RUNGS_OVERDUE = Gauge(
    "eldercare_emergency_rungs_overdue", "Emergency ladder rungs still running past their clock (the sweep is late)"
)
NOTIFICATIONS_FAILING = Gauge(
    "eldercare_notifications_failing", "Messages retrying after a failure, or given up in the last day", ["state"]
)
QUEUE_DEPTH = Gauge("eldercare_celery_queue_depth", "Tasks waiting in a Celery queue", ["queue"])
SWEEP_SUCCESS = Gauge(
    "eldercare_sweep_last_success_timestamp_seconds", "When each periodic job last succeeded (Unix time)", ["sweep"]
)
WORKER_SEEN = Gauge("eldercare_worker_last_task_timestamp_seconds", "When a worker last finished a task (Unix time)")
SCHEDULER_SEEN = Gauge(
    "eldercare_scheduler_last_enqueue_timestamp_seconds", "When the scheduler last enqueued a job (Unix time)"
)

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(http: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Prometheus metrics of this process and of the deployment (open unless ``ELDERCARE_METRICS_TOKEN`` is set)."""
    _check_token(runtime, http.headers.get("authorization", ""))
    await _read_deployment(session, runtime)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _check_token(runtime: Runtime, authorization: str) -> None:
    token = runtime.settings.metrics_token
    if token is None or not token.get_secret_value():  # unset, or set empty (compose's default): open
        return
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        raise Unauthorized("需要监控令牌", code="metrics_token_required", message_en="The metrics token is required")


async def _read_deployment(session: AsyncSession, runtime: Runtime) -> None:
    """Set the deployment-wide gauges from the database and Redis, as they are now."""
    now = utcnow()
    OPEN_ORDERS.clear()
    counted = await session.execute(
        select(Order.status, Order.priority, func.count())
        .where(col(Order.status).in_(OPEN))
        .group_by(col(Order.status), col(Order.priority))
    )
    for status, priority, count in counted.all():
        OPEN_ORDERS.labels(status, priority).set(count)
    oldest = await session.scalar(select(func.min(OutboxEvent.created_at)).where(col(OutboxEvent.relayed_at).is_(None)))
    OUTBOX_LAG.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    grace = timedelta(seconds=max(30.0, 3 * runtime.settings.sweep_seconds))
    RUNGS_OVERDUE.set(
        await session.scalar(
            select(func.count())
            .select_from(LadderStep)
            .where(col(LadderStep.status) == StepStatus.active.value, col(LadderStep.due_at) < now - grace)
        )
        or 0
    )
    retrying = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.status) == SendStatus.pending.value, col(Notification.attempts) > 0)
    )
    given_up = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.status) == SendStatus.failed.value, col(Notification.created_at) >= now - timedelta(1))
    )
    NOTIFICATIONS_FAILING.labels("retrying").set(retrying or 0)
    NOTIFICATIONS_FAILING.labels("given_up").set(given_up or 0)
    # Celery keeps the queue under the deployment's prefix (worker.celery_app.make_celery).
    depth = await runtime.heartbeats.queue_depth(f"{runtime.settings.redis_prefix}:{CELERY_QUEUE}")
    if depth is not None:
        QUEUE_DEPTH.labels(CELERY_QUEUE).set(depth)
    beats = await runtime.heartbeats.read()
    settings = runtime.settings
    for name in [n for n, _ in schedule(settings)] + [n for n, _, _ in daily(settings)]:
        if f"task:{name}" in beats:
            SWEEP_SUCCESS.labels(name).set(beats[f"task:{name}"])
    if "worker" in beats:
        WORKER_SEEN.set(beats["worker"])
    if "scheduler" in beats:
        SCHEDULER_SEEN.set(beats["scheduler"])
