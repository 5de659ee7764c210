"""Incidents go to the scheme that answers for them; claims move step by step within the policy's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, update

from backend.core.runtime import Runtime
from backend.insurance.models import Claim
from backend.insurance.tasks import claims_overdue
from tests.client import Api, World, Ws
from tests.e2e.test_beds import institution
from tests.e2e.test_insurance import policy_body
from tests.e2e.test_scoring import serve


def just_now() -> str:
    return (datetime.now(UTC) - timedelta(minutes=5)).isoformat()


async def cover(api: Api, scheme: str, insured_type: str, insured_id: int, **limits: Any) -> dict[str, Any]:
    return await api.ok(
        "POST", "/api/v1/insurance/policies", policy_body(scheme, insured_type, insured_id, **limits), 201
    )


async def report(api: Api, elder: dict[str, Any], kind: str = "fall", **extra: Any) -> Any:
    body = {
        "kind": kind,
        "occurred_at": just_now(),
        "description": "老人跌倒，右腕疼痛",
        "elder_id": elder["id"],
        **extra,
    }
    return await api.post("/api/v1/insurance/incidents", body)


async def admit(staff: Api, home: dict[str, Any], elder: dict[str, Any]) -> dict[str, Any]:
    hold = await staff.ok(
        "POST", "/api/v1/bed-holds", {"elder_id": elder["id"], "institution_id": home["id"], "kind": "nursing"}, 201
    )
    return await staff.ok("POST", f"/api/v1/bed-holds/{hold['id']}/admit")


async def admitted(admin: Api, world: World, staff: Api, elder: dict[str, Any]) -> dict[str, Any]:
    home = await institution(admin, world)
    await admin.ok("POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "1", "kind": "nursing"}, 201)
    await admit(staff, home, elder)
    return home


async def test_each_incident_goes_to_the_scheme_that_answers_for_it(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.5,))
    caregiver, at_home = world.caregivers[0], world.elders[0]
    operator = await world.user("operator")
    staff = await world.user("community_staff", community_id=world.community["id"])
    provider_cover = (
        await admin.ok("GET", f"/api/v1/insurance/policies?insured_type=provider&insured_id={world.provider['id']}")
    )[0]
    own_cover = await cover(admin, "elder_accident", "elder", at_home["id"])
    rid = await serve(world, operator, caregiver, at_home)

    # A fall on a home visit: the provider's liability, and the elder's own accident cover alongside.
    made = await report(caregiver["api"], at_home, request_id=rid)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["incident"]["setting"] == "home_visit" and body["incident"]["provider_id"] == world.provider["id"]
    assert {(c["scheme"], c["policy_id"]) for c in body["claims"]} == {
        ("home_care_liability", provider_cover["id"]),
        ("elder_accident", own_cover["id"]),
    }
    liability = next(c for c in body["claims"] if c["scheme"] == "home_care_liability")
    assert liability["status"] == "reported" and liability["facts"]["visit"]["caregiver"]["id"] == caregiver["id"]
    assert liability["facts"]["policy"]["number"] == provider_cover["number"] and liability["due_at"]
    # One id for one person: the claim names the caregiver as the order's history does, by her account.
    history = (await operator.ok("GET", f"/api/v1/requests/{rid}"))["history"]
    accepted = next(h for h in history if h["status"] == "accepted")
    claim = await admin.ok("GET", f"/api/v1/insurance/claims/{liability['id']}")
    assert claim["history"][0]["by"] == accepted["by"] == f"caregiver:{caregiver['user_id']}"
    # Broken property on the visit: the provider's liability only. Someone else's visit cannot be reported by them.
    damage = (await report(caregiver["api"], at_home, kind="property_damage", request_id=rid)).json()
    assert [c["scheme"] for c in damage["claims"]] == ["home_care_liability"]
    colleague = await world.add_caregiver(1.0)
    refused = await report(colleague["api"], at_home, request_id=rid)
    assert refused.status_code == 403

    # A resident of an institution: the institution's liability; no accident cover of their own, so no claim for it.
    resident = await world.add_elder()
    home = await admitted(admin, world, staff, resident)
    home_cover = await cover(admin, "institution_liability", "institution", home["id"])
    inside = (await report(staff, resident, occurred_at=datetime.now(UTC).isoformat())).json()  # after admission
    assert inside["incident"]["setting"] == "institution" and inside["incident"]["institution_id"] == home["id"]
    assert [(c["scheme"], c["policy_id"]) for c in inside["claims"]] == [("institution_liability", home_cover["id"])]
    assert {(f["scheme"], f["policy_id"]) for f in inside["schemes"]} == {
        ("institution_liability", home_cover["id"]),
        ("elder_accident", None),
    }
    # At home with no visit: the elder's own cover only; without it, recorded but nothing to claim.
    alone = (await report(staff, at_home)).json()
    assert alone["incident"]["setting"] == "elsewhere" and [c["scheme"] for c in alone["claims"]] == ["elder_accident"]
    nobody = await world.add_elder()
    bare = (await report(staff, nobody)).json()
    assert bare["claims"] == [] and bare["schemes"] == [
        {"scheme": "elder_accident", "insured_id": nobody["id"], "policy_id": None}
    ]
    future = await staff.post(
        "/api/v1/insurance/incidents",
        {
            "kind": "fall",
            "occurred_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
            "description": "x",
            "elder_id": nobody["id"],
        },
    )
    assert future.status_code == 422


async def test_a_claim_moves_step_by_step_within_the_policys_limits(stack, admin, make_world, runtime: Runtime) -> None:
    world = await make_world(caregivers_km=())
    staff = await world.user("community_staff", community_id=world.community["id"])
    elder = world.elders[0]
    await cover(admin, "elder_accident", "elder", elder["id"], limit_per_event_yuan=5000, limit_per_year_yuan=8000)
    (claim,) = (await report(staff, elder)).json()["claims"]
    cid = claim["id"]

    async def step(to: str, **extra: Any) -> Any:
        return await admin.post(f"/api/v1/insurance/claims/{cid}/advance", {"to": to, **extra})

    skipped = await step("approved", amount_yuan=100)
    assert skipped.status_code == 409 and skipped.json()["error"]["code"] == "illegal_transition"
    assert (await step("documents", note="已收集病历、发票")).status_code == 200
    assert (await step("submitted")).status_code == 200
    over = await step("approved", amount_yuan=6000)
    assert over.status_code == 422 and over.json()["error"]["code"] == "over_limit"
    assert (await step("approved")).json()["error"]["code"] == "amount_needed"
    refused = await step("approved", amount_yuan="4999.999")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "too_precise"
    assert (await admin.ok("GET", f"/api/v1/insurance/claims/{cid}"))["status"] == "submitted"  # nothing changed
    approved = (await step("approved", amount_yuan="4999.50", note="按发票核定")).json()
    assert (approved["approved_fen"], approved["approved_yuan"], approved["paid_yuan"]) == (499950, "4999.50", None)
    over_paid = await step("paid", amount_fen=499951)
    assert over_paid.status_code == 422 and over_paid.json()["error"]["code"] == "over_approved"
    paid = (await step("paid", amount_fen=499950)).json()
    assert paid["status"] == "paid" and paid["due_at"] is None and paid["paid_yuan"] == "4999.50"
    assert [(h["status"], h["by"].split(":")[0]) for h in paid["history"]] == [
        ("reported", "community_staff"),
        ("documents", "admin"),
        ("submitted", "admin"),
        ("approved", "admin"),
        ("paid", "admin"),
    ]
    # A second fall the same year: the year's limit (8,000) leaves 3,000.50, to the fen.
    (second,) = (await report(staff, elder)).json()["claims"]
    for to in ("documents", "submitted"):
        await admin.ok("POST", f"/api/v1/insurance/claims/{second['id']}/advance", {"to": to})
    too_much = await admin.post(
        f"/api/v1/insurance/claims/{second['id']}/advance", {"to": "approved", "amount_yuan": "3000.51"}
    )
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "over_annual_limit"
    assert "8000.00" in too_much.json()["error"]["message"] and "4999.50" in too_much.json()["error"]["message"]
    await admin.ok(
        "POST", f"/api/v1/insurance/claims/{second['id']}/advance", {"to": "approved", "amount_yuan": "3000.50"}
    )

    # A claim left too long at a step is reported once to the area (and the bureau), by the scheduler's sweep.
    (late,) = (await report(staff, elder)).json()["claims"]
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(Claim).where(col(Claim.id) == late["id"]).values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert await claims_overdue(runtime) >= 1
    assert await claims_overdue(runtime) == 0
    listed = await admin.ok("GET", "/api/v1/insurance/claims?overdue=true&limit=500")
    assert late["id"] in [c["id"] for c in listed]
    dashboard = await Ws.connect(stack.base_url, staff.token)
    await dashboard.subscribe(f"community:{world.community['id']}", since=0)
    seen = await dashboard.wait_event("claim.overdue", claim_id=late["id"])
    assert seen["data"]["status"] == "reported"
    await dashboard.close()
    outsider = await world.user("provider_admin", provider_id=world.provider["id"])
    assert (await outsider.get(f"/api/v1/insurance/claims/{cid}")).status_code == 403


async def test_the_bureau_sees_cover_rates_and_claims_of_its_district(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=())  # its provider is covered
    staff = await world.user("community_staff", community_id=world.community["id"])
    district_staff = await world.user("community_staff", district_id=world.district["id"])
    await admin.ok(
        "POST",
        "/api/v1/providers",
        {
            "name": "未投保的服务中心",
            "kind": "home_care",
            "community_ids": [world.community["id"]],
            "service_types": ["meal"],
            "location": world.home,
        },
        201,
    )
    insured_home, bare_home = await institution(admin, world), await institution(admin, world, name="无保险颐养院")
    await cover(admin, "institution_liability", "institution", insured_home["id"])
    old = world.elders[0]  # 81: entitled by age
    await cover(admin, "elder_accident", "elder", old["id"])
    poor = await world.add_elder(born="19600101")
    await staff.ok(
        "POST", f"/api/v1/elders/{poor['id']}/benefits", {"category": "low_income", "valid_from": "2026-01-01"}, 201
    )
    await world.add_elder(born="19600101")  # 66, no category: not counted
    await report(staff, old)

    seen = await district_staff.ok("GET", f"/api/v1/insurance/statistics?district_id={world.district['id']}")
    assert seen["area"] == f"district:{world.district['id']}"
    assert (seen["providers"]["total"], seen["providers"]["covered"], seen["providers"]["rate"]) == (2, 1, 0.5)
    assert (seen["institutions"]["total"], seen["institutions"]["covered"]) == (2, 1)
    assert (seen["elders"]["total"], seen["elders"]["covered"], seen["elders"]["rate"]) == (2, 1, 0.5)
    assert seen["claims"] == [
        {
            "scheme": "elder_accident",
            "status": "reported",
            "count": 1,
            "approved_fen": 0,
            "paid_fen": 0,
            "approved_yuan": "0.00",
            "paid_yuan": "0.00",
        }
    ]
    assert bare_home["id"] != insured_home["id"]
    assert (await staff.get(f"/api/v1/insurance/statistics?district_id={world.district['id']}")).status_code == 403
    city = await admin.ok("GET", "/api/v1/insurance/statistics")
    assert city["area"] == "city" and city["providers"]["total"] >= 2


async def test_an_admission_records_the_institutions_cover_or_tells_the_area_there_is_none(
    stack, admin, make_world
) -> None:
    world = await make_world(caregivers_km=())
    staff = await world.user("community_staff", community_id=world.community["id"])
    dashboard = await Ws.connect(stack.base_url, staff.token)
    await dashboard.subscribe(f"community:{world.community['id']}")
    home = await institution(admin, world)
    await admin.ok("POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "1", "kind": "nursing", "count": 2}, 201)
    uninsured = await admit(staff, home, world.elders[0])
    assert uninsured["liability_policy_id"] is None and "无有效综合责任保险" in uninsured["cover_warning"]
    told = await dashboard.wait_event("insurance.uncovered_admission", admission_id=uninsured["id"])
    assert told["data"]["institution_id"] == home["id"]
    policy = await cover(admin, "institution_liability", "institution", home["id"])
    insured = await admit(staff, home, await world.add_elder())
    assert (insured["liability_policy_id"], insured["cover_warning"]) == (policy["id"], None)
    await dashboard.close()
