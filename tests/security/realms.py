"""Two complete, separate worlds for the access matrix: in each, one of every kind of thing the API names in a
path (an elder, an order served and one offered, a bed held and one occupied, a claim, a statement, …) and an
account of every role scoped to it. Requests from one realm's accounts to the other realm's things must be
refused; to their own, let through."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backend.core.i18n import LOCAL_TZ
from tests.client import PASSWORD, Api, World, offer_for
from tests.e2e.test_scoring import order
from tests.e2e.test_visit_proof import png, upload

# The least trusted first: what a refused call would have changed is still there for the next role to be refused.
ROLES = ("family", "elder", "caregiver", "provider_admin", "community_staff", "operator", "admin")


@dataclass
class Realm:
    world: World
    ids: dict[str, Any] = field(default_factory=dict)  # path parameter → this realm's value
    apis: dict[str, Api] = field(default_factory=dict)  # role → an account of this realm


async def _account(admin: Api, world: World, role: str, **scope: Any) -> Api:
    username = f"m_{role}_{uuid.uuid4().hex[:8]}"
    await admin.ok("POST", "/api/v1/users", {"username": username, "password": PASSWORD, "role": role, **scope}, 201)
    return await Api.login(world.base_url, username)


async def build_realm(base_url: str, admin: Api, operator: Api) -> Realm:
    """A world with one of everything, built through the API as its staff would."""
    world = await World.build(base_url, admin, caregivers_km=(0.5,))
    realm = Realm(world)
    ids = realm.ids
    elder, caregiver = world.elders[0], world.caregivers[0]
    staff = await _account(admin, world, "community_staff", community_id=world.community["id"])
    boss = await _account(admin, world, "provider_admin", provider_id=world.provider["id"])
    herself = await _account(admin, world, "elder", elder_id=elder["id"])
    tag = uuid.uuid4().hex[:8]
    member = await staff.ok(
        "POST",
        f"/api/v1/elders/{elder['id']}/family",
        {
            "name": "王丽",
            "phone": "13912345678",
            "relation": "女儿",
            "username": f"m_family_{tag}",
            "password": PASSWORD,
        },
        201,
    )
    family = await Api.login(base_url, f"m_family_{tag}")
    realm.apis = {
        "admin": admin,
        "operator": operator,
        "community_staff": staff,
        "provider_admin": boss,
        "caregiver": caregiver["api"],
        "elder": herself,
        "family": family,
    }
    today = datetime.now(LOCAL_TZ).date()
    ids |= {
        "elder_id": elder["id"],
        "caregiver_id": caregiver["id"],
        "provider_id": world.provider["id"],
        "member_id": member["id"],
        "community_id": world.community["id"],
        "street_id": world.street["id"],
        "district_id": world.district["id"],
        "code": "meal",
        "phone": elder["raw_phone"],
        "category": "low_income",
        "today": today.isoformat(),
        "month": today.strftime("%Y-%m"),
        "day": "2099-06-01",  # a calendar entry the bureau may make and drop, on a day no other test plans
    }
    ids["benefit_id"] = (
        await staff.ok(
            "POST",
            f"/api/v1/elders/{elder['id']}/benefits",
            {"category": "low_income", "valid_from": "2026-01-01"},
            201,
        )
    )["id"]
    ids["device_id"] = (
        await staff.ok("POST", "/api/v1/devices", {"elder_id": elder["id"], "serial": f"M-{tag}", "model": "x"}, 201)
    )["id"]
    ids["plan_id"] = (
        await staff.ok(
            "POST",
            f"/api/v1/elders/{elder['id']}/plans",
            {"provider_id": world.provider["id"], "service_type": "meal", "weekdays": [1], "time": "11:00"},
            201,
        )
    )["id"]

    # Beds: an institution of the realm's provider, a bed held for one elder, another elder admitted, a third
    # waiting (referred by the area's staff).
    home = await admin.ok(
        "POST",
        "/api/v1/institutions",
        {
            "name": f"颐养院{tag}",
            "operator_kind": "social",
            "community_id": world.community["id"],
            "location": world.home,
            "licence_no": f"M-{tag}",
            "provider_id": world.provider["id"],
        },
        201,
    )
    beds = await admin.ok(
        "POST", f"/api/v1/institutions/{home['id']}/beds", {"room": "1", "kind": "nursing", "count": 4}, 201
    )
    ids |= {"institution_id": home["id"], "bed_id": beds[-1]["id"]}
    held, admitted, waiting = [await world.add_elder() for _ in range(3)]
    hold = await staff.ok(
        "POST", "/api/v1/bed-holds", {"elder_id": held["id"], "institution_id": home["id"], "kind": "nursing"}, 201
    )
    ids["hold_id"] = hold["id"]
    other = await staff.ok(
        "POST",
        "/api/v1/bed-holds",
        {"elder_id": admitted["id"], "institution_id": home["id"], "kind": "nursing"},
        201,
    )
    ids["admission_id"] = (await staff.ok("POST", f"/api/v1/bed-holds/{other['id']}/admit"))["id"]
    ids["waiting_elder_id"] = waiting["id"]
    ids["entry_id"] = (
        await staff.ok(
            "POST",
            "/api/v1/waiting-list",
            {"elder_id": waiting["id"], "institution_id": home["id"], "kind": "ordinary"},
            201,
        )
    )["id"]

    # Day care: the provider's centre, the elder booked for tomorrow.
    ids["centre_id"] = (
        await admin.ok(
            "POST",
            "/api/v1/day-care/centres",
            {"provider_id": world.provider["id"], "community_id": world.community["id"], "places": 10},
            201,
        )
    )["id"]
    tomorrow = (today + timedelta(days=1)).isoformat()
    ids |= {
        "tomorrow": tomorrow,
        "next_year": (today + timedelta(days=365)).isoformat(),
        "now": (datetime.now(LOCAL_TZ) - timedelta(minutes=1)).isoformat(),
    }
    (booking,) = await staff.ok(
        "POST",
        "/api/v1/day-care/bookings",
        {"centre_id": ids["centre_id"], "elder_id": elder["id"], "days": [tomorrow]},
        201,
    )
    ids["booking_id"] = booking["id"]

    # An order served (a visit with an arrival photo, a claim, a complaint, a callback, a correction) and one still
    # offered.
    done = await order(operator, elder)
    phone = caregiver["api"]
    await phone.ok("POST", f"/mobile/v1/offers/{(await offer_for(phone, done))['id']}/accept")
    taken = await upload(phone, done, "arrival_photo", png())
    assert taken.status_code == 201, taken.text
    ids["proof_id"] = taken.json()["id"]
    for step, body in (("en-route", {}), ("check-in", world.home), ("check-out", {})):
        await phone.ok("POST", f"/mobile/v1/requests/{done}/{step}", body)
    ids["request_id"] = done
    incident = await caregiver["api"].ok(
        "POST",
        "/api/v1/insurance/incidents",
        {
            "kind": "property_damage",
            "occurred_at": (datetime.now(LOCAL_TZ) - timedelta(minutes=1)).isoformat(),
            "description": "打碎花瓶",
            "elder_id": elder["id"],
            "request_id": done,
        },
        201,
    )
    ids["claim_id"] = incident["claims"][0]["id"]
    ids["policy_id"] = incident["claims"][0]["policy_id"]
    ids["complaint_id"] = (await staff.ok("POST", f"/api/v1/requests/{done}/complaints", {"text": "态度不好"}, 201))[
        "id"
    ]
    calls = await staff.ok("GET", f"/api/v1/follow-ups?community_id={world.community['id']}")
    ids["follow_up_id"] = next(c["id"] for c in calls if c.get("request_id") == done)
    ids["correction_id"] = (
        await boss.ok(
            "POST",
            f"/api/v1/requests/{done}/visit/corrections",
            {
                "reason_code": "forgot_checkout",
                "comment": "忘记签退",
                "checkout_at": datetime.now(LOCAL_TZ).isoformat(),
            },
            201,
        )
    )["id"]
    ids["settlement_id"] = (
        await admin.ok("POST", "/api/v1/settlements/run", {"provider_id": world.provider["id"], "month": ids["month"]})
    )["settlement"]["id"]
    offered = await order(operator, await world.add_elder())
    ids["offer_id"] = (await offer_for(caregiver["api"], offered))["id"]
    ids["user_id"] = (
        await admin.ok(
            "POST", "/api/v1/users", {"username": f"m_spare_{tag}", "password": PASSWORD, "role": "operator"}, 201
        )
    )["id"]
    return realm
