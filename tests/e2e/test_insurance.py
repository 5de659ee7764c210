"""The three insurance schemes: policies, cover the dispatcher respects, reminders before they end, imports."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from typing import Any

from openpyxl import Workbook

from backend.core.i18n import LOCAL_TZ
from backend.core.runtime import Runtime
from backend.insurance.tasks import remind_expiring
from tests.client import Api, World, Ws, id_number
from tests.e2e.test_calendar import tomorrow_at
from tests.e2e.test_scoring import offers_of, order


def today() -> Any:
    return datetime.now(LOCAL_TZ).date()


def policy_body(scheme: str, insured_type: str, insured_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "scheme": scheme,
        "insured_type": insured_type,
        "insured_id": insured_id,
        "insurer": "中国太平洋财产保险苏州分公司",
        "number": f"P{uuid.uuid4().hex[:14]}",
        "starts_on": (today() - timedelta(days=10)).isoformat(),
        "ends_on": (today() + timedelta(days=355)).isoformat(),
        "limit_per_event_yuan": "100000.00",
        "limit_per_year_yuan": 1_000_000,
        "payer": "government",
        **extra,
    }


async def second_provider(admin: Api, world: World, name: str = "第二家居家养老服务中心") -> dict[str, Any]:
    body = {
        "name": name,
        "kind": "home_care",
        "community_ids": [world.community["id"]],
        "service_types": ["meal", "bathing"],
        "location": world.home,
    }
    return await admin.ok("POST", "/api/v1/providers", body, 201)


async def test_policies_are_registered_seen_and_cancelled_within_scope(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    other = await second_provider(admin, world)

    # A provider's admin registers their own cover, not another's; each scheme insures its own kind of party.
    body = policy_body("home_care_liability", "provider", world.provider["id"])
    mine = await boss.ok("POST", "/api/v1/insurance/policies", body, 201)
    assert (mine["status"], mine["valid_today"], mine["insured_name"]) == ("active", True, world.provider["name"])
    assert (mine["limit_per_event_fen"], mine["limit_per_event_yuan"]) == (10_000_000, "100000.00")
    assert (mine["premium_fen"], mine["premium_yuan"]) == (None, None)
    # The limits as clients gave them before amounts were in fen (``limit_per_event``, yuan) are still taken.
    legacy = {k: v for k, v in body.items() if not k.startswith("limit_")} | {"number": f"L{uuid.uuid4().hex[:12]}"}
    legacy |= {"limit_per_event": 2000.5, "limit_per_year": "9000", "premium_yuan": "12.30"}
    kept = await boss.ok("POST", "/api/v1/insurance/policies", legacy, 201)
    assert (kept["limit_per_event_fen"], kept["limit_per_year_fen"], kept["premium_fen"]) == (200050, 900000, 1230)
    backwards_limits = await boss.post(
        "/api/v1/insurance/policies", legacy | {"number": "L-x", "limit_per_year_yuan": "2000.49"}
    )
    assert backwards_limits.status_code == 422  # a year's limit below the event's, by a fen
    refused = await boss.post("/api/v1/insurance/policies", policy_body("home_care_liability", "provider", other["id"]))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "out_of_scope"
    wrong = await admin.post("/api/v1/insurance/policies", policy_body("elder_accident", "provider", other["id"]))
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "scheme_mismatch"
    twice = await admin.post("/api/v1/insurance/policies", body)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "policy_exists"
    backwards = await admin.post(
        "/api/v1/insurance/policies",
        policy_body("elder_accident", "elder", world.elders[0]["id"], ends_on="2020-01-01"),
    )
    assert backwards.status_code == 422
    unknown = await admin.post("/api/v1/insurance/policies", policy_body("elder_accident", "elder", 999_999_999))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_insured"

    # The elder's own accident cover shows on the hotline's screen.
    elder = world.elders[0]
    operator = await world.user("operator")
    (before,) = await operator.ok("GET", f"/api/v1/elders?phone={elder['raw_phone']}")
    assert before["accident_cover"] is None
    cover = await operator.ok(
        "POST", "/api/v1/insurance/policies", policy_body("elder_accident", "elder", elder["id"]), 201
    )
    (after,) = await operator.ok("GET", f"/api/v1/elders?phone={elder['raw_phone']}")
    assert after["accident_cover"]["policy_id"] == cover["id"] and after["accident_cover"]["scheme"] == "elder_accident"

    # Listing: a party's policies for those who may see them; the provider's admin sees only their own.
    listed = await boss.ok("GET", "/api/v1/insurance/policies")
    assert {p["insured_id"] for p in listed} == {world.provider["id"]} and {p["scheme"] for p in listed} == {
        "home_care_liability"
    }
    of_elder = await operator.ok("GET", f"/api/v1/insurance/policies?insured_type=elder&insured_id={elder['id']}")
    assert [p["id"] for p in of_elder] == [cover["id"]]
    peek = await boss.get(f"/api/v1/insurance/policies?insured_type=elder&insured_id={elder['id']}")
    assert peek.status_code == 403
    staff = await world.user("community_staff", community_id=world.community["id"])
    assert (await staff.ok("GET", f"/api/v1/insurance/policies/{cover['id']}"))["id"] == cover["id"]

    # Cancelled: no longer valid today, and gone from the elder's screen.
    gone = await operator.ok("POST", f"/api/v1/insurance/policies/{cover['id']}/cancel", {"reason": "重复登记"})
    assert (gone["status"], gone["valid_today"], gone["cancel_reason"]) == ("cancelled", False, "重复登记")
    again = await operator.post(f"/api/v1/insurance/policies/{cover['id']}/cancel", {"reason": "重复登记"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "policy_cancelled"
    assert (await operator.ok("GET", f"/api/v1/elders/{elder['id']}"))["accident_cover"] is None
    valid = await operator.ok(
        "GET", f"/api/v1/insurance/policies?insured_type=elder&insured_id={elder['id']}&valid_on={today()}"
    )
    assert valid == []


async def test_a_provider_without_cover_on_the_visit_day_is_never_offered_the_order(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(2.0,))  # the world's provider is covered; its caregiver 2 km away
    covered = world.caregivers[0]
    lapsed = await second_provider(admin, world)
    await world.insure(lapsed["id"], days=(1, 365))  # cover begins tomorrow
    near = await world.add_caregiver(0.3, provider_id=lapsed["id"])
    operator = await world.user("operator")

    # Now: the nearer caregiver's provider has no cover today; the covered one 2 km away is asked.
    rid = await order(operator, world.elders[0])
    offers = await offers_of(operator, rid)
    assert [o["caregiver_id"] for o in offers] == [covered["id"]]
    nearby = await operator.ok("GET", f"/api/v1/requests/{rid}/nearby-caregivers")
    why = {n["caregiver_id"]: n["excluded_by"] for n in nearby}
    assert [e["code"] for e in why[near["id"]]] == ["no_liability_cover"]
    assert "无有效居家服务责任险" in why[near["id"]][0]["reason"]
    # The covered one declines: nobody else may go, so the operator is told; assigning the uncovered one is refused.
    await covered["api"].ok("POST", f"/mobile/v1/offers/{offers[0]['id']}/decline", {"reason": "在另一户服务"})
    ws = await Ws.connect(stack.base_url, operator.token)
    await ws.subscribe(f"request:{rid}", since=0)
    await ws.wait_status(rid, "escalated")
    refused = await operator.post(f"/api/v1/requests/{rid}/assign", {"caregiver_id": near["id"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_liability_cover"
    assert (await operator.ok("GET", f"/api/v1/requests/{rid}"))["status"] == "escalated"
    await ws.close()

    # Tomorrow at ten: the cover is valid on the visit's day, so the nearer caregiver is asked.
    later = await order(operator, await world.add_elder(), window_start=tomorrow_at(10))
    assert [o["caregiver_id"] for o in await offers_of(operator, later)] == [near["id"]]


async def test_policies_ending_soon_are_reminded_once_to_the_insured_and_the_bureau(
    stack, admin, make_world, runtime: Runtime
) -> None:
    world = await make_world(caregivers_km=())
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    soon, month, renewed = [await second_provider(admin, world, name) for name in ("甲", "乙", "丙")]

    def ending(provider: dict[str, Any], days: int) -> dict[str, Any]:
        return policy_body(
            "home_care_liability",
            "provider",
            provider["id"],
            starts_on=(today() - timedelta(days=300)).isoformat(),
            ends_on=(today() + timedelta(days=days)).isoformat(),
        )

    five = await admin.ok("POST", "/api/v1/insurance/policies", ending(soon, 5), 201)
    twenty = await admin.ok("POST", "/api/v1/insurance/policies", ending(month, 20), 201)
    old = await admin.ok("POST", "/api/v1/insurance/policies", ending(renewed, 5), 201)
    nxt = {
        "starts_on": (today() + timedelta(days=6)).isoformat(),
        "ends_on": (today() + timedelta(days=370)).isoformat(),
    }
    await admin.ok(
        "POST", "/api/v1/insurance/policies", policy_body("home_care_liability", "provider", renewed["id"], **nxt), 201
    )
    mine = await admin.ok("POST", "/api/v1/insurance/policies", ending(world.provider, 3), 201)

    assert await remind_expiring(runtime) >= 2
    assert await remind_expiring(runtime) == 0  # once each
    reminders = await admin.ok("GET", "/api/v1/insurance/reminders?limit=500")
    sent = {(r["policy_id"], r["days_ahead"]) for r in reminders}
    assert {(five["id"], 7), (five["id"], 30), (twenty["id"], 30)} <= sent
    assert (twenty["id"], 7) not in sent and old["id"] not in {p for p, _ in sent}
    # The world's provider renewed before: its policy ending in 3 days is covered by the one that runs on.
    assert mine["id"] not in {p for p, _ in sent}
    assert await boss.ok("GET", "/api/v1/insurance/reminders") == []  # none of the provider's own

    # The bureau's district dashboard and the insured provider's admin are told (here caught up with ``since``).
    bureau = await Ws.connect(stack.base_url, (await world.user("operator")).token)
    await bureau.subscribe(f"district:{world.district['id']}", since=0)
    seen = await bureau.wait_event("insurance.expiring", policy_id=five["id"])
    assert (seen["data"]["days_ahead"], seen["data"]["days_left"], seen["data"]["insured_id"]) == (7, 5, soon["id"])
    soon_boss = await world.user("provider_admin", provider_id=soon["id"])
    inbox = await Ws.connect(stack.base_url, soon_boss.token)
    await inbox.subscribe(f"provider:{soon['id']}", since=0)
    assert (await inbox.wait_event("insurance.expiring"))["data"]["policy_id"] == five["id"]
    denied = await inbox.subscribe(f"provider:{world.provider['id']}")
    assert denied["type"] == "error" and denied["code"] == "out_of_scope"
    await bureau.close()
    await inbox.close()


CSV_HEADER = "险种,被保险人,保险公司,保单号,起保日期,终止日期,每次限额,年累计限额,付费方\n"


async def test_policies_are_imported_from_spreadsheets_reporting_every_bad_row(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    elder = await world.add_elder(born="19400101")
    operator = await world.user("operator")
    tag = uuid.uuid4().hex[:8]
    raw = await admin.ok("GET", f"/api/v1/elders/{elder['id']}")
    rows = [
        f"居家责任险,{world.provider['name']},人保苏州,{tag}-1,2026/1/1,2026/12/31,300000,3000000,政府",
        f'意外险,{raw["id_number"]},人保苏州,{tag}-2,2026-01-01,2026-12-31,50000.50,"50,000.50",个人',
        f"意外险,{id_number('19400101')},人保苏州,{tag}-3,2026-01-01,2026-12-31,50000,50000,政府",  # nobody
        f"火灾险,{world.provider['name']},人保苏州,{tag}-4,2026-01-01,2026-12-31,1,1,政府",
        f"居家责任险,{world.provider['name']},人保苏州,{tag}-5,2026-12-31,2026-01-01,1,1,政府",
        f"居家责任险,{world.provider['name']},人保苏州,{tag}-1,2026-01-01,2026-12-31,1,1,政府",  # repeated
        f"意外险,{raw['id_number']},人保苏州,{tag}-6,2026-01-01,2026-12-31,100.005,200,个人",  # a tenth of a fen
    ]
    files = {"file": ("保单.csv", (CSV_HEADER + "\n".join(rows) + "\n").encode(), "text/csv")}
    # Elders named by resident ID number: admins, who read ID numbers whole (operators name them by id).
    report = (await admin.post("/api/v1/insurance/policies/import", files=files)).json()
    assert report["rows"] == 7 and report["imported"] == 0
    assert [e["line"] for e in report["errors"]] == [4, 5, 6, 7, 8]
    reasons = {e["line"]: e["reason"] for e in report["errors"]}
    assert "不存在" in reasons[4] and "险种" in reasons[5] and "已登记" in reasons[7]
    assert reasons[8].startswith("每次限额") and "two decimals" in reasons[8]  # never rounded
    assert await operator.ok("GET", f"/api/v1/insurance/policies?insured_type=elder&insured_id={elder['id']}") == []

    partial = await admin.post("/api/v1/insurance/policies/import", files=files, data={"good_rows": "true"})
    assert partial.json()["imported"] == 2
    (accident,) = await operator.ok("GET", f"/api/v1/insurance/policies?insured_type=elder&insured_id={elder['id']}")
    assert (accident["number"], accident["payer"], accident["limit_per_event_yuan"]) == (
        f"{tag}-2",
        "elder",
        "50000.50",
    )
    assert (accident["limit_per_event_fen"], accident["limit_per_year_fen"]) == (5_000_050, 5_000_050)

    # The same from a workbook, with real date cells; a provider's admin may not import.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(CSV_HEADER.strip().split(","))
    sheet.append(
        [
            "居家责任险",
            world.provider["name"],
            "国寿财险",
            f"{tag}-x",
            datetime(2026, 1, 1),
            datetime(2026, 12, 31),
            200000,
            2000000,
            "政府",
        ]
    )
    data = io.BytesIO()
    book.save(data)
    xlsx = {"file": ("保单.xlsx", data.getvalue(), "application/octet-stream")}
    done = (await operator.post("/api/v1/insurance/policies/import", files=xlsx)).json()
    assert (done["imported"], done["errors"]) == (1, [])
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    assert (await boss.post("/api/v1/insurance/policies/import", files=xlsx)).status_code == 403
    bad = await operator.post(
        "/api/v1/insurance/policies/import", files={"file": ("x.pdf", b"%PDF", "application/pdf")}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unsupported_file"


async def test_a_csv_saved_by_excel_on_a_chinese_windows_gbk_imports(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())
    operator = await world.user("operator")
    tag = uuid.uuid4().hex[:8]
    row = f"居家责任险,{world.provider['name']},人保苏州,{tag}-g,2026-01-01,2026-12-31,300000,3000000,政府\n"
    gbk = (CSV_HEADER + row).encode("gbk")  # Excel's 「CSV（逗号分隔）」 on a Chinese Windows
    detected = await operator.post("/api/v1/insurance/policies/import", files={"file": ("保单.csv", gbk, "text/csv")})
    assert detected.status_code == 200 and (detected.json()["imported"], detected.json()["errors"]) == (1, [])
    again = (CSV_HEADER + row.replace(f"{tag}-g", f"{tag}-h")).encode("gb18030")
    chosen = await operator.post(
        "/api/v1/insurance/policies/import",
        files={"file": ("保单.csv", again, "text/csv")},
        data={"encoding": "gb18030"},
    )
    assert chosen.json()["imported"] == 1
    # Said to be UTF-8 when it is not: refused with the reason, nothing imported.
    wrong = await operator.post(
        "/api/v1/insurance/policies/import", files={"file": ("保单.csv", gbk, "text/csv")}, data={"encoding": "utf-8"}
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unreadable_file"
    assert "UTF-8" in wrong.json()["error"]["message"]
    unknown = await operator.post(
        "/api/v1/insurance/policies/import", files={"file": ("保单.csv", gbk, "text/csv")}, data={"encoding": "big5"}
    )
    assert unknown.status_code == 422
