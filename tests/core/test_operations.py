"""What the people who run the platform see: Prometheus metrics from the API, the workers and the scheduler, alert
rules and a dashboard that name only series the platform exports, access lines that carry the request id and the
user (JSON when asked), and a task's log line carrying the id of the request that enqueued it."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.client import ADMIN_PASSWORD, Ws, offer_for, unique_phone
from tests.infra import ROOT, Process, free_port, platform_env, wait_ready

METRICS_TOKEN = "metrics-token-for-the-suite-0123456789"
# What the issue names, exactly so.
REQUIRED = {
    "eldercare_http_request_duration_seconds",
    "eldercare_open_orders",
    "eldercare_outbox_lag_seconds",
    "eldercare_websocket_connections",
    "eldercare_dispatch_decision_seconds",
    "eldercare_sweep_last_success_timestamp_seconds",
    "eldercare_celery_queue_depth",
    "eldercare_emergency_rungs_overdue",
    "eldercare_notifications_failing",
}
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a Prometheus text page, by sample name: [(labels, value)]."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def families(text: str) -> set[str]:
    """The series names a page exports, with and without their histogram and counter suffixes."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float | None:
    for have, number in found.get(name, []):
        if all(have.get(k) == v for k, v in labels.items()):
            return number
    return None


@pytest.fixture(scope="module")
def json_api(database_url: str, redis_url: str, stack) -> Iterator[tuple[str, Process]]:
    """An API process with JSON logs and a metrics token, on the suite's database and Redis."""
    port = free_port()
    env = platform_env(
        ELDERCARE_DATABASE_URL=database_url,
        ELDERCARE_REDIS_URL=redis_url,
        ELDERCARE_LOG_FORMAT="json",
        ELDERCARE_METRICS_TOKEN=METRICS_TOKEN,
    )
    process = Process("json-api", ["serve", "--port", str(port)], env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, process)
        yield base_url, process
    finally:
        process.stop()


async def test_every_process_exports_what_an_operator_watches(stack, admin, make_world) -> None:
    world = await make_world()
    operator = await world.user("operator")
    caregiver = world.caregivers[0]
    phone = await Ws.connect(stack.base_url, caregiver["api"].token, "/mobile/v1/ws")
    order = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201
    )
    await offer_for(caregiver["api"], order["id"])
    await operator.ok("GET", f"/api/v1/requests/{order['id']}")
    await asyncio.sleep(1.5)  # a sweep or two
    async with httpx.AsyncClient(timeout=30) as http:
        api = (await http.get(f"{stack.base_url}/metrics")).text
        worker = (await http.get(stack.worker_metrics_url)).text
        scheduler = (await http.get(stack.scheduler_metrics_url)).text
    await phone.close()

    found = samples(api)
    assert (value(found, "eldercare_open_orders", status="offered", priority="normal") or 0) >= 1
    # Requests counted by their route's shape, never by their ids.
    posted = "eldercare_http_request_duration_seconds_count"
    assert (value(found, posted, route="/api/v1/requests", method="POST", status="201") or 0) >= 1
    assert (value(found, posted, route="/api/v1/requests/{request_id}", method="GET", status="200") or 0) >= 1
    assert not any(re.search(rf"/{order['id']}(/|$)", labels["route"]) for labels, _ in found[posted])
    assert (value(found, "eldercare_websocket_connections") or 0) >= 1
    assert value(found, "eldercare_outbox_lag_seconds") is not None
    assert value(found, "eldercare_celery_queue_depth", queue="celery") is not None
    assert value(found, "eldercare_emergency_rungs_overdue") == 0
    assert value(found, "eldercare_notifications_failing", state="given_up") is not None
    now = time.time()
    for sweep in ("dispatch.sweep_deadlines", "emergency.sweep_ladders", "events.relay"):
        last = value(found, "eldercare_sweep_last_success_timestamp_seconds", sweep=sweep)
        assert last is not None and now - last < 10, (sweep, last)
    for beat in ("eldercare_worker_last_task_timestamp_seconds", "eldercare_scheduler_last_enqueue_timestamp_seconds"):
        assert now - (value(found, beat) or 0) < 10, beat

    # The worker's children decided the order's offers; its main process serves what every child measured.
    decided = samples(worker)
    assert (value(decided, "eldercare_dispatch_decision_seconds_count", kind="round") or 0) >= 1
    assert (value(decided, "eldercare_tasks_total", task="dispatch.run_round", outcome="ok") or 0) >= 1
    assert (value(samples(scheduler), "eldercare_scheduler_enqueued_total", job="events.relay") or 0) >= 1
    assert {n.removesuffix("_count") for n in families(api) | families(worker)} >= REQUIRED


