"""The bare references the scale benchmarks measure the platform against, served as their own processes.

``bare_intake``: a FastAPI app whose one route inserts a work order with asyncpg and answers 201, nothing else (no
auth, no rules, no history, no outbox): what intake would cost with none of the platform's work. Served by uvicorn
exactly as ``eldercare serve`` serves the platform (one process, the same event loop and HTTP implementation).

    BARE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python -m uvicorn benchmarks.bare:bare_intake
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, status
from pydantic import BaseModel

TABLE = """
CREATE TABLE IF NOT EXISTS bare_order (
    id bigserial PRIMARY KEY,
    elder_id bigint NOT NULL,
    service_type varchar(32) NOT NULL,
    priority varchar(16) NOT NULL,
    notes text,
    status varchar(16) NOT NULL DEFAULT 'new',
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


class OrderIn(BaseModel):
    elder_id: int
    service_type: str
    priority: str = "normal"
    notes: str | None = None


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(os.environ["BARE_DATABASE_URL"], min_size=5, max_size=15)
    await pool.execute(TABLE)
    app.state.pool = pool
    yield
    await pool.close()


bare_intake = FastAPI(lifespan=_lifespan)


@bare_intake.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bare_intake.post("/orders", status_code=status.HTTP_201_CREATED)
async def create_order(order: OrderIn) -> dict[str, Any]:
    row = await bare_intake.state.pool.fetchrow(
        "INSERT INTO bare_order (elder_id, service_type, priority, notes) VALUES ($1, $2, $3, $4)"
        " RETURNING id, status, created_at",
        order.elder_id,
        order.service_type,
        order.priority,
        order.notes,
    )
    return {"id": row["id"], "status": row["status"], "created_at": row["created_at"].isoformat(), **order.model_dump()}
