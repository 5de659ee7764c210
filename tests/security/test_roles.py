"""Each role stays within what it may do: findings 4, 5, 9 and 12 of the attacker's report, each reproduced."""

from __future__ import annotations

from tests.client import Api, offer_for
from tests.e2e.test_beds import institution
from tests.e2e.test_claims import cover, report
from tests.e2e.test_scoring import order, serve


async def test_a_provider_never_approves_or_pays_its_own_claim(stack, admin, make_world) -> None:
    """Finding 4: only city staff move a claim to approved and paid; the insured provider prepares the papers."""
    world = await make_world()
    operator = await world.user("operator")
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    rid = await serve(world, operator, world.caregivers[0], world.elders[0])
    made = (await report(world.caregivers[0]["api"], world.elders[0], kind="property_damage", request_id=rid)).json()
    (claim,) = made["claims"]
    url = f"/api/v1/insurance/claims/{claim['id']}/advance"
    await boss.ok("POST", url, {"to": "documents", "note": "照片与发票"})
    await boss.ok("POST", url, {"to": "submitted"})
    approve = await boss.post(url, {"to": "approved", "amount_yuan": 3000})
    assert approve.status_code == 403 and approve.json()["error"]["code"] == "city_staff_only"
    assert (await admin.ok("GET", f"/api/v1/insurance/claims/{claim['id']}"))["status"] == "submitted"
    await admin.ok("POST", url, {"to": "approved", "amount_yuan": 3000})
    pay = await boss.post(url, {"to": "paid", "amount_yuan": 3000})
    assert pay.status_code == 403 and pay.json()["error"]["code"] == "city_staff_only"
    assert (await operator.ok("POST", url, {"to": "paid", "amount_yuan": 3000}))["status"] == "paid"


async def test_a_provider_reports_incidents_only_on_visits_its_own_caregiver_served(stack, admin, make_world) -> None:
    """Finding 5: an offer once made to a rival's caregiver gives no right to the order or to its insurance."""
    world = await make_world(caregivers_km=(0.4,))
    rival_provider = await admin.ok(
        "POST",
        "/api/v1/providers",
        {
            "name": "竞争对手服务社",
            "kind": "home_care",
            "community_ids": [world.community["id"]],
            "service_types": ["meal"],
            "location": world.home,
        },
        201,
    )
    await world.insure(rival_provider["id"])
    rival_caregiver = await world.add_caregiver(0.1, provider_id=rival_provider["id"])
    rival = await world.user("provider_admin", provider_id=rival_provider["id"])
    operator = await world.user("operator")
    elder = world.elders[0]
    rid = await order(operator, elder)
    offer = await offer_for(rival_caregiver["api"], rid)  # the nearest: the rival's caregiver is offered first
    assert (await rival.get(f"/api/v1/requests/{rid}")).status_code == 200  # while the offer stands
    await rival_caregiver["api"].ok("POST", f"/mobile/v1/offers/{offer['id']}/decline", {"reason": "too_far"})
    own = world.caregivers[0]
    accepted = await offer_for(own["api"], rid)
    await own["api"].ok("POST", f"/mobile/v1/offers/{accepted['id']}/accept")
    for step, body in (("en-route", None), ("check-in", world.home), ("check-out", {})):
        await own["api"].ok("POST", f"/mobile/v1/requests/{rid}/{step}", body)
    await cover(admin, "elder_accident", "elder", elder["id"])

    # The declined offer no longer opens the order, to the rival's admin or to the caregiver who declined it.
    assert (await rival.get(f"/api/v1/requests/{rid}")).status_code == 403
    assert (await rival_caregiver["api"].get(f"/api/v1/requests/{rid}")).status_code == 403
    refused = await report(rival, elder, request_id=rid)
    assert refused.status_code == 403, refused.text
    policies = await admin.ok(
        "GET", f"/api/v1/insurance/policies?insured_type=provider&insured_id={rival_provider['id']}"
    )
    claims = await admin.ok("GET", "/api/v1/insurance/claims?limit=500")
    assert not [c for c in claims if c["policy_id"] in {p["id"] for p in policies}]
    # Its own provider's admin reports it, against its own cover.
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    made = await report(boss, elder, request_id=rid)
    assert made.status_code == 201, made.text
    assert made.json()["incident"]["provider_id"] == world.provider["id"]
    # An order nobody visited yet cannot carry a home-visit incident.
    fresh = await order(operator, world.elders[0])
    early = await report(boss, elder, request_id=fresh)
    assert early.status_code in (403, 422)