async def test_alert_rules_and_the_dashboard_name_only_series_the_platform_exports(stack, admin) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        pages = [(await http.get(url)).text for url in (f"{stack.base_url}/metrics", stack.worker_metrics_url)]
        pages.append((await http.get(stack.scheduler_metrics_url)).text)
    exported = set().union(*(families(page) for page in pages))

    rules = yaml.safe_load((ROOT / "docker" / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    dashboard = json.loads((ROOT / "docker" / "grafana" / "eldercare-dashboard.json").read_text())
    exprs = [r["expr"] for r in rules] + [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    named = {name for expr in exprs for name in re.findall(r"\beldercare_[a-z_]+", expr)}
    missing = {n for n in named if n not in exported and not any(n.removesuffix(s) in exported for s in SUFFIXES)}
    assert not missing, missing
    alerts = {r["alert"] for r in rules}
    assert {
        "EldercareSweepStale",
        "EldercareOutboxLag",
        "EldercareQueueDepth",
        "EldercareEmergencyRungOverdue",
    } <= alerts
    assert {"EldercareServerErrors", "EldercareWorkerGone", "EldercareSchedulerGone"} <= alerts
    assert all(r["annotations"]["summary"] and r["labels"]["severity"] in ("warning", "critical") for r in rules)


async def test_metrics_need_the_token_once_one_is_set(json_api) -> None:
    base_url, _process = json_api
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        refused = await http.get("/metrics")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "metrics_token_required"
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer not-it"})
        assert wrong.status_code == 401
        allowed = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert allowed.status_code == 200 and "eldercare_open_orders" in allowed.text


async def test_access_lines_carry_the_request_id_and_the_user_in_json(json_api) -> None:
    base_url, process = json_api
    trace = f"trace-{uuid.uuid4().hex[:8]}"
    number = unique_phone()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        token = (await http.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}", "X-Request-ID": trace}
        me = await http.get("/api/v1/users/me", headers=headers)
        assert me.status_code == 200 and me.headers["x-request-id"] == trace
        await http.get(f"/api/v1/elders/{number}", headers=headers | {"X-Request-ID": f"{trace}-2"})
    await asyncio.sleep(0.5)
    lines = [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]
    (line,) = [x for x in lines if x.get("request_id") == trace and x.get("event") == "request"]
    assert line["route"] == "/api/v1/users/me" and line["status"] == 200 and line["method"] == "GET"
    assert (line["user_id"], line["username"], line["role"]) == (1, "admin", "admin")
    assert isinstance(line["duration_ms"], float) and line["level"] == "info" and line["timestamp"]
    (probe,) = [x for x in lines if x.get("request_id") == f"{trace}-2" and x.get("event") == "request"]
    assert probe["route"] == "/api/v1/elders/{elder_id}" and number not in json.dumps(probe, ensure_ascii=False)


async def test_a_task_logs_with_the_id_of_the_request_that_enqueued_it(stack, admin, make_world) -> None:
    world = await make_world()
    operator = await world.user("operator")
    trace = f"order-{uuid.uuid4().hex[:8]}"
    made = await operator.http.post(
        "/api/v1/requests",
        json={"elder_id": world.elders[0]["id"], "service_type": "meal"},
        headers={"X-Request-ID": trace},
    )
    assert made.status_code == 201 and made.headers["x-request-id"] == trace
    worker = stack.processes["worker"]

    def logged() -> list[str]:
        return [line for line in worker.log().splitlines() if f"request_id={trace}" in line]

    for _ in range(50):
        if logged():
            break
        await asyncio.sleep(0.2)
    assert any("dispatch.run_round" in line or "dispatch.run_batch" in line for line in logged()), worker.log()[-2000:]
