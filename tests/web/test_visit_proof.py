"""Proof of the visit on the staff's pages: beside the order for its supervisors (the area's dashboard, the hotline
console) and in the month's statement lines (the bureau), pictures read through the API's authenticated route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Page, expect

from backend.core.i18n import LOCAL_TZ
from tests.client import ADMIN_PASSWORD, Api, World, offer_for, offset
from tests.e2e.test_settlement import this_month
from tests.e2e.test_visit_proof import png, upload
from tests.factories import proof_service

EVERYTHING = {"required": ["arrival_photo", "departure_photo", "confirmation"]}
# Every picture of the open order's detail has been read and drawn (a broken one has no natural width).
PICTURES_DRAWN = """(count) => {
    const pictures = [...document.querySelectorAll("#order-detail img.proof-thumb")];
    return pictures.length === count && pictures.every((p) => p.complete && p.naturalWidth > 0);
}"""


def _ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def _shown(iso: str) -> str:
    """A time as the pages write it in Chinese (Suzhou time): 12月1日 10:23."""
    t = datetime.fromisoformat(iso).astimezone(LOCAL_TZ)
    return f"{t.month}月{t.day}日 {t:%H:%M}"


async def _taken(world: World, operator: Api, code: str) -> tuple[int, Any]:
    """An order of the service, accepted by the world's caregiver: its id and her phone."""
    caregiver, phone = world.caregivers[0], world.caregivers[0]["api"]
    body = {"elder_id": world.elders[0]["id"], "service_type": code, "paid_by": "self"}
    rid = (await operator.ok("POST", "/api/v1/requests", body, 201))["id"]
    await phone.ok("POST", f"/mobile/v1/offers/{(await offer_for(caregiver['api'], rid))['id']}/accept")
    return rid, phone


async def _visits(world: World, operator: Api, code: str) -> tuple[int, int, dict[str, Any], dict[str, Any]]:
    """Two finished visits of a service that needs every proof: one with a photo at the door and the elder's
    signature but no photo at the end (20 minutes long); one without any proof, checked out at once (too short)."""
    rid, phone = await _taken(world, operator, code)
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/en-route", {"at": _ago(25)})
    door = offset(world.home["lat"], world.home["lon"], east_km=0.01)
    arrival = await upload(phone, rid, "arrival_photo", png(6, 4, (30, 120, 200)), at=_ago(21), accuracy_m=8, **door)
    assert arrival.status_code == 201, arrival.text
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-in", {**world.home, "at": _ago(20)})
    signature = await upload(phone, rid, "signature", png(8, 3, (0, 0, 0)))
    assert signature.status_code == 201, signature.text
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {})

    short, phone = await _taken(world, operator, code)
    await phone.ok("POST", f"/mobile/v1/requests/{short}/check-in", world.home)
    await phone.ok("POST", f"/mobile/v1/requests/{short}/check-out", {})
    visit = (await operator.ok("GET", f"/api/v1/requests/{short}"))["visit"]
    assert visit["too_short"] and visit["min_minutes"] == 15.0, visit
    return rid, short, arrival.json(), signature.json()


async def _sees_the_proof(page: Page, arrival: dict[str, Any], signature: dict[str, Any]) -> None:
    """The open order's detail shows both proofs (kind, time, place, hash, the picture drawn) and what is missing."""
    detail = page.locator("#order-detail")
    await expect(detail).to_be_visible()
    door = detail.locator(f"#proof-{arrival['id']}")
    await expect(door.locator(".proof-kind")).to_have_text("门口照片")
    await expect(door.locator(".proof-time")).to_contain_text(_shown(arrival["taken_at"]))
    await expect(door.locator(".proof-place")).to_contain_text(f"北纬 {arrival['lat']:.5f}，东经 {arrival['lon']:.5f}")
    await expect(door.locator(".proof-place")).to_contain_text("定位精度 ±8 米")
    await expect(door.locator(".proof-place")).to_contain_text(f"距老人住址 {int(arrival['distance_m'] + 0.5)} 米")
    await expect(door.locator(".proof-hash")).to_contain_text(arrival["sha256"][:12])
    await expect(door.locator(".proof-hash")).to_have_attribute("title", arrival["sha256"])
    signed = detail.locator(f"#proof-{signature['id']}")
    await expect(signed.locator(".proof-kind")).to_have_text("老人签名")
    await expect(signed.locator(".proof-time")).to_contain_text(_shown(signature["taken_at"]))
    await expect(signed.locator(".proof-place")).to_have_text("手机未提供位置")
    await page.wait_for_function(PICTURES_DRAWN, arg=2)
    warning = detail.locator(".proof-warnings")
    await expect(warning.locator("[data-warning=missing]")).to_have_text(
        "缺少必需凭证：结束照片。本次服务结算时不予计费。"
    )
    await expect(warning.locator("[data-warning=short]")).to_have_count(0)  # 20 minutes of a 60-minute service
    await expect(detail).to_contain_text("老人签名 · ")  # the elder's confirmation, and when


