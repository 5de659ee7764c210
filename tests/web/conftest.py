"""A real headless Chromium (Debian's package, installed by `make test`) driven by Playwright, on the real stack."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright

from tests.client import PASSWORD
from tests.infra import ARTIFACTS

CHROMIUM = Path(os.environ.get("ELDERCARE_CHROMIUM", "/usr/bin/chromium"))
# Headless, and quiet: the machine has no internet, so nothing of Chromium's own may try to reach it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = ARTIFACTS / "screenshots"


@dataclass
class Signed:
    """A browser tab signed in as one person, with every script error it met."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def assert_clean(self, ignore: tuple[str, ...] = ()) -> None:
        """No script or console error (but for those containing one of ``ignore``: a phone's own offline noise)."""
        errors = [e for e in self.errors if not any(noise in e for noise in ignore)]
        assert not errors, f"errors in the page: {errors}"

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def mark(self) -> None:
        """Leave a mark in the page: still there later means the page was never reloaded."""
        await self.page.evaluate("window.__notReloaded = true")

    async def not_reloaded(self) -> bool:
        return bool(await self.page.evaluate("window.__notReloaded === true"))


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as running:
        yield running


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once per run, before any page)
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield launched
    await launched.close()


S = TypeVar("S", bound=Signed)


def _watch(signed: S) -> S:
    """Keep every script error and console error the tab meets."""
    page = signed.page
    page.set_default_timeout(20_000)
    page.on("pageerror", lambda error: signed.errors.append(str(error)))
    # A resource refused by the content security policy, or one that failed to load, shows as a console error.
    page.on("console", lambda m: signed.errors.append(m.text) if m.type == "error" else None)
    return signed


@pytest.fixture
async def new_tab(stack: Any, browser: Browser) -> AsyncIterator[Callable[..., Awaitable[Signed]]]:
    """Open a fresh browser (its own storage) on the stack, its tab watched for script and console errors."""
    contexts = []

    async def open_tab(lang: str = "zh") -> Signed:
        context = await browser.new_context(
            base_url=stack.base_url,
            viewport={"width": 1440, "height": 900},
            locale="zh-CN" if lang == "zh" else "en-GB",
            timezone_id="Asia/Shanghai",
            accept_downloads=True,
        )
        contexts.append(context)
        return _watch(Signed(await context.new_page()))

    yield open_tab
    for context in contexts:
        await context.close()


@pytest.fixture
async def sign_in(new_tab: Callable[..., Awaitable[Signed]]) -> Callable[..., Awaitable[Signed]]:
    """Open a fresh browser and sign in through the login page."""

    async def open_as(username: str, password: str = PASSWORD, *, lands_on: str, lang: str = "zh") -> Signed:
        signed = await new_tab(lang)
        page = signed.page
        await page.goto(f"/web/?lang={lang}")
        await page.get_by_label("用户名" if lang == "zh" else "Username").fill(username)
        await page.get_by_label("密码" if lang == "zh" else "Password").fill(password)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"**{lands_on}")
        await page.wait_for_selector("#live[data-state=on]")
        return signed

    return open_as


@dataclass
class Phone(Signed):
    """A phone (a mobile device's screen, touch, and its position) signed in to one of the apps at ``/app/``."""

    context: BrowserContext | None = None

    async def offline(self, off: bool) -> None:
        assert self.context is not None
        await self.context.set_offline(off)


PHONE = "Pixel 5"  # 393 × 851 CSS px, touch, a mobile browser's user agent


@pytest.fixture
async def on_phone(
    stack: Any, browser: Browser, playwright: Playwright
) -> AsyncIterator[Callable[..., Awaitable[Phone]]]:
    """A fresh phone (its own storage, service worker and position), signed in through the app's sign-in page."""
    contexts = []

    async def open_as(
        username: str, *, lands_on: str, at: dict[str, float] | None = None, size: dict[str, int] | None = None
    ) -> Phone:
        where = at or {"lat": 31.31, "lon": 120.62}
        device = dict(playwright.devices[PHONE])
        if size:
            device["viewport"] = size
        context = await browser.new_context(
            **device,
            base_url=stack.base_url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            geolocation={"latitude": where["lat"], "longitude": where["lon"], "accuracy": 12},
            permissions=["geolocation"],
        )
        contexts.append(context)
        page = await context.new_page()
        phone = _watch(Phone(page, context=context))
        await page.goto("/app/")
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").tap()
        await page.wait_for_url(f"**{lands_on}")
        await page.wait_for_selector("#live[data-state=on]")
        return phone

    yield open_as
    for context in contexts:
        await context.close()
