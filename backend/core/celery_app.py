"""The platform's Celery app, configured once: the API and the scheduler send tasks with it, the workers
(``worker.celery_app``) run them."""

from __future__ import annotations

from celery import Celery


def make_celery(broker_url: str, prefix: str) -> Celery:
    """A Celery app for sending or running the platform's tasks.

    Every key it keeps in Redis (the queue ``<prefix>:celery``, bindings, unacknowledged tasks, events) starts with
    ``<prefix>:`` (``ELDERCARE_REDIS_PREFIX``). Workers send task events, so Flower (``eldercare flower``) shows
    every task live."""
    app = Celery("eldercare", broker=broker_url)
    app.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        broker_transport_options={"visibility_timeout": 3600, "global_keyprefix": f"{prefix}:"},
        worker_send_task_events=True,
        task_send_sent_event=True,
        # A simulated city's parts run for minutes: only workers started for them (``--queues simulation``) take them.
        task_routes={"simulation.*": {"queue": "simulation"}},
    )
    return app
