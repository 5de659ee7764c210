"""Column helpers shared by the domain models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

from backend.core.db import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def created_at_field() -> Any:
    """A creation time, set by the application."""
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def timestamp_field(*, nullable: bool = True, index: bool = False) -> Any:
    """An optional timestamp."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def required_timestamp_field() -> Any:
    """A timestamp that must be given."""
    return Field(sa_column=Column(UTCDateTime(), nullable=False))


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index over the rows matching ``where`` (SQL), on PostgreSQL and SQLite alike."""
    return Index(name, *columns, unique=unique, postgresql_where=text(where), sqlite_where=text(where))
