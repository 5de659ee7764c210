"""What the scheduler enqueues and when: the platform's timetable of periodic and daily jobs (task names).

``worker.scheduler`` enqueues from it; the operations metrics read it to tell a late sweep from an idle one."""

from __future__ import annotations

from backend.core.config import Settings


def schedule(settings: Settings) -> list[tuple[str, float]]:
    """(task name, interval in seconds) of every periodic job."""
    return [
        ("dispatch.sweep_deadlines", settings.sweep_seconds),
        ("dispatch.sweep_breaches", settings.breach_sweep_seconds),
        ("capacity.expire_holds", settings.sweep_seconds),
        ("emergency.sweep_ladders", settings.sweep_seconds),
        ("notifications.send", settings.sweep_seconds),
        ("events.relay", settings.relay_sweep_seconds),
        ("events.prune", settings.prune_seconds),
        ("idempotency.prune", settings.prune_seconds),
        # Idempotent (one reminder per policy and lead time), so hourly catches up after any downtime.
        ("insurance.remind_expiring", 3600.0),
        ("insurance.claims_overdue", 600.0),
        ("devices.sweep_dormant", 3600.0),
        ("feedback.sweep", 60.0),
        # Rolling re-optimisation of the day's accepted visits (the lookahead dispatch policy only).
        *(
            [("plans.replan_all", settings.replan_minutes * 60)]
            if settings.looks_ahead and settings.replan_minutes
            else []
        ),
    ]


def daily(settings: Settings) -> list[tuple[str, int, int]]:
    """(task name, hour, minute) of every daily job, Suzhou time."""
    hour, minute = (int(part) for part in settings.day_plan_at.split(":"))
    # Last month's statements each night: idempotent, so late corrections show up as a new revision.
    return [
        ("plans.plan_tomorrow", hour, minute),
        ("capacity.snapshot", 23, 55),
        ("settlement.draft_last_month", 2, 30),
        ("audit.prune", 3, 15),
        ("dispatch.train_breach_model", int(settings.breach_train_at[:2]), int(settings.breach_train_at[3:])),
    ]
