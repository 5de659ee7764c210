"""Entitlements: the month's quota of government-paid orders, highest category only, told before ordering."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from backend.core.i18n import LOCAL_TZ
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
        "government_yuan": 15,
        "self_pay_min_yuan": 25,
        "self_pay_max_yuan": 25,
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
