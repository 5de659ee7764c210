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


async def raw_websockets(port: int) -> None:
    """The bare WebSocket reference: the ``websockets`` library's own server speaking the contract's first steps
    (``auth`` → ``auth_ok``, ``subscribe`` → ``subscribed``) with no checks, and broadcasting a frame to every
    socket when one sends ``{"type": "broadcast"}``: what connecting and fanning out cost with none of the platform."""
    import json

    from websockets.asyncio.server import ServerConnection, broadcast, serve

    connected: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        connected.add(ws)
        try:
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "auth":
                    await ws.send(json.dumps({"type": "auth_ok", "user_id": 0, "role": "bare"}))
                elif kind == "subscribe":
                    await ws.send(json.dumps({"type": "subscribed", "channel": message["channel"], "seq": 0}))
                elif kind == "broadcast":
                    frame = {"type": "event", "channel": "bare", "seq": 1, "event": "tick", "data": message["data"]}
                    broadcast(connected, json.dumps(frame))
        finally:
            connected.discard(ws)

    # Compression off, as the platform's sockets (ELDERCARE_WEBSOCKET_COMPRESSION): the same work on both sides.
    async with serve(handler, "127.0.0.1", port, max_queue=None, compression=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    import asyncio
    import sys

    asyncio.run(raw_websockets(int(sys.argv[1])))
