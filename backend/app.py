"""The ASGI application: backend API under /api/v1, mobile API under /mobile/v1, WebSockets on both."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

import worker.registry  # noqa: F401  (every task registered: the embedded worker runs them)
from backend.access.deps import get_current_user
from backend.access.router import router as audit_router
from backend.areas.router import router as areas_router
from backend.audit import service as audit
from backend.benefits.router import router as benefits_router
from backend.calendars.router import router as calendars_router
from backend.capacity.router import router as capacity_router
from backend.core.config import Settings, get_settings
from backend.core.deps import RuntimeDep
from backend.core.errors import DomainError, install_error_handlers
from backend.core.idempotency import Idempotency
from backend.core.idempotency import document as document_idempotency
from backend.core.middleware import RequestGuard
from backend.core.openapi import document_errors
from backend.core.paging import document as document_paging
from backend.core.runtime import Runtime
from backend.dashboard.router import router as dashboard_router
from backend.daycare.router import router as daycare_router
from backend.devices.router import device_router
from backend.devices.router import router as devices_router
from backend.dispatch.router import caregiver_router as absence_router
from backend.dispatch.router import router as dispatch_router
from backend.emergency.router import router as emergency_router
from backend.families.router import router as families_router
from backend.feedback.router import router as feedback_router
from backend.fhir.router import router as fhir_router
from backend.followups.router import router as followups_router
from backend.insurance.router import router as insurance_router
from backend.notifications.router import router as notifications_router
from backend.operations.metrics import router as metrics_router
from backend.plans.router import router as plans_router
from backend.realtime.ws import websocket_router
from backend.registry.router import router as registry_router
from backend.requests.proofs_router import router as proofs_router
from backend.requests.router import router as requests_router
from backend.requests.router import sos_router
from backend.settlement.router import router as settlement_router
from backend.users import service as users
from backend.users.router import public_router as auth_router
from backend.users.router import router as users_router
from backend.web.apps import install as install_apps
from backend.web.docs import install_docs
from backend.web.router import install as install_pages
from mobile_api.proofs import router as mobile_proofs_router
from mobile_api.router import router as mobile_router

log = logging.getLogger(__name__)


async def _ensure_admin(runtime: Runtime) -> None:
    try:
        async with runtime.unit_of_work() as session:
            await users.ensure_admin(session=session, settings=runtime.settings)
    except (OperationalError, ProgrammingError, DBAPIError):
        log.warning("database not migrated yet: run `eldercare migrate`")


def _warm_routes(app: FastAPI) -> None:
    """Build every route's request handling now: FastAPI otherwise does it on the first request of each router,
    which stalls the event loop for a few hundred milliseconds right when someone is waiting."""
    for route in app.router.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            for _ in contexts():
                pass


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start-up and shut-down of the serving process: its runtime, and in the embedded mode its scheduler."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(settings, role="api")
        app.state.runtime = runtime
        await runtime.start()
        await _ensure_admin(runtime)
        _warm_routes(app)
        # What start-up made lives as long as the process: out of the collector's way, so that a full collection
        # (set off by a large import, say) stays short instead of walking every module and route again.
        gc.freeze()
        scheduler = None
        if settings.embedded:
            from worker.scheduler import start_embedded

            scheduler = start_embedded(runtime)
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            await runtime.stop()

    return lifespan


health = APIRouter(tags=["health"])


@health.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@health.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The database (and Redis, where configured) answer. A read replica is reported, with its lag, but its
    absence does not make the process unready: its reads go to the primary meanwhile."""
    checks: dict[str, str] = {}
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unreachable"
    if not runtime.settings.embedded:
        checks["redis"] = "ok" if await runtime.bus.ping() else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ok" if ready else "unavailable", "checks": checks}
    replica = await runtime.reads.probe()
    if replica is not None:
        checks["read_replica"] = "ok" if replica.answers else "unreachable"
        body |= {"reads": "replica" if replica.answers else "primary", "read_lag_seconds": replica.lag_seconds}
    return JSONResponse(body, status_code=200 if ready else 503)


# Every signed-in router of /api/v1 (a user's token checked before anything else).
SIGNED_IN_ROUTERS = (
    absence_router,
    areas_router,
    audit_router,
    benefits_router,
    calendars_router,
    capacity_router,
    dashboard_router,
    daycare_router,
    devices_router,
    dispatch_router,
    emergency_router,
    families_router,
    notifications_router,
    feedback_router,
    fhir_router,
    followups_router,
    insurance_router,
    plans_router,
    proofs_router,
    registry_router,
    requests_router,
    sos_router,
    settlement_router,
    users_router,
)


def _include_routes(app: FastAPI) -> None:
    # The sockets first: a socket's route is found before the HTTP routes are tried (thousands of phones reconnect).
    app.include_router(websocket_router(), prefix="/api/v1")
    app.include_router(websocket_router(), prefix="/mobile/v1")
    app.include_router(health)
    app.include_router(metrics_router)  # its own token (ELDERCARE_METRICS_TOKEN), not a user's
    app.include_router(auth_router, prefix="/api/v1")
    app.include_router(device_router, prefix="/api/v1")  # devices bring their own credentials
    protected = [Depends(get_current_user)]
    for router in SIGNED_IN_ROUTERS:
        app.include_router(router, prefix="/api/v1", dependencies=protected)
    app.include_router(mobile_router, prefix="/mobile/v1", dependencies=protected)
    app.include_router(mobile_proofs_router, prefix="/mobile/v1", dependencies=protected)


async def _refused(request: Request, exc: DomainError) -> None:
    await audit.record_refusal(request.app.state.runtime, method=request.method, route=request.url.path, code=exc.code)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; the runtime (engine, bus, jobs) is made in its lifespan."""
    settings = settings or get_settings()
    app = FastAPI(
        title="虚拟养老服务派单平台 · Virtual elder-care dispatch",
        version="1.0.0",
        lifespan=_lifespan(settings),
        # Served by ``install_docs``: public in development, behind a sign-in in production.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        description=(
            "Hotline, dispatch, caregivers and dashboards. Contract v1 (docs/contract.md): /api/v1 and /mobile/v1."
        ),
    )
    install_error_handlers(app, on_refusal=_refused)
    app.add_middleware(Idempotency)  # inside the guard: bodies are bounded before they are kept
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    _include_routes(app)
    install_pages(app)
    install_apps(app)
    document_idempotency(app)
    document_errors(app)
    document_paging(app)
    install_docs(app, public=settings.docs_open)
    return app
