"""A deployment as compose and Kubernetes run it: PostgreSQL behind PgBouncer in transaction pooling, Redis with a
password, every Celery key under the deployment's prefix; an order's whole life through it, timed beside the
direct stack of the suite."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.client import ADMIN_PASSWORD, Api, World, order_life
from tests.conftest import Stack, running_stack
from tests.infra import Process, free_port, platform_env, private_database, run_cli

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
REDIS_PASSWORD = "test-redis-password-0123"
FLOWER_AUTH = "ops:flower-test-pass"
ROUNDS = 3

pytestmark = pytest.mark.skipif(not os.path.exists(PGBOUNCER), reason="make test installs Debian's pgbouncer")


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{what} exited"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not listening on {port}")


@contextlib.contextmanager
def pgbouncer() -> Iterator[int]:
    """A PgBouncer of our own on a free port, transaction pooling, in front of the suite's PostgreSQL."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="eldercare-pgbouncer-"))
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n* = host=127.0.0.1 port=5432\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\nadmin_users = postgres\n"
        "pool_mode = transaction\nmax_client_conn = 400\ndefault_pool_size = 20\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
    )
    args = [PGBOUNCER]
    if os.getuid() == 0:  # PgBouncer will not run as root
        user = pwd.getpwnam("postgres")
        for path in (folder, *folder.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
        args += ["-u", "postgres"]
    proc = subprocess.Popen([*args, str(folder / "pgbouncer.ini")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc, "pgbouncer")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def redis_with_password() -> Iterator[str]:
    """A Redis of our own that refuses every command before AUTH."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--requirepass",
            REDIS_PASSWORD,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, proc, "redis-server")
        yield f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _bouncer(port: int, command: str) -> list[dict[str, str]]:
    """A ``SHOW`` of PgBouncer's admin console (simple protocol only: psql)."""
    done = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            "pgbouncer",
            "-A",
            "-F",
            "\t",
            "-c",
            command,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line.split("\t") for line in done.stdout.splitlines() if "\t" in line]
    return [dict(zip(lines[0], row, strict=True)) for row in lines[1:]]


async def _lives(stack_url: str, admin: Api) -> list[float]:
    times = []
    for _ in range(ROUNDS):
        world = await World.build(stack_url, admin, caregivers_km=(0.5,))
        times.append((await order_life(world))[1])
        await world.close()
    return times


async def test_an_order_lives_its_whole_life_through_pgbouncer_and_a_redis_with_a_password(
    stack: Stack, admin: Api
) -> None:
    direct = await _lives(stack.base_url, admin)
    prefix = "district-gusu"
    with pgbouncer() as port, redis_with_password() as redis_url, private_database() as direct_url:
        pooled_url = direct_url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")
        assert pooled_url != direct_url
        database = direct_url.rsplit("/", 1)[1]
        env = {"ELDERCARE_DATABASE_PGBOUNCER": "true", "ELDERCARE_REDIS_PREFIX": prefix}
        # The migrations too go through PgBouncer (psycopg without server-side prepared statements).
        run_cli(platform_env(ELDERCARE_DATABASE_URL=pooled_url, **env), "migrate")
        flower_port = free_port()
        flower = Process(
            "flower",
            ["flower", "--port", str(flower_port)],
            platform_env(
                ELDERCARE_DATABASE_URL=pooled_url, ELDERCARE_REDIS_URL=redis_url, FLOWER_BASIC_AUTH=FLOWER_AUTH, **env
            ),
        )
        try:  # Flower starts while the stack does, and is listening by the time the stack is ready
            with running_stack(
                pooled_url,
                redis_url,
                name="pgbouncer-",
                ELDERCARE_DATABASE_POOL_SIZE="4",
                ELDERCARE_DATABASE_MAX_OVERFLOW="4",
                **env,
            ) as pooled:
                _wait_port(flower_port, flower.proc, "flower")
                pooled_admin = await Api.login(pooled.base_url, "admin", ADMIN_PASSWORD)
                through = await _lives(pooled.base_url, pooled_admin)
                await pooled_admin.close()
                tasks = await _flower_tasks(flower_port)
        finally:
            flower.stop()
        # PgBouncer carried the platform's transactions, within its pool of server connections.
        stats = {row["database"]: row for row in _bouncer(port, "SHOW STATS")}
        assert int(stats[database]["total_xact_count"]) > 50, stats
        pools = [row for row in _bouncer(port, "SHOW POOLS") if row["database"] == database]
        assert pools and all(int(row["sv_active"]) + int(row["sv_idle"]) <= 20 for row in pools), pools
        # Without the password Redis refuses; with it, every key of the deployment is under its prefix.
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(redis_url.replace(f":{REDIS_PASSWORD}@", "")).ping()
        keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys("*")]
        assert keys and all(k.startswith(f"{prefix}:") for k in keys), keys
        assert f"{prefix}:_kombu.binding.celery" in keys, keys  # Celery's own keys too
    # Flower saw the dispatcher's tasks run, from the workers' task events.
    names = {task["name"] for task in tasks.values() if task.get("state") == "SUCCESS"}
    assert "dispatch.run_round" in names, names
    print(
        f"order's whole life, median of {ROUNDS}: direct {statistics.median(direct) * 1000:.0f} ms, "
        f"through PgBouncer {statistics.median(through) * 1000:.0f} ms"
    )


async def _flower_tasks(port: int) -> dict[str, Any]:
    """Flower's tasks (its API, behind its basic auth), once it has seen some succeed."""
    user, password = FLOWER_AUTH.split(":")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        assert (await http.get("/api/tasks")).status_code == 401
        deadline = time.monotonic() + 15
        while True:
            found: dict[str, Any] = (await http.get("/api/tasks", auth=(user, password))).raise_for_status().json()
            if any(task.get("state") == "SUCCESS" for task in found.values()) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.5)
