"""The phone apps at /app/ in a real browser emulating a phone (touch, a phone's screen, its position): the
caregiver's day with a stairwell that has no signal, the elder ordering lunch and calling for help, her family
answering the emergency ladder, and the elder-friendly sizes and accessibility measured in the page."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.client import PASSWORD, Api, offer_for
from tests.e2e.test_visit_proof import png
from tests.factories import proof_service

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# What a phone with no network logs by itself: failed loads and socket reconnects, not the app's errors.
OFFLINE_NOISE = ("ERR_INTERNET_DISCONNECTED", "ERR_NAME_NOT_RESOLVED", "WebSocket connection to")


async def _eventually(check: Any, timeout: float = 15.0) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.25)


async def _status(api: Api, request_id: int) -> str:
    return str((await api.ok("GET", f"/api/v1/requests/{request_id}"))["status"])


async def _serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it stands (WCAG 2 A and AA rules)."""
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    found = await page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:120] for n in v["nodes"][:3]]}
        for v in found["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_a_caregivers_visit_survives_a_stairwell_with_no_signal(make_world, on_phone) -> None:
    world = await make_world()
    operator = await world.user("operator")
    caregiver, elder = world.caregivers[0], world.elders[0]
    phone = await on_phone(caregiver["username"], lands_on="/app/caregiver", at=world.home)
    page = phone.page

    # The offer arrives live: the service, how she is addressed and her area, a countdown; no address or phone.
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
    card = page.locator("#offers .offer").first
    await expect(card).to_be_visible(timeout=15_000)
    await expect(card).to_contain_text("助餐")
    await expect(card).to_contain_text(world.community["name"])
    await expect(card.locator(".countdown")).to_contain_text("接单")
    assert elder["name"] not in await card.inner_text() and "平江路" not in await card.inner_text()
    await card.get_by_role("button", name="接单").tap()

    # Today's work: the address and a call button once the order is hers, navigation handed to the map apps.
    stop = page.locator(f"#stop-{order['id']}")
    await expect(stop).to_contain_text("平江路 1 号")
    await expect(stop.get_by_role("link", name="高德地图")).to_have_attribute(
        "href", re.compile(r"^https://uri\.amap\.com/")
    )
    await expect(stop.get_by_role("link", name="腾讯地图")).to_have_attribute("href", re.compile(r"^qqmap://"))
    await expect(stop.get_by_role("link", name=re.compile("打电话"))).to_have_attribute("href", re.compile(r"^tel:"))
    await stop.get_by_role("button", name="出发").tap()
    await expect(stop.get_by_role("button", name="签到")).to_be_visible()
    assert await _eventually(lambda: _has_status(operator, order["id"], "en_route"))

    # In the stairwell: no signal. 签到 is kept on the phone, shown as waiting, and nothing reaches the server.
    await phone.offline(True)
    await expect(page.locator("#offline")).to_be_visible()
    tapped = datetime.now(UTC)
    await stop.get_by_role("button", name="签到").tap()
    waiting = page.locator("#pending-list li")
    await expect(waiting).to_have_count(1)
    await expect(waiting).to_contain_text("签到")
    await expect(waiting).to_contain_text("等待网络")
    await expect(stop.get_by_role("button", name="签退")).to_be_visible()  # she carries on with the visit
    await asyncio.sleep(3)
    assert await _status(operator, order["id"]) == "en_route"

    # Back in the lane: the queue is replayed once, and the visit keeps the time it was tapped, not the replay's.
    await phone.offline(False)
    returned = datetime.now(UTC)
    await expect(waiting).to_have_count(0, timeout=20_000)
    seen = await operator.ok("GET", f"/api/v1/requests/{order['id']}")
    assert seen["status"] == "in_service"
    arrived = datetime.fromisoformat(seen["visit"]["checkin_at"])
    assert tapped - timedelta(seconds=2) <= arrived < returned - timedelta(seconds=2), (tapped, arrived, returned)
    assert seen["visit"]["checkin_accuracy_m"] == 12
    assert [h["status"] for h in seen["history"]].count("in_service") == 1

    # 签退 with notes.
    await stop.get_by_role("button", name="签退").tap()
    await page.locator("#checkout-notes").fill("已送餐，老人精神好")
    await page.locator("#checkout-confirm").tap()
    assert await _eventually(lambda: _has_status(operator, order["id"], "completed"))
    await expect(stop).to_contain_text("已完成")
    await phone.screenshot("app-caregiver")
    phone.assert_clean(ignore=OFFLINE_NOISE)


async def _has_status(api: Api, request_id: int, status: str) -> bool:
    return await _status(api, request_id) == status


async def test_the_app_installs_and_keeps_its_shell_for_no_signal(make_world, on_phone) -> None:
    world = await make_world()
    phone = await on_phone(world.caregivers[0]["username"], lands_on="/app/caregiver")
    page = phone.page
    manifest = await page.evaluate("fetch('/app/manifest.webmanifest').then((r) => r.json())")
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/app/"
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    cached = await page.evaluate(
        """async () => {
            await navigator.serviceWorker.ready;
            for (let i = 0; i < 40 && !(await caches.keys()).length; i++) await new Promise((r) => setTimeout(r, 250));
            const cache = await caches.open((await caches.keys())[0]);
            return (await cache.keys()).map((r) => new URL(r.url).pathname);
        }"""
    )
    assert {"/app/caregiver", "/app/elder", "/web/static/app/outbox.js", "/web/static/js/common.js"} <= set(cached)
    phone.assert_clean()


async def test_an_elder_orders_lunch_with_two_taps_and_watches_it_come(make_world, on_phone) -> None:
    world = await make_world()
    elder, caregiver = world.elders[0], world.caregivers[0]
    account = await world.user("elder", elder_id=elder["id"])
    phone = await on_phone(account.username, lands_on="/app/elder")
    page = phone.page
    await expect(page.locator("#quota")).to_contain_text("本月还可免费")

    await page.get_by_role("button", name=re.compile("助餐")).tap()
    await page.get_by_role("button", name="确认下单").tap()
    card = page.locator("#orders .order").first
    await expect(card).to_contain_text("助餐")
    request_id = int((await card.get_attribute("id") or "").removeprefix("order-"))
    orders = await account.ok("GET", f"/api/v1/requests?elder_id={elder['id']}")
    assert [o["id"] for o in orders] == [request_id]  # two taps, one order

    # The caregiver accepts and sets off: she reads who is coming and how long it will take.
    offer = await offer_for(caregiver["api"], request_id)
    await caregiver["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    await expect(card.locator(".say")).to_contain_text("护理员已接单")
    await expect(card).to_contain_text(f"{caregiver['name']}来为您服务")
    await expect(card.get_by_role("link", name="给护理员打电话")).to_have_attribute("href", re.compile(r"^tel:\+?\d+$"))
    await caregiver["api"].ok(
        "POST", "/mobile/v1/location", {"lat": world.home["lat"] + 0.02, "lon": world.home["lon"]}
    )
    await caregiver["api"].ok("POST", f"/mobile/v1/requests/{request_id}/en-route")
    await expect(card.locator(".say")).to_contain_text(re.compile(r"护理员已出发，约 \d+ 分钟到"))
    await caregiver["api"].ok("POST", f"/mobile/v1/requests/{request_id}/check-in", world.home)
    await caregiver["api"].ok("POST", f"/mobile/v1/requests/{request_id}/check-out", {})
    await expect(card.locator(".say")).to_contain_text("服务已完成")

    # Stars after the visit.
    await card.get_by_role("button", name="5 颗星").tap()
    await expect(card).to_contain_text("您打了 5 颗星")
    rated = await account.ok("GET", f"/api/v1/requests/{request_id}")
    assert rated["visit"]["rating"] == 5
    await phone.screenshot("app-elder")
    phone.assert_clean()


async def test_an_elder_with_nothing_free_left_reads_the_self_pay_price_to_the_fen(make_world, admin, on_phone) -> None:
    world = await make_world()
    elder = await world.add_elder(born="19600505")  # 66, in no category: every order is self-paid
    rates = [{"service_type": "meal", "price_yuan": "21.5"}]
    await admin.ok("PUT", f"/api/v1/providers/{world.provider['id']}/rates", rates)
    account = await world.user("elder", elder_id=elder["id"])
    phone = await on_phone(account.username, lands_on="/app/elder")
    await expect(phone.page.get_by_role("button", name=re.compile("助餐"))).to_contain_text("自费 ¥21.50")
    phone.assert_clean()


async def test_the_emergency_call_asks_once_more_and_then_says_what_happens(make_world, on_phone) -> None:
    world = await make_world()
    elder = world.elders[0]
    account = await world.user("elder", elder_id=elder["id"])
    phone = await on_phone(account.username, lands_on="/app/elder")
    page = phone.page

    await page.get_by_role("button", name="紧急呼叫").tap()
    yes = page.get_by_role("button", name="确认呼叫")
    await expect(yes).to_be_disabled()  # a stray second tap of the same finger calls nobody
    assert await account.ok("GET", f"/api/v1/requests?elder_id={elder['id']}") == []
    await expect(yes).to_be_enabled(timeout=5_000)
    await phone.screenshot("app-elder-sos")
    await yes.tap()
    await expect(page.locator("#sos-said")).to_contain_text("话务员会马上给您回电")
    (emergency,) = await account.ok("GET", f"/api/v1/requests?elder_id={elder['id']}")
    assert emergency["priority"] == "emergency" and emergency["ladder"], emergency

    # Pressed again: the same emergency, and she is told it is being handled.
    await page.get_by_role("button", name="返回").tap()
    await page.get_by_role("button", name="紧急呼叫").tap()
    await expect(yes).to_be_enabled(timeout=5_000)
    await yes.tap()
    await expect(page.locator("#sos-said")).to_contain_text("正在处理中")
    assert len(await account.ok("GET", f"/api/v1/requests?elder_id={elder['id']}")) == 1
    phone.assert_clean()


async def test_the_family_answers_the_ladder_when_it_reaches_them(make_world, admin, on_phone) -> None:
    world = await make_world()
    elder = world.elders[0]
    username = f"fam_{elder['id']}_{datetime.now(UTC):%H%M%S%f}"
    member = {"name": "王丽", "phone": "13912345678", "relation": "女儿", "username": username, "password": PASSWORD}
    await admin.ok("POST", f"/api/v1/elders/{elder['id']}/family", member, 201)
    phone = await on_phone(username, lands_on="/app/elder")
    page = phone.page
    await expect(page.locator("#family-for")).to_contain_text(elder["name"])
    await expect(page.locator("#readonly")).to_be_visible()  # she lets her daughter follow, not order
    await expect(page.get_by_role("link", name=re.compile("打热线"))).to_have_attribute("href", "tel:12349")

    operator = await world.user("operator")
    body = {"elder_id": elder["id"], "service_type": "emergency", "priority": "emergency"}
    order = await operator.ok("POST", "/api/v1/requests", body, 201)
    answer = page.locator("#ladder-answer")
    await expect(answer).to_be_visible(timeout=20_000)  # the operator's rung passed: the family's turn
    await answer.get_by_role("button", name="我已联系上老人").tap()
    await expect(page.locator("#toast")).to_contain_text("已告诉平台")
    ladder = await operator.ok("GET", f"/api/v1/requests/{order['id']}/ladder")
    (family,) = [step for step in ladder if step["code"] == "family"]
    assert family["acted_by"].startswith("family:") and "联系上老人" in (family["note"] or ""), ladder
    assert not any(step["status"] == "active" for step in ladder)  # her answer stopped the ladder
    await expect(answer).to_be_hidden()
    phone.assert_clean()


async def test_the_elders_screens_are_built_to_the_elder_friendly_rules(make_world, on_phone) -> None:
    """MIIT's 适老化 rules measured in the page: text at least 18 px and up to 30 px when asked, line spacing at least
    1.3, main controls at least 60 × 60 px, and no serious accessibility finding (axe-core, contrast included)."""
    world = await make_world()
    elder = world.elders[0]
    account = await world.user("elder", elder_id=elder["id"])
    phone = await on_phone(account.username, lands_on="/app/elder", size={"width": 360, "height": 640})
    page = phone.page
    await expect(page.locator("#services button").first).to_be_visible()
    measured = await page.evaluate(
        """() => {
            const texts = [...document.querySelectorAll("main p, main button, main a, main li, main label, main h2")]
                .filter((n) => n.offsetParent !== null && n.textContent.trim());
            const sizes = texts.map((n) => parseFloat(getComputedStyle(n).fontSize));
            const spacing = texts.map((n) => {
                const s = getComputedStyle(n);
                return s.lineHeight === "normal" ? 1.2 : parseFloat(s.lineHeight) / parseFloat(s.fontSize);
            });
            const controls = [...document.querySelectorAll("main button, main a.button, main select")]
                .filter((n) => n.offsetParent !== null)
                .map((n) => ({ text: n.textContent.trim(), box: n.getBoundingClientRect() }))
                .map(({ text, box }) => ({ text, w: box.width, h: box.height }));
            return { smallest: Math.min(...sizes), spacing: Math.min(...spacing), controls,
                     wide: document.documentElement.scrollWidth };
        }"""
    )
    assert measured["smallest"] >= 18, measured
    assert measured["spacing"] >= 1.3, measured
    small = [c for c in measured["controls"] if c["w"] < 60 or c["h"] < 60]
    assert not small, small
    assert measured["wide"] <= 360  # nothing wider than the phone: no sideways scrolling
    assert not await _serious_violations(page)

    # The largest text at least 30 px, and it stays so after a reload.
    await page.get_by_role("button", name="字变大").tap()
    await page.get_by_role("button", name="字变大").tap()
    await expect(page.get_by_role("button", name="字变大")).to_be_disabled()
    biggest = await page.evaluate("parseFloat(getComputedStyle(document.querySelector('#quota')).fontSize)")
    assert biggest >= 30
    await page.reload()
    await expect(page.locator("#services button").first).to_be_visible()
    assert await page.evaluate("document.documentElement.dataset.size") == "3"
    await phone.screenshot("app-elder-large")
    phone.assert_clean()


async def test_the_caregivers_screens_fit_a_small_phone_and_pass_the_accessibility_check(make_world, on_phone) -> None:
    world = await make_world()
    operator = await world.user("operator")
    caregiver = world.caregivers[0]
    phone = await on_phone(caregiver["username"], lands_on="/app/caregiver", size={"width": 360, "height": 640})
    page = phone.page
    await operator.ok("POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201)
    await expect(page.locator("#offers .offer")).to_have_count(1, timeout=15_000)
    touch = await page.evaluate(
        """() => [...document.querySelectorAll("button, a.button")].filter((n) => n.offsetParent !== null)
              .map((n) => ({ text: n.textContent.trim(), h: n.getBoundingClientRect().height }))"""
    )
    assert all(t["h"] >= 44 for t in touch), touch  # large touch targets, a gloved thumb's
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    assert not await _serious_violations(page)
    # 请假 until tomorrow morning: off shift at once.
    await page.get_by_role("button", name="我的").tap()
    tomorrow = (datetime.now(UTC) + timedelta(hours=8, days=1)).strftime("%Y-%m-%dT08:00")
    await page.get_by_label("请假到").fill(tomorrow)
    await page.get_by_label("原因（可不填）").fill("发烧")
    await page.locator("#sick-form").get_by_role("button", name="请假").tap()
    await expect(page.locator("#toast")).to_contain_text("已请假到")
    await expect(page.locator("#shift-state")).to_have_text("已下班")
    assert (await caregiver["api"].ok("GET", "/mobile/v1/me"))["on_shift"] is False
    # English one tap away.
    await page.get_by_role("link", name="English").first.tap()
    await expect(page.locator("#shift-state")).to_have_text("Off shift")
    await expect(page.get_by_role("button", name="Start shift")).to_be_visible()
    phone.assert_clean()


async def test_a_declined_offer_gives_its_reason_and_a_visit_is_proved_with_photos_and_a_signature(
    make_world, admin, on_phone, runtime
) -> None:
    world = await make_world()
    operator = await world.user("operator")
    caregiver, elder = world.caregivers[0], world.elders[0]
    phone = await on_phone(caregiver["username"], lands_on="/app/caregiver", at=world.home)
    page = phone.page

    # 拒单 with a reason from the list.
    first = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
    await page.locator("#offers .offer").get_by_role("button", name="拒单").tap()
    await page.get_by_label("距离太远").check()
    await page.locator("#decline-confirm").tap()
    await expect(page.locator("#offers .offer")).to_have_count(0)
    (declined,) = await operator.ok("GET", f"/api/v1/requests/{first['id']}/offers")
    history = (await operator.ok("GET", f"/api/v1/requests/{first['id']}"))["history"]
    assert declined["status"] == "declined" and any(h["reason"] == "护理员拒单：距离太远" for h in history), history

    # A service that must be proved: the door, the end, and the elder's confirmation.
    code = await proof_service(runtime, world)
    await admin.ok(
        "PUT", f"/api/v1/service-types/{code}/proof", {"required": ["arrival_photo", "departure_photo", "confirmation"]}
    )
    await page.reload()
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": code}, 201)
    await page.locator("#offers .offer").get_by_role("button", name="接单").tap()
    stop = page.locator(f"#stop-{order['id']}")
    await expect(stop).to_contain_text("本项服务需要")
    await stop.get_by_role("button", name="出发").tap()
    async with page.expect_file_chooser() as chosen:
        await stop.get_by_role("button", name="拍门口照片").tap()
    await (await chosen.value).set_files({"name": "door.png", "mimeType": "image/png", "buffer": png(rgb=(9, 99, 199))})
    await expect(stop).to_contain_text("✓ 门口照片")
    await stop.get_by_role("button", name="签到").tap()
    async with page.expect_file_chooser() as chosen:
        await stop.get_by_role("button", name="拍服务完成照片").tap()
    await (await chosen.value).set_files({"name": "end.png", "mimeType": "image/png", "buffer": png(rgb=(19, 9, 9))})
    await expect(stop).to_contain_text("✓ 完成照片")

    # The elder signs on the screen at check-out.
    await stop.get_by_role("button", name="签退").tap()
    await expect(page.locator("#signature")).to_be_visible()  # the pad opens after the tap: wait for it
    pad = await page.locator("#signature").bounding_box()
    assert pad is not None
    await page.mouse.move(pad["x"] + 20, pad["y"] + 40)
    await page.mouse.down()
    for step in range(1, 12):
        await page.mouse.move(pad["x"] + 20 + step * 20, pad["y"] + 40 + (step % 3) * 25)
    await page.mouse.up()
    await page.locator("#checkout-confirm").tap()
    assert await _eventually(lambda: _has_status(operator, order["id"], "completed"))
    visit = (await operator.ok("GET", f"/api/v1/requests/{order['id']}"))["visit"]
    assert [p["kind"] for p in visit["proofs"]] == ["arrival_photo", "departure_photo", "signature"], visit
    assert visit["confirmed_by"] == "signature" and visit["proof_missing"] == []
    phone.assert_clean()
