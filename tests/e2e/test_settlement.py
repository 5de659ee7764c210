"""Locked visits and the monthly settlement: corrections with approval, statements a bureau can sign."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from openpyxl import load_workbook

from backend.benefits.models import ElderBenefit, ProviderRate
from backend.core.i18n import LOCAL_TZ
from backend.core.runtime import Runtime
from backend.insurance.seed import insure_providers
from backend.orders.models import ServiceRequest, Visit
from backend.registry.models import Caregiver, Provider
from backend.users.models import User
from tests.client import unique_phone
from tests.e2e.test_benefits import grant
from tests.e2e.test_scoring import serve
from tests.factories import HERE, elder_at_home, new_community


def this_month() -> str:
    return f"{datetime.now(LOCAL_TZ):%Y-%m}"


async def test_a_locked_visit_is_corrected_only_with_approval_and_the_month_is_settled(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver, elder = world.caregivers[0], world.elders[0]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    await grant(staff, elder, "low_income")
    await boss.ok(
        "PUT", f"/api/v1/providers/{world.provider['id']}/rates", [{"service_type": "meal", "price_yuan": "25.50"}]
    )
    rid = await serve(world, operator, caregiver, elder)  # within the quota: government-paid
    visit = (await operator.ok("GET", f"/api/v1/requests/{rid}"))["visit"]

    # The caregiver's phone failed at the door: the visit says a few seconds, too short to be paid. They ask to
    # set the arrival 15 minutes earlier (a meal's usual 45 minutes: over its quarter); the operator approves.
    arrived = datetime.fromisoformat(visit["checkin_at"])
    came = arrived - timedelta(minutes=15)
    body = {"reason_code": "device_failure", "comment": "手机故障，家属确认到达时间", "checkin_at": came.isoformat()}
    asked = await caregiver["api"].ok("POST", f"/api/v1/requests/{rid}/visit/corrections", body, 201)
    assert asked["status"] == "pending" and asked["before"]["checkin_at"] != asked["after"]["checkin_at"]
    again = await caregiver["api"].post(f"/api/v1/requests/{rid}/visit/corrections", body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "correction_pending"
    assert (await caregiver["api"].post(f"/api/v1/visit-corrections/{asked['id']}/approve", {})).status_code == 403
    assert any(c["id"] == asked["id"] for c in await operator.ok("GET", "/api/v1/visit-corrections?limit=500"))
    approved = await operator.ok("POST", f"/api/v1/visit-corrections/{asked['id']}/approve", {"note": "核实无误"})
    assert approved["status"] == "approved" and approved["decided_by"].startswith("operator:")
    shown = (await operator.ok("GET", f"/api/v1/requests/{rid}"))["visit"]
    assert datetime.fromisoformat(shown["checkin_at"]) == came
    (kept,) = await staff.ok("GET", f"/api/v1/requests/{rid}/visit/corrections")
    assert kept["before"] == asked["before"] and kept["after"] == asked["after"]  # both versions stay
    # An operator's own correction needs someone else; clearing a GPS flag needs the GPS reason.
    mine = await operator.ok(
        "POST",
        f"/api/v1/requests/{rid}/visit/corrections",
        {"reason_code": "other", "comment": "备注", "notes": "补记"},
        201,
    )
    own = await operator.post(f"/api/v1/visit-corrections/{mine['id']}/approve", {})
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_correction"
    await admin.ok("POST", f"/api/v1/visit-corrections/{mine['id']}/reject", {"note": "无需补记"})
    flag = {"reason_code": "other", "comment": "x", "location_flagged": False}
    wrong = await operator.post(f"/api/v1/requests/{rid}/visit/corrections", flag)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "reason_mismatch"

    # The month's statement: one government-paid meal (15 yuan) under 低保; running again changes nothing.
    run = {"provider_id": world.provider["id"], "month": this_month()}
    first = await admin.ok("POST", "/api/v1/settlements/run", run)
    statement = first["settlement"]
    assert first["changed"] is True and statement["revision"] == 1 and statement["status"] == "draft"
    assert (statement["included"], statement["government_fen"], statement["self_fen"]) == (1, 1500, 0)
    assert (statement["government_yuan"], statement["self_yuan"], statement["emergency_yuan"]) == (
        "15.00",
        "0.00",
        "0.00",
    )
    assert statement["by_category"] == [{"key": "low_income", "orders": 1, "fen": 1500, "yuan": "15.00"}]
    same = await admin.ok("POST", "/api/v1/settlements/run", run)
    assert same["changed"] is False and same["settlement"]["id"] == statement["id"]

    # A self-paid visit later: the next run is a new revision showing the difference.
    second = await serve(world, operator, caregiver, elder, paid_by="self", stay=20)
    rerun = await boss.ok("POST", "/api/v1/settlements/run", run)
    assert rerun["changed"] is True and rerun["settlement"]["revision"] == 2
    diff = rerun["difference"]
    assert [c["request_id"] for c in diff["added"]] == [second]
    assert (diff["self_fen_delta"], diff["self_yuan_delta"], diff["government_yuan_delta"]) == (2550, "25.50", "0.00")
    assert (diff["added"][0]["after"]["amount_fen"], diff["added"][0]["after"]["amount_yuan"]) == (2550, "25.50")
    assert diff["previous_id"] == statement["id"] and (diff["removed"], diff["changed"]) == ([], [])
    assert (await admin.ok("GET", f"/api/v1/settlements/{statement['id']}"))["status"] == "superseded"
    latest = rerun["settlement"]["id"]

    # draft → confirmed by the provider → approved and paid by the bureau; nothing twice, nobody else.
    assert (await admin.post(f"/api/v1/settlements/{latest}/approve")).status_code == 409
    await boss.ok("POST", f"/api/v1/settlements/{latest}/confirm")
    assert (await operator.post(f"/api/v1/settlements/{latest}/approve")).status_code == 403
    assert (await boss.post(f"/api/v1/settlements/{latest}/approve")).status_code == 403
    await admin.ok("POST", f"/api/v1/settlements/{latest}/approve")
    paid = await admin.ok("POST", f"/api/v1/settlements/{latest}/pay")
    assert paid["status"] == "paid" and paid["paid_by"].startswith("admin:")
    twice = await admin.post(f"/api/v1/settlements/{latest}/pay")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "illegal_transition"
    other = await make_world(caregivers_km=())
    stranger = await other.user("provider_admin", provider_id=other.provider["id"])
    assert (await stranger.get(f"/api/v1/settlements/{latest}")).status_code == 403

    # The bureau's spend in the district against its budget (the latest statement counts).
    budget = {"district_id": world.district["id"], "month": this_month(), "budget_yuan": "100.00"}
    assert (await operator.put("/api/v1/subsidy/budgets", budget)).status_code == 403
    assert (await admin.ok("PUT", "/api/v1/subsidy/budgets", budget))["budget_fen"] == 10000
    (spend,) = await operator.ok("GET", f"/api/v1/subsidy?month={this_month()}&district_id={world.district['id']}")
    assert (spend["spent_yuan"], spend["orders"], spend["budget_yuan"], spend["share"]) == ("15.00", 1, "100.00", 0.15)
    assert (spend["spent_fen"], spend["budget_fen"]) == (1500, 10000)
    for bad, code in (
        (budget | {"budget_yuan": "99.999"}, "too_precise"),
        (budget | {"budget_fen": 1}, "amounts_disagree"),
    ):
        refused = await admin.put("/api/v1/subsidy/budgets", bad)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == code
    (kept,) = await operator.ok("GET", f"/api/v1/subsidy?month={this_month()}&district_id={world.district['id']}")
    assert kept["budget_fen"] == 10000  # nothing changed

    # Exports a bureau can sign: CSV with Chinese headers, and a workbook.
    exported = await admin.get(f"/api/v1/settlements/{latest}/export?format=csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "工单号" and {rows[1][0], rows[2][0]} == {str(rid), str(second)}
    # Names and words a clerk reads, not ids and codes.
    lines = [dict(zip(rows[0], row, strict=True)) for row in rows[1:3]]
    assert not any("编号" in header for header in rows[0])
    assert {line["老人"] for line in lines} <= {elder["name"] for elder in world.elders}
    assert {line["护理员"] for line in lines} <= {caregiver["name"] for caregiver in world.caregivers}
    assert {line["区县"] for line in lines} == {world.district["name"]}
    assert {line["付费方"] for line in lines} == {"政府购买服务", "自费"}
    assert {line["结算"] for line in lines} == {"计入"}
    services = {kind["name_zh"] for kind in await admin.ok("GET", "/api/v1/service-types")}
    assert {line["服务项目"] for line in lines} <= services
    amount = rows[0].index("金额（元）")
    assert sorted(row[amount] for row in rows[1:3]) == ["15.00", "25.50"]  # yuan with two decimals
    assert rows[-1] == ["政府支付合计（元）", "15.00", "自费合计（元）", "25.50", "一键通紧急救助合计（元）", "0.00"]
    book = (await admin.get(f"/api/v1/settlements/{latest}/export?format=xlsx")).content
    sheet = load_workbook(io.BytesIO(book)).active
    assert sheet is not None and sheet.cell(row=2, column=1).value == "工单号"
    cells = [sheet.cell(row=row, column=amount + 1) for row in (3, 4)]
    assert sorted(cell.value for cell in cells) == [15, 25.5]  # numbers a spreadsheet adds up
    assert {cell.number_format for cell in cells} == {"0.00"}


def _month_before(day: date) -> tuple[str, date, date]:
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last:%Y-%m}", last.replace(day=1), last


async def test_the_statement_matches_an_independent_count_of_generated_visits(
    stack, admin, make_world, runtime: Runtime
) -> None:
    """Hundreds of generated orders of last month (and a few either side): totals, lines and subtotals, to the fen
    (self-pay prices with cents: the totals are exact sums, shown with two decimals)."""
    rng = random.Random(11)
    month, first, last = _month_before(datetime.now(LOCAL_TZ).date())
    prices = {"meal": 1500, "bathing": 8000, "cleaning": 6000}  # fen: the seeded government prices
    minutes = {"meal": 45, "bathing": 90, "cleaning": 120}  # the services' usual minutes (the seeded catalogue)
    rates = {"meal": 2235, "bathing": 9533}  # 22.35 and 95.33 yuan; none set for cleaning: counted at 0
    async with runtime.unit_of_work() as session:
        community = await new_community(session)
        provider = Provider(name=f"结算测试{uuid.uuid4().hex[:6]}", kind="home_care", lat=HERE.lat, lon=HERE.lon)
        session.add(provider)
        await session.flush()
        assert provider.id is not None and community.id is not None
        await insure_providers(session, [provider.id])
        session.add_all(ProviderRate(provider_id=provider.id, service_type=t, price_fen=p) for t, p in rates.items())
        caregivers = []
        for _ in range(3):
            user = User(username=f"set_{uuid.uuid4().hex[:10]}", password_hash="-", role="caregiver")
            session.add(user)
            await session.flush()
            cg = Caregiver(
                provider_id=provider.id, user_id=user.id, name="护", phone=unique_phone(), lat=HERE.lat, lon=HERE.lon
            )  # type: ignore[arg-type]
            session.add(cg)
            caregivers.append(cg)
        # Elders: 低保 (recorded), 80+ by age, and nobody's category.
        kinds = {"low_income": "19600101", "age_80": "19400101", "uncategorised": "19600101"}
        elders = {}
        for kind, born in kinds.items():
            elder = elder_at_home(community, born=born)
            session.add(elder)
            await session.flush()
            elders[kind] = elder
        session.add(ElderBenefit(elder_id=elders["low_income"].id, category="low_income", valid_from=first, by="test"))  # type: ignore[arg-type]
        await session.flush()

        expected: dict[int, tuple[str, str | None, int, str | None]] = {}  # request → kind, reason, fen, category
        for n in range(300):
            kind = rng.choice(list(elders))
            elder = elders[kind]
            service = rng.choice(list(prices))
            paid = rng.choice(["government", "self"])
            status = rng.choice(["completed", "completed", "completed", "closed", "cancelled", "accepted"])
            # Most in the month, some in the last hours of the month before or the first of the next.
            day = first + timedelta(days=rng.randrange((last - first).days + 1))
            at = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), tzinfo=LOCAL_TZ)
            if n % 25 == 0:
                at = datetime(first.year, first.month, first.day, 0, 30, tzinfo=LOCAL_TZ) - timedelta(hours=1)
            if n % 25 == 1:
                at = datetime(last.year, last.month, last.day, 23, 30, tzinfo=LOCAL_TZ) + timedelta(hours=1)
            caregiver = rng.choice(caregivers)
            request = ServiceRequest(
                elder_id=elder.id,  # type: ignore[arg-type]
                community_id=community.id,
                service_type=service,
                paid_by=paid,
                status=status,
                window_start=at,
                window_end=at + timedelta(hours=1),
                assigned_caregiver_id=caregiver.id,
                created_at=at - timedelta(days=1),
                updated_at=at,
            )
            session.add(request)
            await session.flush()
            proof = rng.random()
            visit = None
            if status in ("completed", "closed", "accepted") and proof > 0.1:
                arrived = at + timedelta(minutes=rng.randrange(-20, 30))
                stayed = (
                    50 if proof > 0.3 else rng.choice([0.001, 5, 30])
                )  # seconds, or minutes that do or do not count
                visit = Visit(
                    request_id=request.id,  # type: ignore[arg-type]
                    caregiver_id=caregiver.id,  # type: ignore[arg-type]
                    checkin_at=arrived.astimezone(UTC),
                    checkin_lat=HERE.lat,
                    checkin_lon=HERE.lon,
                    checkin_distance_m=10,
                    location_flagged=proof < 0.2,
                    checkout_at=(arrived + timedelta(minutes=stayed)).astimezone(UTC) if proof > 0.15 else None,
                )
                session.add(visit)
            # The independent count: a visit belongs to the month its check-in (else its window) falls in.
            when = visit.checkin_at if visit else at
            if status == "accepted" or not first <= when.astimezone(LOCAL_TZ).date() <= last:
                continue
            assert request.id is not None
            if status == "cancelled":
                expected[request.id] = ("excluded", "cancelled", 0, None)
            elif visit is None or visit.checkout_at is None:
                expected[request.id] = ("excluded", "no_proof", 0, None)
            elif visit.location_flagged:
                expected[request.id] = ("excluded", "gps_flagged", 0, None)
            elif stayed < 0.25 * minutes[service]:  # ELDERCARE_MIN_VISIT_SHARE of the service's usual minutes
                expected[request.id] = ("excluded", "too_short", 0, None)
            elif paid == "government":
                expected[request.id] = ("included", None, prices[service], None if kind == "uncategorised" else kind)
            else:
                expected[request.id] = ("included", None, rates.get(service, 0), None)
        await session.flush()
        provider_id = provider.id

    result = await admin.ok("POST", "/api/v1/settlements/run", {"provider_id": provider_id, "month": month})
    statement = result["settlement"]
    lines = await admin.ok("GET", f"/api/v1/settlements/{statement['id']}/lines")
    found = {x["request_id"]: (x["kind"], x["reason"], x["amount_fen"], x["category"]) for x in lines}
    assert all(x["amount_yuan"] == f"{x['amount_fen'] // 100}.{x['amount_fen'] % 100:02d}" for x in lines)
    paid_by = {x["request_id"]: x["paid_by"] for x in lines}
    government = {r for r, x in expected.items() if x[0] == "included" and paid_by[r] == "government"}
    # The category the statement shows for government-paid lines is the elder's; self-paid lines have none.
    assert {r: (k, why, y) for r, (k, why, y, _c) in found.items()} == {
        r: (k, why, y) for r, (k, why, y, _c) in expected.items()
    }
    assert {r: found[r][3] for r in government} == {r: expected[r][3] for r in government}
    gov_total = sum(x[2] for r, x in expected.items() if r in government)
    self_total = sum(x[2] for x in expected.values() if x[0] == "included") - gov_total
    assert (statement["government_fen"], statement["self_fen"]) == (gov_total, self_total)
    assert self_total % 100 and statement["self_yuan"] == f"{self_total // 100}.{self_total % 100:02d}"  # cents
    assert statement["included"] == sum(1 for x in expected.values() if x[0] == "included")
    assert statement["excluded"] == len(expected) - statement["included"]
    by_category: Counter[str] = Counter()
    for r in government:
        by_category[expected[r][3] or "uncategorised"] += expected[r][2]
    shown = {s["key"]: s["fen"] for s in statement["by_category"] if s["key"] != "self"}
    assert shown == dict(by_category) and len(shown) == 3
    assert sum(s["fen"] for s in statement["by_district"]) == gov_total + self_total
    assert sum(s["fen"] for s in statement["by_category"]) == gov_total + self_total
    again = await admin.ok("POST", "/api/v1/settlements/run", {"provider_id": provider_id, "month": month})
    assert again["changed"] is False and again["settlement"]["id"] == statement["id"]


async def test_an_emergency_is_the_one_key_services_never_the_elders_quota(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    (caregiver,) = world.caregivers
    elder = world.elders[0]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    await grant(staff, elder, "low_income")
    before = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/entitlement")
    assert before["used"] == 0 and before["remaining"] > 0

    # Her red-button emergency, served: the one-key emergency service pays; her month's quota is untouched.
    rid = await serve(world, operator, caregiver, elder, stay=20, service_type="emergency", priority="emergency")
    served = await operator.ok("GET", f"/api/v1/requests/{rid}")
    assert served["paid_by"] == "emergency" and served["status"] == "completed"
    after = await staff.ok("GET", f"/api/v1/elders/{elder['id']}/entitlement")
    assert (after["used"], after["remaining"]) == (0, before["remaining"])
    (offer,) = await operator.ok("GET", f"/api/v1/requests/{rid}/offers")
    assert "fairness" not in {t["code"] for t in offer["breakdown"]}  # a quota order's term, not an emergency's
    asked = await operator.post(
        "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal", "paid_by": "emergency"}
    )
    assert asked.status_code == 422  # only an emergency is the emergency service's

    # The month's statement totals it apart, at the city's price, under no quota category.
    price = {t["code"]: t for t in await operator.ok("GET", "/api/v1/service-types")}["emergency"]
    assert price["government_price_fen"] > 0
    run = await admin.ok(
        "POST", "/api/v1/settlements/run", {"provider_id": world.provider["id"], "month": this_month()}
    )
    statement = run["settlement"]
    assert (statement["government_fen"], statement["self_fen"]) == (0, 0)
    assert (statement["included"], statement["emergency_fen"]) == (1, price["government_price_fen"])
    assert statement["emergency_yuan"] == price["government_price_yuan"]
    assert statement["by_category"] == [
        {"key": "emergency", "orders": 1, "fen": price["government_price_fen"], "yuan": price["government_price_yuan"]}
    ]