async def test_a_provider_holds_beds_only_for_elders_referred_to_it(stack, admin, make_world) -> None:
    """Finding 9: a provider's admin cannot block an elder anywhere in the city by holding a bed for her."""
    world, elsewhere = await make_world(caregivers_km=()), await make_world(caregivers_km=())
    home = await institution(admin, world)
    await admin.ok(
        "POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "1", "kind": "ordinary", "count": 3}, 201
    )
    boss = await world.user("provider_admin", provider_id=world.provider["id"])
    stranger = elsewhere.elders[0]  # lives in another district, never referred here
    body = {"elder_id": stranger["id"], "institution_id": home["id"], "kind": "ordinary"}
    refused = await boss.post("/api/v1/bed-holds", body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_referred"
    joined = await boss.post("/api/v1/waiting-list", {**body, "kind": "nursing"})
    assert joined.status_code == 403  # nor can it put her on its own list to make her "referred"
    # Her community's staff refer her (the institution's waiting list, for a nursing bed it has none of yet).
    staff = await elsewhere.user("community_staff", community_id=elsewhere.community["id"])
    entry = await staff.ok("POST", "/api/v1/waiting-list", {**body, "kind": "nursing"}, 201)
    assert entry["status"] == "waiting"
    held = await boss.ok("POST", "/api/v1/bed-holds", body, 201)
    assert held["elder_id"] == stranger["id"]
    # The institution still manages what it holds: it can let the bed go again.
    assert (await boss.ok("POST", f"/api/v1/bed-holds/{held['id']}/release"))["status"] == "released"


async def test_family_is_read_only_unless_the_elder_lets_them_act(stack, admin, make_world) -> None:
    """Finding 12: a family account follows the file and the orders; acting for the elder is a consent of its own."""
    world = await make_world()
    elder = world.elders[0]
    staff = await world.user("community_staff", community_id=world.community["id"])
    member = await staff.ok(
        "POST",
        f"/api/v1/elders/{elder['id']}/family",
        {
            "name": "王丽",
            "phone": "13912345678",
            "relation": "女儿",
            "username": f"fam_{elder['id']}",
            "password": "family-pass-1",
        },
        201,
    )
    assert member["act_for_elder"] is False
    family = await Api.login(stack.base_url, f"fam_{elder['id']}", "family-pass-1")
    await staff.ok(
        "POST", f"/api/v1/elders/{elder['id']}/benefits", {"category": "low_income", "valid_from": "2026-01-01"}, 201
    )
    await staff.ok(
        "POST",
        "/api/v1/devices",
        {"elder_id": elder["id"], "serial": f"FAM-{elder['id']}", "model": "YJT", "sim": "13800001111"},
        201,
    )

    assert (await family.get(f"/api/v1/elders/{elder['id']}")).status_code == 200  # reads her file
    wishes = await family.http.patch(f"/api/v1/elders/{elder['id']}", json={"same_gender_care": True})
    assert wishes.status_code == 403
    block = await family.post(
        f"/api/v1/elders/{elder['id']}/blocked-caregivers", {"caregiver_id": world.caregivers[0]["id"]}
    )
    assert block.status_code == 403
    assert (await family.get(f"/api/v1/elders/{elder['id']}/benefits")).status_code == 403  # 低保 status
    assert (await family.get(f"/api/v1/devices?elder_id={elder['id']}")).status_code == 403  # the SIM
    assert (await family.get(f"/api/v1/elders/{elder['id']}/entitlement")).status_code == 403
    grant = await family.http.patch(f"/api/v1/elders/{elder['id']}/family/{member['id']}", json={"act_for_elder": True})
    assert grant.status_code == 403  # a family member does not grant themself more
    order_refused = await family.post(
        "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal", "paid_by": "self"}
    )
    assert order_refused.status_code == 403

    # The elder's community staff record her consent: now they may act for her, still not read her benefits.
    await staff.ok("PATCH", f"/api/v1/elders/{elder['id']}/family/{member['id']}", {"act_for_elder": True})
    changed = await family.http.patch(f"/api/v1/elders/{elder['id']}", json={"same_gender_care": True})
    assert changed.status_code == 200 and changed.json()["same_gender_care"] is True
    made = await family.ok(
        "POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal", "paid_by": "self"}, 201
    )
    assert (await family.ok("POST", f"/api/v1/requests/{made['id']}/cancel", {"reason": "改天再约"}))[
        "status"
    ] == "cancelled"
    assert (await family.get(f"/api/v1/elders/{elder['id']}/benefits")).status_code == 403
    nulled = await staff.http.patch(f"/api/v1/elders/{elder['id']}/family/{member['id']}", json={"see_orders": None})
    assert nulled.status_code == 422  # was a 500
    await family.close()
