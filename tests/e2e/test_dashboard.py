"""The read models behind the staff's screens: an area's queue, caregivers, figures, and the city table."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

from backend.core.config import Settings
from backend.dashboard.service import sla_of
from backend.orders.models import ServiceRequest
from tests.client import Api, offer_for, offset


async def _until(check, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.25)


def test_sla_colours_follow_the_time_allowed() -> None:
    settings = Settings(
        sla_accept_minutes={"normal": 60, "urgent": 15, "emergency": 3},
        sla_arrive_minutes={"normal": 1440, "urgent": 120, "emergency": 30},
        sla_late_arrival_minutes=30,
        sla_warn_share=0.75,
    )
    made = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)

    def order(status: str, priority: str = "normal", **kw) -> ServiceRequest:
        return ServiceRequest(
            elder_id=1, community_id=1, service_type="meal", status=status, priority=priority, created_at=made, **kw
        )

    assert sla_of(order("offered"), made + timedelta(minutes=30), settings) == ("ok", made + timedelta(minutes=60))
    assert sla_of(order("offered"), made + timedelta(minutes=46), settings)[0] == "warning"
    assert sla_of(order("escalated"), made + timedelta(minutes=60), settings)[0] == "late"
    assert sla_of(order("new", "emergency"), made + timedelta(minutes=3), settings)[0] == "late"
    # Accepted for a window: late only once the caregiver is 30 minutes past its start.
    window = made + timedelta(hours=5)
    booked = order("accepted", window_start=window, window_end=window + timedelta(hours=1))
    assert sla_of(booked, window + timedelta(minutes=10), settings)[0] == "warning"
    assert sla_of(booked, window + timedelta(minutes=31), settings) == ("late", window + timedelta(minutes=30))
    assert sla_of(order("en_route", "urgent"), made + timedelta(minutes=30), settings)[0] == "ok"
    in_service = order("in_service", window_start=window, window_end=window + timedelta(hours=1))
    assert sla_of(in_service, window + timedelta(minutes=30), settings)[0] == "ok"
    assert sla_of(in_service, window + timedelta(hours=2), settings)[0] == "warning"


async def test_the_queue_puts_escalated_orders_first_and_stays_in_the_area(make_world) -> None:
    world, other = await make_world(), await make_world()
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    elder, caregiver = world.elders[0], world.caregivers[0]
    first = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
    offer = await offer_for(caregiver["api"], first["id"])
    await caregiver["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/decline", {"reason": "在路上"})
    await _until(lambda: _status_is(operator, first["id"], "escalated"), timeout=30)  # nobody else serves the community
    second = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "bathing"}, 201)
    await operator.ok("POST", "/api/v1/requests", {"elder_id": other.elders[0]["id"], "service_type": "meal"}, 201)

    queue = await staff.ok("GET", f"/api/v1/dashboard/queue?community_id={world.community['id']}")
    assert queue["area"] == f"community:{world.community['id']}"
    ids = [o["id"] for o in queue["orders"]]
    assert ids[0] == first["id"] and second["id"] in ids and len(ids) == 2  # the other community's is not here
    top = queue["orders"][0]
    assert top["status"] == "escalated" and top["elder_name"] == elder["name"]
    assert top["service_name_zh"] == "助餐" and top["community_name"] == world.community["name"]
    assert top["lat"] == elder["location"]["lat"] and top["sla"] == "ok" and top["waiting_seconds"] >= 0
    assert queue["counts"]["escalated"] == 1 and sum(queue["counts"].values()) == 2
    # Staff without an area named see their own; another community, the city, or a caregiver are refused.
    assert [o["id"] for o in (await staff.ok("GET", "/api/v1/dashboard/queue"))["orders"]] == ids
    refused = await staff.get(f"/api/v1/dashboard/queue?community_id={other.community['id']}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "out_of_scope"
    assert (await staff.get(f"/api/v1/dashboard/queue?district_id={world.district['id']}")).status_code == 403
    district_staff = await world.user("community_staff", district_id=world.district["id"])
    district_queue = await district_staff.ok("GET", "/api/v1/dashboard/queue")
    assert district_queue["area"] == f"district:{world.district['id']}"
    assert [o["id"] for o in district_queue["orders"]] == ids
    assert (await district_staff.get(f"/api/v1/dashboard/queue?district_id={other.district['id']}")).status_code == 403
    assert (await caregiver["api"].get("/api/v1/dashboard/queue")).status_code == 403
    city = await operator.ok("GET", "/api/v1/dashboard/queue?limit=1000")
    assert city["area"] == "city" and {first["id"], second["id"]} <= {o["id"] for o in city["orders"]}


async def _status_is(api: Api, request_id: int, status: str) -> bool:
    return (await api.ok("GET", f"/api/v1/requests/{request_id}"))["status"] == status


async def test_caregivers_show_what_they_are_doing_and_today_is_counted(make_world) -> None:
    world = await make_world(caregivers_km=(0.5, 1.0))
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    near, off = world.caregivers
    await off["api"].ok("POST", "/mobile/v1/shift", {"on_shift": False})
    area = f"community_id={world.community['id']}"

    view = await staff.ok("GET", f"/api/v1/dashboard/caregivers?{area}")
    assert [(c["id"], c["state"]) for c in view["caregivers"]] == [(near["id"], "idle")]
    everyone = await staff.ok("GET", f"/api/v1/dashboard/caregivers?{area}&everyone=true")
    assert {c["id"]: c["state"] for c in everyone["caregivers"]} == {near["id"]: "idle", off["id"]: "off_shift"}

    elder = world.elders[0]
    order = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201)
    offer = await offer_for(near["api"], order["id"])
    view = await staff.ok("GET", f"/api/v1/dashboard/caregivers?{area}")
    assert view["caregivers"][0]["state"] == "offered" and view["caregivers"][0]["request_id"] == order["id"]
    await near["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/accept")
    view = await staff.ok("GET", f"/api/v1/dashboard/caregivers?{area}")
    assert view["counts"] == {"busy": 1} and view["caregivers"][0]["request_id"] == order["id"]

    await near["api"].ok("POST", f"/mobile/v1/requests/{order['id']}/en-route")
    await near["api"].ok(
        "POST", f"/mobile/v1/requests/{order['id']}/check-in", offset(world.home["lat"], world.home["lon"], 0.05)
    )
    await near["api"].ok("POST", f"/mobile/v1/requests/{order['id']}/check-out", {"notes": "午餐已送达"})
    await operator.ok("POST", f"/api/v1/requests/{order['id']}/rating", {"stars": 4})
    cancelled = await operator.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "bathing"}, 201)
    await operator.ok("POST", f"/api/v1/requests/{cancelled['id']}/cancel", {"reason": "老人改期"})

    figures = await staff.ok("GET", f"/api/v1/dashboard/figures?{area}&days=7")
    today = figures["today"]
    assert len(figures["days"]) == 7 and figures["days"][-1] == today
    assert (today["orders"], today["accepted"], today["completed"], today["cancelled"]) == (2, 1, 1, 1)
    assert today["completion_rate"] == 0.5 and today["satisfaction"] == 4.0 and today["rated"] == 1
    assert today["median_accept_seconds"] is not None and 0 <= today["median_accept_seconds"] < 60
    assert all(d["orders"] == 0 for d in figures["days"][:-1])
    assert (await staff.get(f"/api/v1/dashboard/figures?{area}&days=0")).status_code == 422


async def test_the_city_table_has_every_district_and_exports_in_both_languages(make_world, admin) -> None:
    world = await make_world()
    staff = await world.user("community_staff", community_id=world.community["id"])
    await admin.ok("POST", "/api/v1/requests", {"elder_id": world.elders[0]["id"], "service_type": "meal"}, 201)
    city = await admin.ok("GET", "/api/v1/dashboard/city")
    row = next(d for d in city["districts"] if d["district_id"] == world.district["id"])
    assert (row["orders_today"], row["orders_30d"], row["provider_cover_rate"]) == (1, 1, 1.0)
    assert row["beds_total"] == 0 and (row["subsidy_spent_fen"], row["subsidy_spent_yuan"]) == (0, "0.00")
    assert city["totals"]["orders_today"] == sum(d["orders_today"] for d in city["districts"])
    assert (await staff.get("/api/v1/dashboard/city")).status_code == 403

    exported = await admin.get("/api/v1/dashboard/city/export?format=csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][:2] == ["区/市", "今日工单"] and table[-1][0] == "全市"
    mine = next(r for r in table if r[0] == world.district["name"])
    assert [world.district["name"], "1"] == mine[:2]
    assert table[0][-2:] == ["本月补贴支出（元）", "本月补贴预算（元）"] and mine[-2:] == [
        "0.00",
        "",
    ]  # yuan, two decimals
    english = await admin.get("/api/v1/dashboard/city/export?format=csv", headers={"Accept-Language": "en"})
    rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["District", "Orders today"] and rows[-1][0] == "City"
    assert (await admin.get("/api/v1/dashboard/city/export?format=pdf")).status_code == 422
