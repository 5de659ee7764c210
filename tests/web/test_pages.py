"""The staff's pages in a real browser: the hotline console, the area dashboard, the bureau view."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import datetime

from openpyxl import load_workbook
from playwright.async_api import expect

from backend.core.i18n import LOCAL_TZ
from tests.client import ADMIN_PASSWORD, id_number, offer_for, unique_phone


async def _at_the_console(make_world, sign_in):
    """A fresh world, and one of its operators signed in at the console."""
    world = await make_world()
    operator = await world.user("operator")
    return world, operator, await sign_in(operator.username, lands_on="/web/console")


async def test_operator_finds_the_caller_creates_an_order_and_sees_it_accepted_live(make_world, sign_in) -> None:
    world, operator, tab = await _at_the_console(make_world, sign_in)
    elder, caregiver, page = world.elders[0], world.caregivers[0], tab.page
    await tab.mark()

    # The caller's number, typed the way people say it, then Enter: the file pops up.
    national = elder["raw_phone"].removeprefix("+86")
    await page.get_by_role("textbox", name="来电号码").fill(f"{national[:3]} {national[3:7]} {national[7:]}")
    await page.keyboard.press("Enter")
    await expect(page.locator("#elder-name")).to_contain_text(elder["name"])
    await expect(page.locator("#elder-file")).to_contain_text(f"{elder['age']} 岁")
    await expect(page.locator("#elder-quota")).to_contain_text("政府支付")  # 80+: a quota of her own

    # A few keystrokes: the service list has the focus; choose, then Ctrl+Enter.
    await expect(page.locator("#service")).to_be_focused()
    await page.locator("#service").select_option("meal")
    await page.keyboard.press("Control+Enter")
    tracked = page.locator(".tracked").first
    await expect(tracked).to_be_visible()
    request_id = int((await tracked.get_attribute("id") or "").removeprefix("order-"))
    status = page.locator(f"#order-{request_id} .order-status .badge")
    try:
        await expect(status).to_have_attribute("data-status", "offered", timeout=15_000)
    except AssertionError:
        why = await operator.ok("GET", f"/api/v1/requests/{request_id}/nearby-caregivers?serving_only=true")
        raise AssertionError(f"{await operator.ok('GET', f'/api/v1/requests/{request_id}')}\n{why}") from None
    await expect(status).to_have_text("已派单待接单")

    # The caregiver accepts on the phone; the console shows it without a reload.
    offer = await offer_for(caregiver["api"], request_id)
    await caregiver["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    await expect(status).to_have_attribute("data-status", "accepted")
    await expect(status).to_have_text("已接单")
    await expect(page.locator(f"#order-{request_id} .steps")).to_contain_text("已接单")
    await expect(page.locator("#recent")).to_contain_text("助餐")
    assert await tab.not_reloaded()
    await tab.screenshot("console")
    tab.assert_clean()


async def test_an_escalated_order_is_assigned_by_hand_from_the_console(make_world, sign_in) -> None:
    world, operator, tab = await _at_the_console(make_world, sign_in)
    elder, caregiver, page = world.elders[0], world.caregivers[0], tab.page

    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
    offer = await offer_for(caregiver["api"], order["id"])
    await caregiver["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/decline", {"reason": "在路上"})

    # Nobody else serves this community: the order waits for a person, and the console lists it live.
    waiting = page.locator(f"#esc-{order['id']}")
    await expect(waiting).to_be_visible(timeout=30_000)
    await waiting.get_by_role("button", name="人工派单").click()
    candidate = page.locator(f"#assign-panel [data-caregiver='{caregiver['id']}']")
    await expect(candidate).to_be_visible()
    await expect(candidate).to_contain_text(caregiver["name"])
    await expect(candidate).to_contain_text("不可派")  # she declined it: the dispatcher says why it would not ask her
    await expect(page.locator("#assign-panel [data-caregiver]")).to_have_count(1)  # only who serves the community
    await page.locator("#assign-reason").fill("电话联系后同意上门")
    await candidate.get_by_role("button", name="派给此人").click()
    await expect(page.locator("#toast")).to_contain_text(f"工单 {order['id']} 已派给")
    await expect(page.locator(f"#order-{order['id']} .order-status .badge")).to_have_attribute(
        "data-status", "accepted"
    )
    await expect(waiting).to_have_count(0)
    stored = await operator.ok("GET", f"/api/v1/requests/{order['id']}")
    assert stored["status"] == "accepted" and stored["assigned_caregiver_id"] == caregiver["id"]
    assert stored["history"][-1]["reason"] == "电话联系后同意上门"
    tab.assert_clean()


async def test_community_staff_see_their_orders_arrive_live_and_never_another_communitys(make_world, sign_in) -> None:
    mine, other = await make_world(), await make_world()
    staff = await mine.user("community_staff", community_id=mine.community["id"])
    operator = await mine.user("operator")
    tab = await sign_in(staff.username, lands_on="/web/dashboard")
    page = tab.page
    await expect(page.locator("#area-title")).to_contain_text(mine.community["name"])
    await expect(page.locator("#area-picker")).to_be_hidden()  # their own area, nothing to choose
    await tab.mark()

    foreign = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": other.elders[0]["id"], "service_type": "meal"}, 201
    )
    order = await operator.ok(
        "POST", "/api/v1/requests", {"elder_id": mine.elders[0]["id"], "service_type": "meal"}, 201
    )
    row = page.locator(f"#q-{order['id']}")
    await expect(row).to_be_visible()
    await expect(row).to_contain_text(mine.elders[0]["name"])
    await expect(row).to_contain_text("助餐")

    offer = await offer_for(mine.caregivers[0]["api"], order["id"])
    await expect(page.locator(f"[data-caregiver='{mine.caregivers[0]['id']}']")).to_contain_text("待确认派单")
    await mine.caregivers[0]["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    await expect(row.locator(".badge[data-status]")).to_have_attribute("data-status", "accepted")
    await expect(page.locator(f"[data-caregiver='{mine.caregivers[0]['id']}']")).to_contain_text("服务中")
    await expect(page.locator("#kpi-orders")).to_have_text("1", timeout=15_000)  # figures follow within seconds
    assert await tab.not_reloaded()

    # The other community's order never shows, and asking for its queue from this page is refused.
    await expect(page.locator(f"#q-{foreign['id']}")).to_have_count(0)
    await tab.screenshot("dashboard")
    tab.assert_clean()  # before the refused request below, which the browser reports as an error
    refused = await page.evaluate(
        """async (id) => (await fetch(`/api/v1/dashboard/queue?community_id=${id}`,
             {headers: {Authorization: `Bearer ${sessionStorage.getItem("eldercare.token")}`}})).status""",
        other.community["id"],
    )
    assert refused == 403


async def test_the_bureau_sees_every_district_and_exports_the_table(make_world, admin, sign_in) -> None:
    world = await make_world()
    await admin.ok("POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201)
    month = f"{datetime.now(LOCAL_TZ):%Y-%m}"
    budget = {"district_id": world.district["id"], "month": month, "budget_yuan": "1234567.5"}
    await admin.ok("PUT", "/api/v1/subsidy/budgets", budget)
    tab = await sign_in("admin", ADMIN_PASSWORD, lands_on="/web/bureau")
    page = tab.page
    row = page.locator(f"#city tbody tr[data-district='{world.district['id']}']")
    # The suite's database holds hundreds of districts (a city has ten), and the page follows every one of them.
    await expect(row).to_contain_text(world.district["name"], timeout=20_000)
    await expect(row.locator("td").nth(0)).to_have_text("1")  # orders today
    await expect(row.locator("td").last).to_have_text("¥0.00 / ¥1,234,567.50")  # spent / budget, to the fen
    await expect(page.locator("#city tfoot")).to_contain_text("全市")

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="导出 Excel").click()
    download = await download_info.value
    assert re.fullmatch(r"eldercare-city-\d{4}-\d{2}-\d{2}\.xlsx", download.suggested_filename)
    sheet = load_workbook(io.BytesIO((await download.path()).read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "区/市" and any(r[0] == world.district["name"] and r[1] == 1 for r in rows)
    assert rows[0][-1] == "本月补贴预算（元）"
    mine = next(r for r in sheet.iter_rows() if r[0].value == world.district["name"])
    assert (mine[-1].value, mine[-1].number_format) == (1234567.5, "0.00")  # a number, shown with two decimals
    await tab.screenshot("bureau")
    tab.assert_clean()


async def test_pages_speak_english_when_asked_and_remember_it(make_world, sign_in) -> None:
    world = await make_world()
    staff = await world.user("community_staff", community_id=world.community["id"])
    tab = await sign_in(staff.username, lands_on="/web/dashboard", lang="en")
    page = tab.page
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", name="Live queue")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", name="Live queue")).to_be_visible()  # the choice is kept
    await page.get_by_role("link", name="中文").click()
    await expect(page.get_by_role("heading", name="实时工单队列")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    tab.assert_clean()


async def test_f9_takes_the_emergency_path_after_the_operator_confirms(make_world, sign_in) -> None:
    world, operator, tab = await _at_the_console(make_world, sign_in)
    elder, page = world.elders[0], tab.page
    await page.get_by_role("textbox", name="来电号码").fill(elder["raw_phone"])
    await page.keyboard.press("Enter")
    await expect(page.locator("#elder-name")).to_contain_text(elder["name"])

    asked: list[str] = []

    async def confirm(dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.once("dialog", confirm)
    await page.keyboard.press("F9")
    tracked = page.locator(".tracked").first
    await expect(tracked).to_contain_text("助急")
    await expect(tracked.locator(".priority-emergency")).to_have_text("紧急")
    assert asked and elder["name"] in asked[0]
    request_id = int((await tracked.get_attribute("id") or "").removeprefix("order-"))
    order = await operator.ok("GET", f"/api/v1/requests/{request_id}")
    assert (order["priority"], order["service_type"], order["elder_id"]) == ("emergency", "emergency", elder["id"])
    assert order["ladder"], "an emergency order climbs its escalation ladder"
    tab.assert_clean()


async def test_names_and_addresses_are_text_on_the_map_never_html(stack, admin, make_world, sign_in) -> None:
    """Finding 15: a name written as HTML shows as those very characters in the map's tooltip; nothing runs."""
    world = await make_world()
    evil = '<img src="x" onerror="window.__pwned=1">'
    elder = await admin.ok(
        "POST",
        "/api/v1/elders",
        {
            "name": f"王{evil}"[:64],
            "id_number": id_number(),
            "phone": unique_phone(),
            "community_id": world.community["id"],
            "address": f"平江路 {evil}",
            "location": world.home,
        },
        201,
    )
    staff = await world.user("community_staff", community_id=world.community["id"])
    operator = await world.user("operator")
    await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
    tab = await sign_in(staff.username, lands_on="/web/dashboard")
    page = tab.page
    await expect(page.locator(".queue-row, [id^='q-']").first).to_be_visible()
    drawn = """() => {
        const chart = echarts.getInstanceByDom(document.getElementById("map"));
        const option = chart && chart.getOption();
        return Boolean(option && option.series && option.series.some((s) => s.data.length));
    }"""
    for _ in range(100):  # the map draws a moment after the queue, later still on a busy machine
        if await page.evaluate(drawn):
            break
        await asyncio.sleep(0.1)
    shown = await page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById("map"));
            const series = chart.getOption().series;
            const texts = [];
            series.forEach((s, i) => s.data.forEach((_, j) => {
                chart.dispatchAction({ type: "showTip", seriesIndex: i, dataIndex: j });
                const tip = [...document.querySelectorAll("div")].find((d) => d.style.zIndex >= 9999 && d.innerText);
                if (tip) texts.push(tip.innerText);
            }));
            return { texts, images: document.querySelectorAll('img[src="x"]').length, pwned: window.__pwned || 0 };
        }"""
    )
    assert shown["images"] == 0 and shown["pwned"] == 0
    assert any(evil in text for text in shown["texts"]), shown["texts"]  # the characters themselves, as text
    tab.assert_clean()
