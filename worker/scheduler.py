"""The scheduler: one process per deployment that only enqueues (sweeps, and the evening day plan)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from backend.core.config import Settings

if TYPE_CHECKING:
    from backend.core.runtime import Runtime

log = logging.getLogger(__name__)


def schedule(settings: Settings) -> list[tuple[str, float]]:
    """(task name, interval in seconds) of every periodic job."""
    return [
        ("dispatch.sweep_deadlines", settings.sweep_seconds),
        ("capacity.expire_holds", settings.sweep_seconds),
        ("emergency.sweep_ladders", settings.sweep_seconds),
        ("notifications.send", settings.sweep_seconds),
        ("events.relay", settings.relay_sweep_seconds),
        ("events.prune", settings.prune_seconds),
        # Idempotent (one reminder per policy and lead time), so hourly catches up after any downtime.
        ("insurance.remind_expiring", 3600.0),
        ("insurance.claims_overdue", 600.0),
        ("devices.sweep_dormant", 3600.0),
        ("feedback.sweep", 60.0),
    ]


def daily(settings: Settings) -> list[tuple[str, int, int]]:
    """(task name, hour, minute) of every daily job, Suzhou time."""
    hour, minute = (int(part) for part in settings.day_plan_at.split(":"))
    # Last month's statements each night: idempotent, so late corrections show up as a new revision.
    return [
        ("plans.plan_tomorrow", hour, minute),
        ("capacity.snapshot", 23, 55),
        ("settlement.draft_last_month", 2, 30),
    ]


def run_scheduler(settings: Settings) -> None:
    """Enqueue the periodic tasks to Celery until stopped."""
    from worker.celery_app import make_celery

    assert settings.redis_url, "the scheduler needs ELDERCARE_REDIS_URL"
    celery = make_celery(settings.redis_url)
    scheduler = BlockingScheduler(timezone="Asia/Shanghai")
    for name, seconds in schedule(settings):
        # A sweep not started within a few intervals is dropped: the next one does its work.
        scheduler.add_job(
            celery.send_task,
            "interval",
            args=[name],
            kwargs={"expires": max(3 * seconds, 5)},
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
        )
        log.info("scheduled %s every %ss", name, seconds)
    for name, hour, minute in daily(settings):
        scheduler.add_job(
            celery.send_task, "cron", args=[name], hour=hour, minute=minute, id=name, max_instances=1, coalesce=True
        )
        log.info("scheduled %s daily at %02d:%02d", name, hour, minute)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)


def start_embedded(runtime: Runtime) -> AsyncIOScheduler:
    """The embedded default: the same jobs, enqueued to the in-process worker."""
    scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")

    async def enqueue(name: str) -> None:
        runtime.jobs.enqueue(name)

    for name, seconds in schedule(runtime.settings):
        scheduler.add_job(enqueue, "interval", args=[name], seconds=seconds, id=name, max_instances=1, coalesce=True)
    for name, hour, minute in daily(runtime.settings):
        scheduler.add_job(
            enqueue, "cron", args=[name], hour=hour, minute=minute, id=name, max_instances=1, coalesce=True
        )
    scheduler.start()
    return scheduler