async def test_supervisors_see_a_visits_proof_beside_the_order_and_in_the_statement_lines(
    make_world, admin, sign_in, runtime
) -> None:
    world = await make_world()
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    code = await proof_service(runtime, world, minutes=60)
    await admin.ok("PUT", f"/api/v1/service-types/{code}/proof", EVERYTHING)
    rid, short, arrival, signature = await _visits(world, operator, code)

    # The community's staff: the area's finished visits, each with its proof's state; one opens beside its order.
    tab = await sign_in(staff.username, lands_on="/web/dashboard")
    page = tab.page
    await expect(page.locator(f"#v-{rid} .proof-flag")).to_have_text("缺少凭证")
    await expect(page.locator(f"#v-{short} .proof-flag")).to_have_text("缺少凭证")
    await page.locator(f"#v-{rid} .order-open").click()
    await _sees_the_proof(page, arrival, signature)
    await page.keyboard.press("Escape")
    await expect(page.locator("#order-detail")).to_be_hidden()

    # The visit that was checked out at once: too short to be paid, and nothing to prove it.
    await page.locator(f"#v-{short} .order-open").click()
    warning = page.locator("#order-detail .proof-warnings")
    await expect(warning.locator("[data-warning=short]")).to_contain_text("服务时长过短")
    await expect(warning.locator("[data-warning=short]")).to_contain_text("本项服务至少 15 分钟")
    await expect(warning.locator("[data-warning=missing]")).to_contain_text(
        "门口照片、结束照片、老人确认（签名或验证码）"
    )
    await expect(page.locator("#order-detail")).to_contain_text("没有上传凭证")
    await tab.screenshot("visit-proof-dashboard")
    tab.assert_clean()

    # The hotline: the caller's recent orders open the same way.
    console = await sign_in(operator.username, lands_on="/web/console")
    await console.page.get_by_role("textbox", name="来电号码").fill(world.elders[0]["raw_phone"])
    await console.page.keyboard.press("Enter")
    await console.page.locator(f"#recent-{rid}").get_by_role("button", name="详情").click()
    await _sees_the_proof(console.page, arrival, signature)
    console.assert_clean()

    # The bureau: the month's statement, each line with its proof; a line opens its order with the pictures.
    month = {"provider_id": world.provider["id"], "month": this_month()}
    statement = (await admin.ok("POST", "/api/v1/settlements/run", month))["settlement"]
    bureau = await sign_in("admin", ADMIN_PASSWORD, lands_on="/web/bureau")
    page = bureau.page
    await page.locator("#settle-statement").select_option(str(statement["id"]))
    line = page.locator(f"#line-{rid}")
    await expect(line).to_contain_text("未计入：缺少必需凭证")
    await expect(line.locator("[data-proof=missing]")).to_have_text("缺少凭证")
    await expect(line.locator(".chip[data-kind=arrival_photo]")).to_have_text(f"门口照片 {arrival['sha256'][:8]}")
    await expect(line.locator(".chip[data-kind=signature]")).to_have_text(f"老人签名 {signature['sha256'][:8]}")
    await expect(line.locator(".chip[data-kind=confirmed]")).to_have_text("老人确认：老人签名")
    await expect(page.locator(f"#line-{short} [data-proof=short]")).to_have_text("时长过短")
    await page.locator("#settle-filter").select_option("proof")
    await expect(page.locator("#lines tbody tr")).to_have_count(2)
    await line.locator(".order-open").click()
    await _sees_the_proof(page, arrival, signature)
    await bureau.screenshot("visit-proof-bureau")
    bureau.assert_clean()
    await operator.close()
    await staff.close()
