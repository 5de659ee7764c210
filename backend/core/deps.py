"""Dependencies shared by every router: the runtime, settings, the request's unit of work, its read-only session
and the file store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.runtime import Runtime
from backend.core.storage import Storage


# Dependencies are coroutines even where they only look something up: FastAPI runs a plain function in its thread
# pool, a hop that costs more than the lookup.
async def get_runtime(request: Request) -> Runtime:
    """The process runtime made in the app's lifespan."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: commit when the route returns, roll back when it raises."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.unit_of_work() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# scope="function": the commit happens before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_session(request: Request, session: SessionDep) -> AsyncIterator[AsyncSession]:
    """The session of a read that tolerates a replica's lag (README, "Reads off the primary"): a read-only one on
    ``ELDERCARE_DATABASE_READ_URL`` when set and answering, else the request's own unit of work."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.reads.session(session) as reads:
        yield reads


# Dashboards' figures, lists and exports that may be a moment old; never anything a write or an access check needs.
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


async def get_settings_dep(runtime: RuntimeDep) -> Settings:
    """The settings of this process."""
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_storage(runtime: RuntimeDep) -> Storage:
    """The file store of this process."""
    return runtime.storage


StorageDep = Annotated[Storage, Depends(get_storage)]
