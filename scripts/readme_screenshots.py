"""Screenshots of the staff's pages and the phone apps for the README, from a running demo (`make run`) in headless
Chromium (the apps on an emulated phone).

    make run &                      # the demo on http://127.0.0.1:8000
    .venv/bin/python scripts/readme_screenshots.py [--base-url URL] [--out docs/screenshots]

It gives the demo a little life first (a few orders for the demo elders, accepted by whichever demo caregiver
is offered them), then signs in as the operator, the district staff member and the admin at their desks, and on
a phone as a caregiver who took an order (their day) and as the demo elder.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright

ARGS = [
    "--lang=zh-CN",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
]
CAREGIVERS = ("cg01", "cg02", "cg03", "cg04", "cg05", "cg06", "cg07", "cg08", "cg09", "cg10", "cg11")


def token(base: str, username: str, password: str = "demo1234") -> str:
    reply = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": password})
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def liven_up(base: str) -> str | None:
    """A few orders, two of them accepted; who accepted one (if anyone did), for the phone's screenshot."""
    operator = {"Authorization": f"Bearer {token(base, 'operator')}"}
    for elder_id, service in ((2, "meal"), (3, "cleaning"), (4, "bathing"), (5, "meal"), (6, "mobility")):
        httpx.post(f"{base}/api/v1/requests", json={"elder_id": elder_id, "service_type": service}, headers=operator)
    time.sleep(3)
    accepted, holder = 0, None
    for username in CAREGIVERS:
        headers = {"Authorization": f"Bearer {token(base, username)}"}
        for offer in httpx.get(f"{base}/mobile/v1/offers", headers=headers).json():
            if accepted < 2 and httpx.post(f"{base}/mobile/v1/offers/{offer['id']}/accept", headers=headers).is_success:
                accepted += 1
                holder = holder or username
    return holder


async def sign_in(page: Page, base: str, username: str, password: str, lands_on: str) -> None:
    await page.goto(f"{base}/web/?lang=zh")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**{lands_on}")
    await page.wait_for_selector("#live[data-state=on]")


async def shoot(base: str, out: Path, admin_password: str, caregiver: str | None) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        shots = (
            ("operator", "demo1234", "/web/console", "console"),
            ("district", "demo1234", "/web/dashboard", "dashboard"),
            ("admin", admin_password, "/web/bureau", "bureau"),
        )
        for username, password, lands_on, name in shots:
            context = await browser.new_context(
                viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            page = await context.new_page()
            await sign_in(page, base, username, password, lands_on)
            if name == "console":
                await page.fill("#phone", "13812340001")
                await page.keyboard.press("Enter")
                await page.locator("#elder-name").filter(has_text="#").wait_for()  # her file is shown
                await page.select_option("#service", "meal")
                await page.keyboard.press("Control+Enter")
                await page.wait_for_selector(".tracked")
            await page.wait_for_timeout(2500)
            await page.screenshot(path=str(out / f"{name}.png"), full_page=name != "console")
            await context.close()
        phone = playwright.devices["Pixel 5"]
        for username, lands_on, name in (
            (caregiver, "/app/caregiver", "app-caregiver"),
            ("elder", "/app/elder", "app-elder"),
        ):
            if username is None:
                continue
            context = await browser.new_context(**phone, locale="zh-CN", timezone_id="Asia/Shanghai")
            page = await context.new_page()
            await page.goto(f"{base}/app/?lang=zh")
            await page.fill("#username", username)
            await page.fill("#password", "demo1234")
            await page.keyboard.press("Enter")
            await page.wait_for_url(f"**{lands_on}")
            await page.wait_for_selector("#live[data-state=on]")
            if name == "app-caregiver":
                await page.get_by_role("button", name="今日工作").click()
            await page.wait_for_timeout(2500)
            await page.screenshot(path=str(out / f"{name}.png"))
            await context.close()
        await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--admin-password", default="admin")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    holder = liven_up(options.base_url)
    asyncio.run(shoot(options.base_url, options.out, options.admin_password, holder))
