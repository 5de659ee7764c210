"""The platform's process metrics (Prometheus), defined once; what they measure is observed where it happens.

Series that describe the whole deployment (open orders, the outbox, queues, sweeps) are read from the database
and Redis when scraped, in ``backend.operations.metrics``. A Celery worker's children write to files in
``PROMETHEUS_MULTIPROC_DIR`` and its main process serves them (``serve_multiprocess``), so a decision made in any
child is counted once.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server

HTTP_DURATION = Histogram(
    "eldercare_http_request_duration_seconds",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKETS = Gauge(
    "eldercare_websocket_connections", "Open WebSocket connections of this process", multiprocess_mode="livesum"
)
DISPATCH_DECISION = Histogram(
    "eldercare_dispatch_decision_seconds",
    "Time to decide whom to offer orders to: one order's round, or a batch",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
TASKS = Counter("eldercare_tasks_total", "Background tasks run, by task and outcome", ["task", "outcome"])
SCHEDULER_ENQUEUED = Counter("eldercare_scheduler_enqueued_total", "Jobs the scheduler enqueued", ["job"])


def serve_multiprocess(port: int, host: str) -> None:
    """Serve the metrics every process under ``PROMETHEUS_MULTIPROC_DIR`` wrote (a worker's main process)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(port, addr=host, registry=registry)


def process_died(pid: int) -> None:
    """A worker child is gone: its live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
