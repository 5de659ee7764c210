"""Production refuses the demo (finding 1) and keeps its API description behind sign-in (finding 17)."""

from __future__ import annotations

import random
import sqlite3
import string
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from tests.client import ADMIN_PASSWORD, PASSWORD, Api
from tests.infra import ROOT, Process, free_port, platform_env, run_cli, sqlite_database, wait_ready

PRODUCTION = {"ELDERCARE_ENVIRONMENT": "production"}


def _serve(name: str, env: dict[str, str]) -> tuple[str, Process]:
    port = free_port()
    process = Process(name, ["serve", "--port", str(port)], env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, process)
    except Exception:
        process.stop()
        raise
    return base_url, process


@pytest.fixture(scope="module")
def production_api(database_url: str, redis_url: str, stack) -> Iterator[str]:
    """An API process in production mode on the suite's database (next to the test stack's own)."""
    env = platform_env(ELDERCARE_DATABASE_URL=database_url, ELDERCARE_REDIS_URL=redis_url, **PRODUCTION)
    base_url, process = _serve("production-api", env)
    try:
        yield base_url
    finally:
        process.stop()


def test_production_refuses_to_seed_the_demo(tmp_path: Path) -> None:
    db = tmp_path / "prod.db"
    env = platform_env(ELDERCARE_DATABASE_URL=sqlite_database(db), **PRODUCTION)
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "seed", "--demo"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "生产环境不能加载演示数据" in done.stdout and "production" in done.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM user_account WHERE username = 'operator'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM device").fetchone() == (0,)


async def test_demo_accounts_and_admin_admin_never_sign_in_in_production(tmp_path: Path) -> None:
    """Even a database seeded in development earlier: production answers 401 to the demo's passwords and secret."""
    db = tmp_path / "was-a-demo.db"
    development = {
        k: v
        for k, v in platform_env(
            ELDERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{db}", ELDERCARE_ENVIRONMENT="development"
        ).items()
        if k != "ELDERCARE_ADMIN_PASSWORD"  # the laptop demo's admin/admin
    }
    sqlite_database(db)
    printed = run_cli(development, "seed", "--demo")
    assert "demo1234" in printed
    env = development | PRODUCTION
    base_url, process = _serve("production-embedded", env)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            for username, password in (("operator", "demo1234"), ("family", "demo1234"), ("admin", "admin")):
                refused = await http.post("/api/v1/auth/token", data={"username": username, "password": password})
                assert refused.status_code == 401, (username, refused.text)
            alarm = await http.post(
                "/api/v1/devices/alarms",
                json={"alarm_id": "x1", "button": "red", "at": datetime.now(UTC).isoformat()},
                headers={"Authorization": "Device DEMO-YJT-0001:demo-device-secret"},
            )
            assert alarm.status_code == 401
    finally:
        process.stop()


async def test_well_known_passwords_are_refused_in_production(stack, admin, production_api) -> None:
    # Letters only: digits in the name could read as a phone number, which the audit trail masks (05:12:34… did).
    username = "weak_" + "".join(random.choices(string.ascii_lowercase, k=12))
    await admin.ok("POST", "/api/v1/users", {"username": username, "password": "demo1234", "role": "operator"}, 201)
    async with httpx.AsyncClient(timeout=30) as http:
        allowed = await http.post(
            f"{stack.base_url}/api/v1/auth/token", data={"username": username, "password": "demo1234"}
        )
        assert allowed.status_code == 200  # the test environment lets it through
        refused = await http.post(
            f"{production_api}/api/v1/auth/token", data={"username": username, "password": "demo1234"}
        )
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "bad_credentials"
    prod_admin = await Api.login(production_api, "admin", ADMIN_PASSWORD)
    weak = await prod_admin.post(
        "/api/v1/users", {"username": username + "x", "password": "demo1234", "role": "operator"}
    )
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    trail = await admin.ok("GET", "/api/v1/audit-log?action=auth.sign_in_failed&limit=500")
    assert any(f"username={username} reason=well_known_password" == t["detail"] for t in trail)


async def test_the_api_description_needs_a_sign_in_in_production(stack, admin, production_api) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert (await http.get(f"{stack.base_url}{path}")).status_code == 200  # public outside production
            closed = await http.get(f"{production_api}{path}")
            assert closed.status_code == 401 and closed.headers["www-authenticate"].startswith("Basic")
        basic = await http.get(f"{production_api}/openapi.json", auth=("admin", ADMIN_PASSWORD))
        assert basic.status_code == 200 and basic.json()["info"]["title"]
        page = await http.get(f"{production_api}/docs", auth=("admin", ADMIN_PASSWORD))
        assert page.status_code == 200 and "swagger" in page.text.lower()
        bearer = await http.get(f"{production_api}/openapi.json", headers={"Authorization": f"Bearer {admin.token}"})
        assert bearer.status_code == 200
        wrong = await http.get(f"{production_api}/openapi.json", auth=("admin", "wrong"))
        assert wrong.status_code == 401


def test_the_compose_file_seeds_no_demo_outside_its_demo_profile() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        command = (
            " ".join(map(str, service.get("entrypoint", []) or []))
            + " "
            + " ".join(map(str, service.get("command", []) or []))
        )
        assert "seed --demo" not in command, name
        assert service.get("environment", {}).get("ELDERCARE_ENVIRONMENT", "production") == "production"
    demo = yaml.safe_load((ROOT / "docker" / "compose.demo.yaml").read_text())
    seeding = [s for s in demo["services"].values() if "seed --demo" in " ".join(map(str, s.get("command", []) or []))]
    assert seeding and all(s["environment"]["ELDERCARE_ENVIRONMENT"] == "development" for s in seeding)
    assert PASSWORD  # the suite's own accounts are never the demo's
