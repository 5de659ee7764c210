"""A real headless Chromium (Debian's package, installed by `make test`) driven by Playwright, on the real stack."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

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

    def assert_clean(self) -> None:
        assert not self.errors, f"errors in the page: {self.errors}"

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
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once per run, before any page)
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (make browser)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def sign_in(stack: Any, browser: Browser) -> AsyncIterator[Callable[..., Awaitable[Signed]]]:
    """Open a fresh browser (its own storage) and sign in through the login page."""
    contexts = []

    async def open_as(username: str, password: str = PASSWORD, *, lands_on: str, lang: str = "zh") -> Signed:
        context = await browser.new_context(
            base_url=stack.base_url,
            viewport={"width": 1440, "height": 900},
            locale="zh-CN" if lang == "zh" else "en-GB",
            timezone_id="Asia/Shanghai",
            accept_downloads=True,
        )
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(20_000)
        signed = Signed(page)
        page.on("pageerror", lambda error: signed.errors.append(str(error)))
        # A resource refused by the content security policy, or one that failed to load, shows as a console error.
        page.on("console", lambda m: signed.errors.append(m.text) if m.type == "error" else None)
        await page.goto(f"/web/?lang={lang}")
        await page.get_by_label("用户名" if lang == "zh" else "Username").fill(username)
        await page.get_by_label("密码" if lang == "zh" else "Password").fill(password)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"**{lands_on}")
        await page.wait_for_selector("#live[data-state=on]")
        return signed

    yield open_as
    for context in contexts:
        await context.close()
