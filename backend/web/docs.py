"""The API's description (``/openapi.json``, ``/docs``, ``/redoc``): public in development, behind a sign-in in
production (``ELDERCARE_DOCS_PUBLIC`` decides either way).

A browser cannot send a bearer token when it opens ``/docs``, so these pages also take the platform's own
username and password by HTTP Basic (the browser asks for them once, and sends them again with the page's
request for ``/openapi.json``). The sign-in goes through the same throttled, audited check as the token route.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from backend.access.deps import signed_in
from backend.core.deps import RuntimeDep, SessionDep
from backend.core.errors import Unauthorized
from backend.users.models import User
from backend.users.service import sign_in
from backend.web.router import asset

REALM = 'Basic realm="eldercare API", charset="UTF-8"'


async def docs_reader(request: Request, session: SessionDep, runtime: RuntimeDep) -> User:
    """Whoever is signed in, by bearer token or by HTTP Basic; 401 asking the browser for a sign-in otherwise."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() == "bearer":
            return (await signed_in(session, runtime.settings, credentials.strip()))[0]
        if scheme.lower() == "basic":
            try:
                username, _, password = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise Unauthorized("请先登录", code="not_authenticated", message_en="Not authenticated") from exc
            return await sign_in(session=session, runtime=runtime, username=username, password=password)
        raise Unauthorized("请先登录", code="not_authenticated", message_en="Not authenticated")
    except Unauthorized as exc:
        exc.headers = {"WWW-Authenticate": REALM}
        raise


def install_docs(app: FastAPI, *, public: bool) -> None:
    """Serve the description and its pages; behind ``docs_reader`` unless ``public``."""
    guard = [] if public else [Depends(docs_reader)]
    router = APIRouter(include_in_schema=False, dependencies=guard)

    @router.get("/openapi.json")
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    # Swagger UI and ReDoc from the platform's own static files: nothing loads from a CDN (a government
    # intranet has none) and no font from Google.
    @router.get("/docs")
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url=asset("vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=asset("vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=asset("vendor/swagger-ui/favicon-32x32.png"),
        )

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} · API",
            redoc_js_url=asset("vendor/redoc/redoc.standalone.js"),
            redoc_favicon_url=asset("vendor/swagger-ui/favicon-32x32.png"),
            with_google_fonts=False,
        )

    app.include_router(router)
