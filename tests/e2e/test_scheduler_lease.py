"""No single point of failure in the scheduler: of two, one holds the lease and enqueues, the other waits, and takes
over within two sweep intervals when the leader is killed (at once when it stops cleanly); sweeps go on."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Stack, running_stack
from tests.infra import Process, free_port, migrated_database, platform_env, private_redis

# Seconds: the lease runs out 1.25 sweeps after its last renewal and is tried every quarter sweep, so a takeover
# comes 1.25-1.5 sweeps after a death; two sweeps of 4 s leave room for a loaded machine's scheduling delays.
SWEEP = 4.0
STARTED = 60.0  # seconds for a process to start and answer on a loaded machine (not what is measured here)


def _scheduler_state(url: str) -> tuple[float, float] | None:
    """(leading 1/0, jobs enqueued so far) of a scheduler, from its own metrics; None while it does not answer."""
    try:
        page = httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return None
    leading, enqueued = 0.0, 0.0
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == "eldercare_scheduler_leader":
                leading = sample.value
            elif sample.name == "eldercare_scheduler_enqueued_total":
                enqueued += sample.value
    return leading, enqueued


def _wait(check, timeout: float = 20.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    return None


@pytest.fixture(scope="module")
def lease_stack() -> Iterator[tuple[Stack, dict[str, str]]]:
    settings = {
        "ELDERCARE_SWEEP_SECONDS": str(SWEEP),
        "ELDERCARE_RELAY_SWEEP_SECONDS": str(SWEEP),
        # The standby enqueues where the stack's workers listen: Celery's queue is under the deployment's prefix.
        "ELDERCARE_REDIS_PREFIX": f"lease-{uuid.uuid4().hex[:8]}",
    }
    with (
        migrated_database() as database_url,
        private_redis() as redis_url,
        running_stack(database_url, redis_url, name="lease-", **settings) as stack,
    ):
        env = platform_env(ELDERCARE_DATABASE_URL=database_url, ELDERCARE_REDIS_URL=redis_url, **settings)
        yield stack, env


def _second_scheduler(env: dict[str, str], name: str) -> tuple[Process, str]:
    port = free_port()
    process = Process(name, ["scheduler"], env | {"ELDERCARE_SCHEDULER_METRICS_PORT": str(port)})
    return process, f"http://127.0.0.1:{port}/metrics"


def test_one_of_two_schedulers_enqueues_and_the_other_takes_over_when_it_dies(lease_stack) -> None:
    stack, env = lease_stack
    first = stack.processes["scheduler"]
    assert _wait(lambda: (_scheduler_state(stack.scheduler_metrics_url) or (0, 0))[0] == 1, STARTED)  # it leads
    standby, standby_url = _second_scheduler(env, "lease-standby")
    try:
        assert _wait(lambda: _scheduler_state(standby_url) is not None, STARTED)
        time.sleep(2 * SWEEP)
        leader_before = _scheduler_state(stack.scheduler_metrics_url)
        waiting = _scheduler_state(standby_url)
        assert leader_before and leader_before[0] == 1 and leader_before[1] > 0
        assert waiting == (0.0, 0.0)  # it waits, and enqueues nothing: no job runs twice

        # The leader dies without a word: the other takes the lease once it has run out.
        first.proc.kill()
        killed, killed_at = time.monotonic(), time.time()
        taken = _wait(lambda: (_scheduler_state(standby_url) or (0, 0))[1] > 0, timeout=5 * SWEEP)
        took = time.monotonic() - killed
        print(f"takeover after the leader was killed: {took:.2f} s (sweep interval {SWEEP:.0f} s)")
        assert taken and took <= 2 * SWEEP, took

        # The sweeps go on: the API's metrics say the deadline sweep succeeded after the lease changed hands.
        def swept_after_takeover() -> bool:
            page = httpx.get(f"{stack.base_url}/metrics", timeout=5).text
            return any(
                sample.labels.get("sweep") == "dispatch.sweep_deadlines" and sample.value > killed_at + SWEEP
                for family in text_string_to_metric_families(page)
                for sample in family.samples
                if sample.name == "eldercare_sweep_last_success_timestamp_seconds"
            )

        assert _wait(swept_after_takeover, timeout=5 * SWEEP)

        # A clean stop gives the lease up: a third scheduler takes over at its next try, well before it runs out.
        third, third_url = _second_scheduler(env, "lease-third")
        try:
            assert _wait(lambda: _scheduler_state(third_url) is not None, STARTED)
            standby.stop()  # SIGTERM
            stopped = time.monotonic()
            assert _wait(lambda: (_scheduler_state(third_url) or (0, 0))[0] == 1, timeout=5 * SWEEP)
            handed = time.monotonic() - stopped
            print(f"takeover after a clean stop: {handed:.2f} s")
            assert handed < SWEEP, handed
        finally:
            third.stop()
    finally:
        standby.stop()
