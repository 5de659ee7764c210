"""Everyone who signs in lands on a page that admits them: a provider's staff on their provider's desk (its
caregivers' orders and visits, never a rival's), each staff role on its own page, the phone apps' people told to
sign in on the app (and staff on the app told to use the staff pages), never sent round in a loop."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.client import ADMIN_PASSWORD, PASSWORD, Api, World, offer_for
from tests.e2e.test_visit_proof import png, upload
from tests.web.conftest import Signed


async def _accepted(world: World, operator: Api) -> int:
    """An order of the world's elder, accepted by the world's caregiver."""
    phone = world.caregivers[0]["api"]
    body = {"elder_id": world.elders[0]["id"], "service_type": "meal"}
    rid: int = (await operator.ok("POST", "/api/v1/requests", body, 201))["id"]
    await phone.ok("POST", f"/mobile/v1/offers/{(await offer_for(phone, rid))['id']}/accept")
    return rid


async def _visited(world: World, operator: Api) -> tuple[int, dict[str, Any]]:
    """A finished visit with a photo taken at the door: the order's id and the photo's record."""
    rid, phone = await _accepted(world, operator), world.caregivers[0]["api"]
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-in", world.home)
    photo = await upload(phone, rid, "arrival_photo", png(6, 4, (30, 120, 200)), **world.home)
    assert photo.status_code == 201, photo.text
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {})
    return rid, photo.json()


async def test_provider_staff_supervise_their_caregivers_orders_and_never_a_rivals(make_world, sign_in) -> None:
    mine, rival = await make_world(), await make_world()
    boss = await mine.user("provider_admin", provider_id=mine.provider["id"])
    operator = await mine.user("operator")
    done, photo = await _visited(mine, operator)
    taken = await _accepted(mine, operator)
    rivals_done, _ = await _visited(rival, operator)
    rivals_taken = await _accepted(rival, operator)

    # Signed in, the provider's staff land on their own desk and stay there (no page sends them round).
    tab = await sign_in(boss.username, lands_on="/web/provider")
    page = tab.page
    await tab.mark()
    await expect(page.locator("#org-title")).to_contain_text(mine.provider["name"])
    await expect(page.locator("nav a[aria-current=page]")).to_be_visible()
    await expect(page.locator("nav a:visible")).to_have_count(1)  # theirs alone: the area's pages are not theirs

    # Their caregiver's open order, with who holds it; a rival's never shows.
    row = page.locator(f"#q-{taken}")
    await expect(row.locator(".badge[data-status]")).to_have_attribute("data-status", "accepted")
    await expect(row).to_contain_text("助餐")
    await expect(row).to_contain_text(mine.community["name"])
    await expect(row.locator(".crew")).to_have_text(mine.caregivers[0]["name"])
    caregiver = page.locator(f"#caregivers [data-caregiver='{mine.caregivers[0]['id']}']")
    await expect(caregiver).to_contain_text(f"已接单 #{taken}")
    await expect(page.locator("#kpi-open")).to_have_text("1")
    await expect(page.locator("#kpi-at-work")).to_have_text("1")
    await expect(page.locator(f"#v-{done}")).to_contain_text(mine.caregivers[0]["name"])
    await expect(page.locator(f"#v-{done} .proof-flag")).to_have_count(1)  # the visit's proof, at a glance
    for foreign in (rivals_done, rivals_taken):
        await expect(page.locator(f"#q-{foreign}, #v-{foreign}")).to_have_count(0)

    # The caregiver sets off: the desk follows without a reload.
    await mine.caregivers[0]["api"].ok("POST", f"/mobile/v1/requests/{taken}/en-route")
    await expect(row.locator(".badge[data-status]")).to_have_attribute("data-status", "en_route")
    await expect(caregiver).to_contain_text(f"在途 #{taken}")
    await expect(page.locator("#kpi-en-route")).to_have_text("1")

    await tab.screenshot("provider-desk")

    # A finished visit opens beside its order, with the photo taken at the door.
    await page.locator(f"#v-{done} .order-open").click()
    detail = page.locator("#order-detail")
    await expect(detail.locator(f"#proof-{photo['id']} .proof-kind")).to_have_text("门口照片")
    await expect(detail.locator(f"#proof-{photo['id']} .proof-hash")).to_contain_text(photo["sha256"][:12])
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#order-detail img.proof-thumb')].some((p) => p.naturalWidth > 0)"
    )
    assert await tab.not_reloaded() and page.url.endswith("/web/provider")
    tab.assert_clean()
    for api in (boss, operator):
        await api.close()


async def _submit(signed: Signed, sign_in_page: str, username: str, password: str = PASSWORD) -> None:
    await signed.page.goto(sign_in_page)
    await signed.page.get_by_label("用户名").fill(username)
    await signed.page.get_by_label("密码").fill(password)
    await signed.page.keyboard.press("Enter")


async def test_every_role_lands_on_a_page_that_admits_it(make_world, sign_in, new_tab) -> None:
    world = await make_world()
    accounts = {
        "operator": await world.user("operator"),
        "community_staff": await world.user("community_staff", street_id=world.street["id"]),
        "provider_admin": await world.user("provider_admin", provider_id=world.provider["id"]),
        "elder": await world.user("elder", elder_id=world.elders[0]["id"]),
        "family": await world.user("family"),
    }
    staff = {
        "admin": ("admin", ADMIN_PASSWORD, "/web/bureau"),
        "operator": (accounts["operator"].username, PASSWORD, "/web/console"),
        "community_staff": (accounts["community_staff"].username, PASSWORD, "/web/dashboard"),
        "provider_admin": (accounts["provider_admin"].username, PASSWORD, "/web/provider"),
    }
    for role, (username, password, home) in staff.items():
        signed = await sign_in(username, password, lands_on=home)  # the page started: it let the role in
        await signed.mark()
        await expect(signed.page.locator("#who")).to_have_text(re.compile(r"\S"))  # who is signed in, once let in
        await expect(signed.page.locator("nav a[aria-current=page]")).to_be_visible()  # its own page, in its menu
        assert await signed.not_reloaded() and signed.page.url.endswith(home), role
        signed.assert_clean()

    # The phone apps' people, at the staff's sign-in: told to use the app, with the way there; nothing kept here.
    apps = {
        "elder": accounts["elder"].username,
        "family": accounts["family"].username,
        "caregiver": world.caregivers[0]["username"],
    }
    for role, username in apps.items():
        signed = await new_tab()
        await _submit(signed, "/web/", username)
        notice = signed.page.locator("#login-elsewhere")
        await expect(notice).to_contain_text("请在手机应用中登录")
        await expect(notice.get_by_role("link", name="打开手机应用")).to_have_attribute("href", "/app/")
        assert signed.page.url.endswith("/web/"), role
        assert await signed.page.evaluate("sessionStorage.getItem('eldercare.token')") is None, role
        signed.assert_clean()
    # ...and the link leads to the app, where the caregiver signs in to her own screen.
    await signed.page.get_by_role("link", name="打开手机应用").click()
    await signed.page.wait_for_url("**/app/")
    await _submit(signed, "/app/", world.caregivers[0]["username"])
    await signed.page.wait_for_url("**/app/caregiver")
    await signed.page.wait_for_selector("#live[data-state=on]")

    # Staff at the phone app's sign-in: told to use the staff pages.
    signed = await new_tab()
    await _submit(signed, "/app/", accounts["provider_admin"].username)
    notice = signed.page.locator("#login-elsewhere")
    await expect(notice).to_contain_text("请在电脑上打开工作台网页登录")
    await expect(notice.get_by_role("link", name="打开工作台网页")).to_have_attribute("href", "/web/")
    assert await signed.page.evaluate("localStorage.getItem('eldercare.token')") is None
    signed.assert_clean()

    # A staff page not theirs sends them home, once, and quietly.
    signed = await sign_in(accounts["provider_admin"].username, lands_on="/web/provider")
    await signed.page.goto("/web/dashboard")
    await signed.page.wait_for_url("**/web/provider")
    await signed.page.wait_for_selector("#live[data-state=on]")
    signed.assert_clean()
    for api in accounts.values():
        await api.close()
