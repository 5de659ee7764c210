"""Test infrastructure: a private PostgreSQL database, a private Redis DB index, real processes."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
PG_ADMIN_URL = os.environ.get("ELDERCARE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
STACK_SECRET = "test-secret-key-for-the-suite-only-0123456789"
# The suite's own data keys (sealing ID and phone numbers) and blind-index key: every process of a test run,
# and the test process itself, share them.
TEST_DATA_KEYS = "t1:dkxuYWVjrGwRRg6vz69FZ-E4QiQaLCbeGMG9_tFlOnc"
TEST_INDEX_KEY = "E_7Lq5EmEHV7_Jf1smR0N6-SHVztESWzVF2ZpN0XNJY"
os.environ["ELDERCARE_DATA_KEYS"] = TEST_DATA_KEYS
os.environ["ELDERCARE_BLIND_INDEX_KEY"] = TEST_INDEX_KEY
REDIS_BASE = os.environ.get("ELDERCARE_TEST_REDIS", "redis://127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _url_of(name: str) -> str:
    """The asyncpg URL of a database on the suite's PostgreSQL."""
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


def _drop(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextlib.contextmanager
def private_database(*, keep: bool = False, template: str | None = None) -> Iterator[str]:
    """A new, empty PostgreSQL database for this test run (or a copy of ``template``, a database's name); dropped
    afterwards unless ``keep`` (a benchmark's data kept for another run). Yields its asyncpg URL."""
    name = f"eldercare_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _url_of(name)
    finally:
        if not keep:
            _drop(name)


_template: str | None = None  # this process's migrated database, never connected to: only copied


def _migrated_template() -> str:
    """The name of a database ``eldercare migrate`` brought to head, made on first use and dropped when this process
    exits."""
    global _template
    if _template is None:
        name = f"eldercare_template_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop, name)
        migrate(_url_of(name))
        _template = name
    return _template


@contextlib.contextmanager
def migrated_database() -> Iterator[str]:
    """A new PostgreSQL database with the schema and reference data of the migrations, dropped afterwards: a copy of
    the one this process migrated (a copy takes a tenth of a second, a migration several seconds)."""
    with private_database(template=_migrated_template()) as url:
        yield url


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """An empty Redis DB index claimed for this run (never one in use); flushed afterwards."""
    claim = f"eldercare-test-claim:{uuid.uuid4().hex}"
    for index in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{index}")
        if client.dbsize() == 0 and client.set("eldercare-test-claim", claim, nx=True, ex=3600):
            try:
                yield f"{REDIS_BASE}/{index}"
            finally:
                if client.get("eldercare-test-claim") == claim.encode():
                    client.flushdb()
                client.close()
            return
        client.close()
    raise RuntimeError("no empty Redis DB index left for the tests")


def run_cli(env: dict[str, str], *args: str) -> str:
    """Run an ``eldercare`` command to completion; its standard output, or an assertion with its errors."""
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def migrate(database_url: str) -> None:
    """Run ``eldercare migrate`` against the database."""
    run_cli(platform_env(ELDERCARE_DATABASE_URL=database_url), "migrate")


_sqlite_templates: dict[tuple[str, ...], Path] = {}


def sqlite_database(path: Path, *commands: str) -> str:
    """A SQLite database at ``path`` as ``eldercare migrate`` and then the ``commands`` (``seed``) leave it: made once
    per process and per commands, then copied (each command is a process of several seconds). Its URL."""
    steps = ("migrate", *commands)
    if steps not in _sqlite_templates:
        folder = Path(tempfile.mkdtemp(prefix="eldercare-test-sqlite-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = folder / "template.db"
        env = platform_env(ELDERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{template}")
        for step in steps:
            run_cli(env, *step.split())
        _sqlite_templates[steps] = template
    template = _sqlite_templates[steps]
    for suffix in ("", "-wal", "-shm"):  # what a write-ahead log still holds, if anything
        if Path(f"{template}{suffix}").exists():
            shutil.copyfile(f"{template}{suffix}", f"{path}{suffix}")
    return f"sqlite+aiosqlite:///{path}"


class Process:
    """A platform process (serve, worker, scheduler) with its log in test-artifacts/."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], module: str | None = "backend.cli") -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER")  # each of the suite's workers runs its own stack
        self.name = f"{worker}-{name}" if worker else name
        self.log_path = ARTIFACTS / f"{self.name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, *(["-m", module] if module else []), *args],
            env=env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_ready(base_url: str, process: Process, timeout: float = 90, path: str = "/readyz") -> None:
    """Wait until ``path`` (/readyz) answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.log()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}{path}", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} not ready:\n{process.log()[-4000:]}")


def platform_env(**overrides: str) -> dict[str, str]:
    """The environment of a platform process, without anything inherited from ELDERCARE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    env |= {
        "ELDERCARE_ENVIRONMENT": "test",
        "ELDERCARE_SECRET_KEY": STACK_SECRET,
        "ELDERCARE_ACCESS_TOKEN_MINUTES": "240",  # the suite's session-long sign-ins outlive the default 30
        "ELDERCARE_DATA_KEYS": TEST_DATA_KEYS,
        "ELDERCARE_BLIND_INDEX_KEY": TEST_INDEX_KEY,
        "ELDERCARE_ADMIN_PASSWORD": "admin-test-pass",
        "ELDERCARE_LOG_LEVEL": "INFO",
    }
    return env | overrides
