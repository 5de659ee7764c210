"""Pages for people at a desk, served by the backend itself: no separate front-end server.

Each page is a shell rendered in the chosen language; its script signs in with the API's token (kept in the
tab's session storage), reads the API and listens on the WebSocket. The choice of language is a cookie.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from backend.web.i18n import Lang, catalogue, pick_lang

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
PAGES = {
    "console": "console.html",
    "dashboard": "dashboard.html",
    "bureau": "bureau.html",
    "provider": "provider.html",
}
LANG_COOKIE = "eldercare_lang"
# Scripts only from here (the page's words are a JSON block, not a script); charts set styles from script.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)


@cache
def asset(path: str) -> str:
    """A static file's address with its content's fingerprint: a new release is never served from a stale cache."""
    digest = hashlib.sha256((HERE / "static" / path).read_bytes()).hexdigest()[:12]
    return f"/web/static/{path}?v={digest}"


def render(
    request: Request,
    template: str,
    page: str,
    lang_param: str | None,
    words_of: Callable[[Lang], dict[str, str]] = catalogue,
    **context: Any,
) -> Response:
    """A page in the chosen language (asked for, else the cookie's), its words embedded for its scripts."""
    lang: Lang = pick_lang(lang_param or request.cookies.get(LANG_COOKIE))
    words = words_of(lang)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "page": page,
            "t": words,
            "asset": asset,
            "catalogue_json": json.dumps(words, ensure_ascii=False).replace("</", "<\\/"),
            **context,
        },
        headers=SECURITY_HEADERS,
    )
    if lang_param is not None:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.api_route("/", methods=["GET", "HEAD"])
async def root() -> RedirectResponse:
    """The staff's pages start at the sign-in."""
    return RedirectResponse("/web/", status_code=307)


@router.get("/web/", response_class=HTMLResponse)
async def login_page(request: Request, lang: str | None = Query(default=None, max_length=8)) -> Response:
    return render(request, "login.html", "login", lang)


@router.get("/web/{page}", response_class=HTMLResponse)
async def page(request: Request, page: str, lang: str | None = Query(default=None, max_length=8)) -> Response:
    template = PAGES.get(page)
    if template is None:
        return RedirectResponse("/web/", status_code=307)
    return render(request, template, page, lang)


def install(app: FastAPI) -> None:
    """The pages and their static files (scripts, styles, the vendored ECharts and Suzhou's district outlines)."""
    mimetypes.add_type("application/geo+json", ".geojson")  # known from /etc/mime.types, which a slim image lacks
    app.mount("/web/static", StaticFiles(directory=HERE / "static"), name="web-static")
    app.include_router(router)
