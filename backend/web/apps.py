"""The phone apps, installable from the browser (PWA) at ``/app/``: the caregiver's and the elder's (and family's).

Like the staff's pages: Jinja shells in the chosen language and plain scripts, no build step. Each app is a web
app manifest and a service worker (scope ``/app/``) that keeps the shell on the phone, so the app opens in a
stairwell with no signal; what the caregiver does there waits in the phone's IndexedDB and is replayed, in
order and with its ``Idempotency-Key``, when the network returns (``static/app/outbox.js``).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from backend.web.app_words import app_catalogue
from backend.web.i18n import pick_lang
from backend.web.router import HERE, LANG_COOKIE, asset, render

PAGES = {"caregiver": "app/caregiver.html", "elder": "app/elder.html"}
# Everything an app needs to open with no network: its pages and the static files they load.
SHELL_FILES = (
    "app/app.css",
    "js/common.js",
    "js/login.js",
    "app/core.js",
    "app/outbox.js",
    "app/caregiver.js",
    "app/visit.js",
    "app/elder.js",
    "app/icon-192.png",
    "app/icon-512.png",
)
THEME = "#0b2a5b"

router = APIRouter(include_in_schema=False)


@cache
def service_worker_source() -> str:
    return (HERE / "templates" / "app" / "sw.js").read_text(encoding="utf-8")


@cache
def shell() -> tuple[str, list[str]]:
    """The service worker's cache name (changes with any file of the shell) and the files' addresses."""
    addresses = [asset(path) for path in SHELL_FILES]
    return "eldercare-app-" + hashlib.sha256("|".join(addresses).encode()).hexdigest()[:12], addresses


@router.get("/app", response_class=HTMLResponse)
async def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/", response_class=HTMLResponse)
async def sign_in_page(request: Request, lang: str | None = Query(default=None, max_length=8)) -> Response:
    """Sign in once on the phone; the app then opens on the role's own screens."""
    return render(request, "app/login.html", "login", lang, app_catalogue, **_app_context(request))


def _app_context(request: Request) -> dict[str, object]:
    return {"hotline": request.app.state.runtime.settings.hotline_phone, "theme": THEME}


@router.get("/app/manifest.webmanifest")
async def manifest(request: Request) -> JSONResponse:
    """The web app manifest: how the phone installs the app (name, icons, standalone, start at ``/app/``)."""
    english = pick_lang(request.cookies.get(LANG_COOKIE)) == "en"
    words = app_catalogue("en" if english else "zh")
    icons = [
        {"src": asset(f"app/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}
        for size in (192, 512)
        for purpose in ("any", "maskable")
    ]
    return JSONResponse(
        {
            "name": words["app.title"],
            "short_name": words["app.title"],
            "lang": "en" if english else "zh-CN",
            "start_url": "/app/",
            "scope": "/app/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#ffffff",
            "theme_color": THEME,
            "icons": icons,
        },
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/app/sw.js")
async def service_worker() -> Response:
    """The service worker: the shell cached under a name that changes with every release."""
    name, files = shell()
    pages = ["/app/", *(f"/app/{page}" for page in PAGES)]
    script = (
        service_worker_source()
        .replace("__CACHE__", name)
        .replace("__FILES__", json.dumps(files))
        .replace("__PAGES__", json.dumps(pages))
    )
    headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/app/", "X-Content-Type-Options": "nosniff"}
    return Response(script, media_type="text/javascript", headers=headers)


@router.get("/app/{page}", response_class=HTMLResponse)
async def app_page(request: Request, page: str, lang: str | None = Query(default=None, max_length=8)) -> Response:
    template = PAGES.get(page)
    if template is None:
        return RedirectResponse("/app/", status_code=307)
    return render(request, template, page, lang, app_catalogue, **_app_context(request))


def install(app: FastAPI) -> None:
    """The apps' pages, manifest and service worker (their static files are the staff pages' mount)."""
    app.include_router(router)
