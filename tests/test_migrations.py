"""Migrations build the whole schema from empty, and the models never drift from them."""

from __future__ import annotations

import psycopg
from alembic.config import Config

from alembic import command
from tests.infra import ROOT, platform_env, private_database, run_cli


def _config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    return config


def test_upgrade_from_empty_to_head_then_check_finds_no_drift() -> None:
    with private_database() as url:
        sync_url = url.replace("+asyncpg", "+psycopg")
        command.upgrade(_config(sync_url), "head")
        command.check(_config(sync_url))  # raises when models and migrations differ
        with psycopg.connect(url.replace("postgresql+asyncpg", "postgresql")) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            codes = {r[0] for r in conn.execute("SELECT code FROM service_type")}
        assert {"service_request", "offer", "visit", "request_history", "outbox_event", "channel_event"} <= tables
        assert {"meal", "bathing", "cleaning", "emergency", "medical_escort", "mobility", "day_care"} <= codes


def test_migrate_command_builds_the_embedded_sqlite_database(tmp_path) -> None:
    db = tmp_path / "embedded.db"
    printed = run_cli(platform_env(ELDERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{db}"), "migrate")
    assert "数据库已迁移" in printed
    command.check(_config(f"sqlite:///{db}"))
