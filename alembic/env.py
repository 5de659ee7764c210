"""Alembic environment: the platform's metadata, the URL from the settings (synchronous driver)."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from sqlalchemy import create_engine, pool

from alembic import context
from backend.core.config import get_settings
from backend.core.crypto import Sealed
from backend.core.db import sync_connect_args
from backend.core.models import UTCDateTime
from backend.models import metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render the project's column types as plain SQLAlchemy types in migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, Sealed):
        return "sa.String(length=255)"
    return False


def _url() -> str:
    return str(config.attributes.get("url") or get_settings().sync_database_url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    # Through PgBouncer in transaction pooling too: psycopg prepares nothing on the server.
    connect_args = sync_connect_args(get_settings().database_pgbouncer) if url.startswith("postgresql") else {}
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
