"""The dashboards' own table: one narrow row per order with what its figures count, kept by the database.

An area's figures over 14 or 30 days read tens of thousands of orders; joined from the orders, their history and
their visits that took a city 300 ms and more. ``order_figure`` holds per order its Suzhou day, community, status,
seconds to its first acceptance and its rating, and PostgreSQL keeps it with the orders by triggers (migration
``20261207_order_figures``: an order made or moved, a history row ``accepted``, a visit rated), so no code path
(an API, a worker, a bulk import) can leave it behind. The embedded SQLite has no triggers: its dashboards count
from the orders themselves (``backend.dashboard.figures``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Date, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

# What the figures read, kept in the indexes themselves: the city's days and an area's read no table page.
FIGURES = ["status", "accept_seconds", "rating"]


class OrderFigure(SQLModel, table=True):
    """One order as the dashboards count it."""

    __tablename__ = "order_figure"
    __table_args__ = (
        Index("ix_order_figure_day", "day", postgresql_include=["community_id", *FIGURES]),
        Index("ix_order_figure_community_day", "community_id", "day", postgresql_include=FIGURES),
    )

    request_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("service_request.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    community_id: int
    day: date = Field(sa_column=Column(Date, nullable=False))  # the Suzhou day it was made
    status: str = Field(max_length=16)
    accept_seconds: float | None = None  # from made to its first acceptance
    rating: int | None = None  # its visit's stars
