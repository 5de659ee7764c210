"""Migrations build the whole schema from empty, and the models never drift from them."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

import psycopg
import pytest
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


BEFORE_FEN = "0a0dec2dd87a"  # the last revision with amounts in yuan
YUAN_ROWS = (
    "INSERT INTO district (id, code, name, kind, lat, lon) VALUES (900001, 'FEN1', '测试区', 'district', 31.3, 120.6)",
    "INSERT INTO subsidy_budget (district_id, month, budget_yuan) VALUES (900001, '2026-11', 1800000)",
    "INSERT INTO insurance_policy (scheme, insured_type, insured_id, insurer, number, starts_on, ends_on,"
    " limit_per_event, limit_per_year, premium_yuan, payer, status, by, created_at) VALUES ('elder_accident',"
    " 'elder', 1, '测试保险', 'FEN-1', '2026-01-01', '2026-12-31', 5000, 8000, 30, 'elder', 'active', 't',"
    " '2026-01-01 00:00:00')",
)


def _amounts(execute) -> tuple[object, ...]:
    return (
        execute("SELECT budget_fen FROM subsidy_budget WHERE district_id = 900001"),
        execute(
            "SELECT limit_per_event_fen, limit_per_year_fen, premium_fen FROM insurance_policy WHERE number = 'FEN-1'"
        ),
        execute("SELECT government_price_fen FROM service_type WHERE code = 'meal'"),
    )


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_amounts_in_yuan_become_fen_and_come_back_rounded_half_up(dialect: str, tmp_path) -> None:
    """The money migration on a database holding yuan: each amount times 100, its CHECK kept on the new column;
    down again, fen divided by 100, rounded half up."""
    with contextlib.ExitStack() as stack:
        if dialect == "postgresql":
            url = stack.enter_context(private_database())
            sync_url = url.replace("+asyncpg", "+psycopg")
            conn: Any = stack.enter_context(
                psycopg.connect(url.replace("postgresql+asyncpg", "postgresql"), autocommit=True)
            )
        else:
            sync_url = f"sqlite:///{tmp_path / 'embedded.db'}"
            conn = stack.enter_context(
                contextlib.closing(sqlite3.connect(tmp_path / "embedded.db", isolation_level=None))
            )

        def rows(sql: str) -> list[tuple[object, ...]]:
            return [tuple(r) for r in conn.execute(sql).fetchall()]

        command.upgrade(_config(sync_url), BEFORE_FEN)
        for sql in YUAN_ROWS:
            conn.execute(sql)
        command.upgrade(_config(sync_url), "head")
        assert _amounts(rows) == ([(180_000_000,)], [(500_000, 800_000, 3000)], [(1500,)])  # 15 yuan a meal: seeded
        command.check(_config(sync_url))
        with pytest.raises((psycopg.errors.CheckViolation, sqlite3.IntegrityError)):
            conn.execute("UPDATE insurance_policy SET limit_per_year_fen = 1 WHERE number = 'FEN-1'")
        conn.execute(
            "UPDATE insurance_policy SET premium_fen = 3050, limit_per_event_fen = 500049 WHERE number = 'FEN-1'"
        )

        command.downgrade(_config(sync_url), BEFORE_FEN)
        yuan = rows("SELECT limit_per_event, limit_per_year, premium_yuan FROM insurance_policy WHERE number = 'FEN-1'")
        assert yuan == [(5000, 8000, 31)]  # 30.50 → 31 (half up), 5000.49 → 5000
        assert rows("SELECT budget_yuan FROM subsidy_budget WHERE district_id = 900001") == [(1_800_000,)]
        command.upgrade(_config(sync_url), "head")
        assert _amounts(rows)[1] == [(500_000, 800_000, 3100)]
