"""The scheduler: one process per deployment that only enqueues (sweeps, and the evening day plan)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from prometheus_client import Gauge, start_http_server

from backend.core.config import Settings
from backend.core.heartbeats import sync_beater
from backend.core.i18n import LOCAL_TZ
from backend.core.leases import Holder
from backend.core.metrics import SCHEDULER_ENQUEUED
from backend.operations.timetable import daily, schedule

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy.engine import Engine

    from backend.core.runtime import Runtime

log = logging.getLogger(__name__)
LEADING = Gauge("eldercare_scheduler_leader", "1 while this scheduler holds the lease and enqueues, 0 standing by")
CATCH_UP_SECONDS = 600.0  # a daily job missed while standing by is still enqueued on taking over this soon after


def lease_seconds(settings: Settings) -> float:
    """The scheduler's lease runs out a sweep and a quarter after its last renewal (four renewals may fail)..."""
    return max(1.0, 1.25 * settings.sweep_seconds)


def renew_seconds(settings: Settings) -> float:
    """...and is renewed (or tried) every quarter sweep: a standby takes over within a sweep and a half."""
    return max(0.2, settings.sweep_seconds / 4)


class _Enqueuer:
    """Sends the periodic tasks to Celery while this process holds the scheduler's lease."""

    def __init__(self, settings: Settings, celery: Celery, beat: Callable[..., None], lease: Holder) -> None:
        self.settings = settings
        self.celery = celery
        self.beat = beat
        self.lease = lease
        self.missed: dict[str, float] = {}  # daily jobs that came due while standing by: when

    def enqueue(self, name: str, expires: float | None = None, daily: bool = False) -> None:
        """Send one task, if leading; a daily one missed while standing by is remembered."""
        if not self.lease.leading:
            if daily:
                self.missed[name] = time.monotonic()
            return
        self.celery.send_task(name, expires=expires)
        SCHEDULER_ENQUEUED.labels(name).inc()
        self.beat("scheduler")  # the API's /metrics says when the scheduler last enqueued

    def hold(self) -> None:
        """Renew (or try to take) the lease; on taking over, catch up on the sweeps and recent daily jobs."""
        was = self.lease.leading
        LEADING.set(1 if self.lease.renew() else 0)
        if self.lease.leading and not was:
            log.info("scheduler %s leads: enqueueing", self.lease.holder)
            for name, seconds in schedule(self.settings):  # at once, not at the next tick: the sweeps catch up
                self.enqueue(name, expires=max(3 * seconds, 5))
            for name, when in list(self.missed.items()):
                if time.monotonic() - when < CATCH_UP_SECONDS:
                    self.enqueue(name)
            self.missed.clear()


def run_scheduler(settings: Settings) -> None:
    """Enqueue the periodic tasks to Celery until stopped, while this process holds the scheduler's lease.

    Run two or more: one holds the lease (``backend.core.leases``) and enqueues; the others renew nothing, only try,
    and take over within two sweep intervals of the leader's death (at once when it stops cleanly). A daily job
    that came due while this process stood by is enqueued when it takes over, if it is still recent.
    """
    from backend.core.celery_app import make_celery

    assert settings.redis_url, "the scheduler needs ELDERCARE_REDIS_URL"
    celery = make_celery(settings.redis_url, settings.redis_prefix)
    beat = sync_beater(settings)
    engine = _lease_engine(settings)
    me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    lease = Holder(engine, "scheduler", me, lease_seconds(settings))
    enqueuer = _Enqueuer(settings, celery, beat, lease)
    if settings.scheduler_metrics_port:
        start_http_server(settings.scheduler_metrics_port, addr=settings.metrics_host)
    scheduler = BlockingScheduler(timezone="Asia/Shanghai")
    _add_jobs(scheduler, enqueuer, settings)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a clean stop gives the lease up
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
    finally:
        lease.release()
        engine.dispose()


def _lease_engine(settings: Settings) -> Engine:
    """A small synchronous engine for the lease."""
    from sqlalchemy import create_engine

    from backend.core.db import sync_connect_args

    return create_engine(
        settings.sync_database_url,
        pool_size=1,
        max_overflow=1,
        pool_pre_ping=True,
        connect_args=sync_connect_args(settings.database_pgbouncer),
    )


def _add_jobs(scheduler: BlockingScheduler, enqueuer: _Enqueuer, settings: Settings) -> None:
    """The lease's renewal at once and every quarter sweep, then every periodic and daily job."""
    first = datetime.now(LOCAL_TZ)
    scheduler.add_job(
        enqueuer.hold,
        "interval",
        seconds=renew_seconds(settings),
        id="lease",
        next_run_time=first,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    for name, seconds in schedule(settings):
        # A sweep not started within a few intervals is dropped: the next one does its work.
        scheduler.add_job(
            enqueuer.enqueue,
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
            enqueuer.enqueue,
            "cron",
            args=[name],
            kwargs={"daily": True},
            hour=hour,
            minute=minute,
            id=name,
            max_instances=1,
            coalesce=True,
        )
        log.info("scheduled %s daily at %02d:%02d", name, hour, minute)


def start_embedded(runtime: Runtime) -> AsyncIOScheduler:
    """The embedded default: the same jobs, enqueued to the in-process worker."""
    scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")

    async def enqueue(name: str) -> None:
        runtime.jobs.enqueue(name)
        SCHEDULER_ENQUEUED.labels(name).inc()
        await runtime.heartbeats.beat("scheduler")

    for name, seconds in schedule(runtime.settings):
        scheduler.add_job(enqueue, "interval", args=[name], seconds=seconds, id=name, max_instances=1, coalesce=True)
    for name, hour, minute in daily(runtime.settings):
        scheduler.add_job(
            enqueue, "cron", args=[name], hour=hour, minute=minute, id=name, max_instances=1, coalesce=True
        )
    scheduler.start()
    return scheduler
