"""Entitlements: the month's quota of government-paid orders, highest category only, told before ordering."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from backend.benefits.models import ProviderRate
from backend.core.i18n import LOCAL_TZ
from backend.core.runtime import Runtime
from tests.client import Api


def this_month() -> str:
    return f"{datetime.now(LOCAL_TZ):%Y-%m}"


def next_month_at_ten() -> datetime:
    now = datetime.now(LOCAL_TZ)
    first = (now.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.replace(hour=10, minute=0, second=0, microsecond=0)


async def category(admin: Api, orders: int) -> str:
    code = f"t_{uuid.uuid4().hex[:10]}"
    body = {"code": code, "name_zh": "测试类别", "name_en": "Test category", "orders_per_month": orders}
    await admin.ok("POST", "/api/v1/benefit-categories", body, 201)
    return code


async def grant(staff: Api, elder: dict[str, Any], code: str, **extra: Any) -> dict[str, Any]:
    body = {"category": code, "valid_from": f"{this_month()}-01", "evidence": "苏低保字 0001", **extra}
    return await staff.ok("POST", f"/api/v1/elders/{elder['id']}/benefits", body, 201)


async def place(api: Api, elder: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"elder_id": elder["id"], "service_type": "meal", **extra}
    return await api.ok("POST", "/api/v1/requests", body, 201)


async def test_the_quota_decides_who_pays_and_the_operator_sees_it_first(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())  # nobody to send: orders wait, so they stay counted
    staff = await world.user("community_staff", community_id=world.community["id"])
    elder = await world.add_elder(born="19600505")  # 66: no age category
    three = await category(admin, 3)
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    await boss.ok(
        "PUT", f"/api/v1/providers/{world.provider['id']}/rates", [{"service_type": "meal", "price_yuan": 25}]
    )

    before = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/entitlement?service_type=meal")
    assert (before["quota"], before["remaining"], before["next_order_paid_by"]) == (0, 0, "self")
    assert before["prices"] == {
        "service_type": "meal",
        "government_fen": 1500,
        "government_yuan": "15.00",
        "self_pay_min_fen": 2500,
        "self_pay_min_yuan": "25.00",
        "self_pay_max_fen": 2500,
        "self_pay_max_yuan": "25.00",
    }
    await grant(staff, elder, three)
    told = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/entitlement")
    assert (told["month"], told["quota"], told["used"], told["next_order_paid_by"]) == (
        this_month(),
        3,
        0,
        "government",
    )
    assert [c["code"] for c in told["categories"]] == [three]

    # Three orders within the quota are government-paid; the fourth is self-paid, unless asked otherwise.
    payers = [(await place(staff, elder))["paid_by"] for _ in range(4)]
    assert payers == ["government"] * 3 + ["self"]
    refused = await staff.post(
        "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal", "paid_by": "government"}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "quota_exhausted"
    assert "3/3" in refused.json()["error"]["message"]
    left = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/entitlement")
    assert (left["used"], left["remaining"], left["next_order_paid_by"]) == (3, 0, "self")

    # A cancelled order gives its place back; next month has its own quota.
    mine = await staff.ok("GET", f"/api/v1/requests?community_id={world.community['id']}&limit=500")
    government = [r for r in mine if r["elder_id"] == elder["id"] and r["paid_by"] == "government"]
    await staff.ok("POST", f"/api/v1/requests/{government[0]['id']}/cancel", {"reason": "老人住院"})
    assert (await place(staff, elder))["paid_by"] == "government"
    later = next_month_at_ten()
    window = {"window_start": later.isoformat(), "window_end": (later + timedelta(hours=1)).isoformat()}
    assert (await place(staff, elder, **window))["paid_by"] == "government"
    coming = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/entitlement?month={later:%Y-%m}")
    assert (coming["used"], coming["remaining"]) == (1, 2)

    # The category ends with this month: next month there is nothing left to buy with.
    (record,) = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/benefits")
    last_day = (later - timedelta(days=1)).date().isoformat()
    ended = await staff.ok(
        "POST",
        f"/api/v1/elders/{elder['id']}/benefits/{record['id']}/end",
        {"valid_to": last_day, "reason": "复核不再符合"},
    )
    assert ended["valid_to"] == last_day
    gone = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/entitlement?month={later:%Y-%m}")
    assert (gone["quota"], gone["next_order_paid_by"]) == (0, "self")
    assert (await place(staff, elder, **window))["paid_by"] == "self"


async def test_the_highest_category_counts_and_they_do_not_add_up(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    staff = await world.user("community_staff", community_id=world.community["id"])
    old = await world.add_elder(born="19360101")  # 90: both age categories apply by themselves
    told = await staff.ok("GET", f"/api/v1/elders/{old['id']}/entitlement")
    assert [(c["code"], c["source"]) for c in told["categories"]] == [("age_90", "age"), ("age_80", "age")]
    assert told["quota"] == 4
    await grant(staff, old, "low_income")
    await grant(staff, old, "veteran")
    told = await staff.ok("GET", f"/api/v1/elders/{old['id']}/entitlement")
    assert told["quota"] == 8 and [c["code"] for c in told["categories"]][:2] == ["low_income", "veteran"]
    twice = await staff.post(
        f"/api/v1/elders/{old['id']}/benefits", {"category": "low_income", "valid_from": f"{this_month()}-01"}
    )
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "benefit_exists"
    unknown = await staff.post(f"/api/v1/elders/{old['id']}/benefits", {"category": "nope", "valid_from": "2026-01-01"})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_category"

    # The bureau changes a quota: it counts from then on.
    await admin.ok("PATCH", "/api/v1/benefit-categories/veteran", {"orders_per_month": 10})
    assert (await staff.ok("GET", f"/api/v1/elders/{old['id']}/entitlement"))["quota"] == 10
    await admin.ok("PATCH", "/api/v1/benefit-categories/veteran", {"orders_per_month": 6})
    refused = await staff.post(
        "/api/v1/benefit-categories", {"code": "x", "name_zh": "x", "name_en": "x", "orders_per_month": 1}
    )
    assert refused.status_code == 403

    # Outside one's area, and for other roles, nothing is seen or recorded.
    other = await make_world(caregivers_km=())
    stranger = await other.user("community_staff", community_id=other.community["id"])
    assert (await stranger.get(f"/api/v1/elders/{old['id']}/entitlement")).status_code == 403
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    body = {"category": "veteran", "valid_from": "2026-01-01"}
    assert (await boss.post(f"/api/v1/elders/{old['id']}/benefits", body)).status_code == 403


async def test_orders_placed_at_once_never_use_more_than_the_quota(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    staff = await world.user("community_staff", community_id=world.community["id"])
    elder = await world.add_elder(born="19600505")
    await grant(staff, elder, await category(admin, 3))
    made = await asyncio.gather(*(place(staff, elder) for _ in range(12)))
    assert sorted(r["paid_by"] for r in made) == ["government"] * 3 + ["self"] * 9
    assert (await staff.ok("GET", f"/api/v1/elders/{elder['id']}/entitlement"))["used"] == 3


async def test_a_price_with_cents_is_kept_to_the_fen_and_a_third_decimal_changes_nothing(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world(caregivers_km=())
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    rates = f"/api/v1/providers/{world.provider['id']}/rates"

    # 12.35 yuan is stored as 1235 fen and answered both ways; a price may also be given in fen.
    taken = await boss.ok(
        "PUT", rates, [{"service_type": "meal", "price_yuan": "12.35"}, {"service_type": "cleaning", "price_fen": 6050}]
    )
    expected = [
        {"service_type": "cleaning", "price_fen": 6050, "price_yuan": "60.50"},
        {"service_type": "meal", "price_fen": 1235, "price_yuan": "12.35"},
    ]
    assert taken == expected and await boss.ok("GET", rates) == expected
    async with runtime.sessions() as session:
        stored = await session.execute(
            select(ProviderRate.service_type, ProviderRate.price_fen).where(
                col(ProviderRate.provider_id) == world.provider["id"]
            )
        )
        assert dict(stored.all()) == {"meal": 1235, "cleaning": 6050}
    elder = world.elders[0]
    menu = {i["code"]: i for i in (await admin.ok("GET", f"/api/v1/elders/{elder['id']}/menu"))["items"]}
    assert (menu["meal"]["price_fen"], menu["meal"]["price_yuan"]) == (1235, "12.35")

    # A third decimal, an amount given twice as two amounts, a string of fen: 422 with a stable code, and the
    # valid price beside it in the same request is not taken either.
    for bad, code in (
        ({"price_yuan": "12.345"}, "too_precise"),
        ({"price_yuan": 9.999}, "too_precise"),
        ({"price_yuan": "12.35", "price_fen": 1234}, "amounts_disagree"),
        ({"price_yuan": "十二元"}, "not_an_amount"),
        ({"price_fen": "1235"}, "validation_error"),
        ({"price_yuan": "-1"}, "validation_error"),
    ):
        refused = await boss.put(
            rates, [{"service_type": "cleaning", "price_yuan": "1.00"}, {"service_type": "meal", **bad}]
        )
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["code"] == code, bad
    assert await boss.ok("GET", rates) == expected

    # The government's price: the same forms; a refused one leaves the catalogue as it was.
    kinds = {t["code"]: t for t in await admin.ok("GET", "/api/v1/service-types")}
    price = "/api/v1/service-types/companionship/government-price"
    refused = await admin.put(price, {"government_price_yuan": "40.001"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "too_precise"
    after = {t["code"]: t for t in await admin.ok("GET", "/api/v1/service-types")}
    assert after["companionship"] == kinds["companionship"]
    same = await admin.ok("PUT", price, {"government_price_yuan": kinds["companionship"]["government_price_yuan"]})
    assert (same["government_price_fen"], same["government_price_yuan"]) == (
        kinds["companionship"]["government_price_fen"],
        kinds["companionship"]["government_price_yuan"],
    )
