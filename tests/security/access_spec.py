"""Who may call what: one rule per operation of the API, checked by test_matrix against the running platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ADMIN = frozenset({"admin"})
CITY = frozenset({"admin", "operator"})
STAFF = CITY | {"community_staff"}
ALL = frozenset({"admin", "operator", "community_staff", "provider_admin", "caregiver", "elder", "family"})


def R(codes: str) -> frozenset[str]:
    """Roles by letter: A admin, O operator, S community staff, P provider admin, C caregiver, E elder, F family."""
    names = {"A": "admin", "O": "operator", "S": "community_staff", "P": "provider_admin", "C": "caregiver"}
    names |= {"E": "elder", "F": "family"}
    return frozenset(names[c] for c in codes)


HERE = {"lat": 31.31, "lon": 120.62}
CITYWIDE = CITY  # their realm is the whole city: nothing is "the other realm's" to them


@dataclass(frozen=True)
class Rule:
    """Who may call an operation on their own realm's things (roles); whether a realm's account is refused
    the other realm's (scoped); the query and body to call it with ({param} from the realm); auth:
    bearer, public or device; skip: why the generic run leaves it out (tested elsewhere)."""

    roles: frozenset[str]
    scoped: bool = True
    query: str = ""
    body: Any = None
    auth: str = "bearer"
    skip: str = ""


SPEC: dict[str, Rule] = {
    # Open doors: health, sign-in, and the one-key devices (their own credentials, never a user's token).
    "GET /healthz": Rule(ALL, auth="public"),
    "GET /readyz": Rule(ALL, auth="public"),
    "GET /metrics": Rule(ALL, auth="public"),  # open unless ELDERCARE_METRICS_TOKEN is set (test_metrics)
    "POST /api/v1/auth/token": Rule(ALL, auth="public"),
    "POST /api/v1/devices/alarms": Rule(ALL, auth="device"),
    # One's own account.
    "POST /api/v1/auth/refresh": Rule(ALL, scoped=False),
    "POST /api/v1/auth/logout": Rule(ALL, scoped=False, skip="ends the sign-in: test_sessions"),
    "GET /api/v1/users/me": Rule(ALL, scoped=False),
    "POST /api/v1/users/me/password": Rule(ALL, scoped=False),
    "POST /api/v1/users": Rule(ADMIN, scoped=False),
    "PATCH /api/v1/users/{user_id}": Rule(ADMIN, scoped=False),
    # The administrative tree and reference data: everyone reads, admins change.
    "GET /api/v1/districts": Rule(ALL, scoped=False),
    "POST /api/v1/districts": Rule(ADMIN, scoped=False),
    "GET /api/v1/streets": Rule(ALL, scoped=False, query="district_id={district_id}"),
    "POST /api/v1/streets": Rule(ADMIN, scoped=False),
    "GET /api/v1/communities": Rule(ALL, scoped=False, query="street_id={street_id}"),
    "POST /api/v1/communities": Rule(ADMIN, scoped=False),
    "GET /api/v1/service-types": Rule(ALL, scoped=False),
    "PUT /api/v1/service-types/{code}/government-price": Rule(ADMIN, scoped=False),
    "PUT /api/v1/service-types/{code}/proof": Rule(ADMIN, scoped=False),  # no body: refused 422, meal unchanged
    "GET /api/v1/benefit-categories": Rule(ALL, scoped=False),
    "POST /api/v1/benefit-categories": Rule(
        ADMIN,
        scoped=False,
        body={"code": "c{unique}", "name_zh": "测试", "name_en": "Test", "orders_per_month": 1},
    ),
    "PATCH /api/v1/benefit-categories/{code}": Rule(ADMIN, scoped=False),
    # The public holiday calendar (法定节假日与调休): staff read it, the bureau enters a year's arrangement.
    "GET /api/v1/holidays": Rule(STAFF, scoped=False, query="year=2027"),
    "PUT /api/v1/holidays/{day}": Rule(ADMIN, scoped=False, body={"kind": "holiday", "name_zh": "测试"}),
    "DELETE /api/v1/holidays/{day}": Rule(ADMIN, scoped=False),  # after the PUT above: drops its entry
    "GET /api/v1/bed-kinds": Rule(ALL, scoped=False),
    "POST /api/v1/bed-kinds": Rule(ADMIN, scoped=False, body={"code": "k{unique}", "name_zh": "测", "name_en": "T"}),
    # The health system's FHIR export: as the records themselves are read; Bundles for an area's staff.
    "GET /api/v1/fhir/Patient/{elder_id}": Rule(R("AOSEF")),
    "GET /api/v1/fhir/Practitioner/{caregiver_id}": Rule(R("AOSPC")),
    "GET /api/v1/fhir/Organization/{provider_id}": Rule(ALL, scoped=False),
    "GET /api/v1/fhir/ServiceRequest": Rule(STAFF, scoped=False, query="month=2026-12"),  # each sees their area's
    "GET /api/v1/fhir/Task": Rule(STAFF, scoped=False, query="month=2026-12"),
    "GET /api/v1/fhir/Encounter": Rule(STAFF, scoped=False, query="month=2026-12"),
    # The audit trail.
    "GET /api/v1/audit-log": Rule(ADMIN, scoped=False),
    "GET /api/v1/elders/{elder_id}/access-log": Rule(R("AE")),
    # Elders' files.
    "POST /api/v1/elders": Rule(
        STAFF,
        body={
            "name": "新老人",
            "id_number": "{new_id_number}",
            "phone": "{new_phone}",
            "community_id": "{community_id}",
            "address": "x",
            "location": HERE,
        },
    ),
    "GET /api/v1/elders": Rule(STAFF, scoped=False, query="phone={phone}"),  # her area's elders only: [] elsewhere
    "GET /api/v1/elders/{elder_id}": Rule(R("AOSEF")),
    "PATCH /api/v1/elders/{elder_id}": Rule(R("AOSE")),
    "GET /api/v1/elders/{elder_id}/blocked-caregivers": Rule(R("AOSEF")),
    "POST /api/v1/elders/{elder_id}/blocked-caregivers": Rule(R("AOSE")),
    "DELETE /api/v1/elders/{elder_id}/blocked-caregivers/{caregiver_id}": Rule(R("AOSE")),
    "GET /api/v1/elders/{elder_id}/benefits": Rule(R("AOSE")),
    "POST /api/v1/elders/{elder_id}/benefits": Rule(STAFF, body={"category": "age_80", "valid_from": "{today}"}),
    "POST /api/v1/elders/{elder_id}/benefits/{benefit_id}/end": Rule(
        STAFF, body={"valid_to": "{today}", "reason": "复核"}
    ),
    "GET /api/v1/elders/{elder_id}/entitlement": Rule(R("AOSE")),
    "GET /api/v1/elders/{elder_id}/menu": Rule(R("AOSE")),  # family only with act_for_elder (not in the realm)
    "POST /api/v1/elders/{elder_id}/family": Rule(
        R("AOSE"), body={"name": "亲属", "phone": "{new_phone}", "relation": "子女"}
    ),
    "GET /api/v1/elders/{elder_id}/family": Rule(R("AOSEF")),
    "PATCH /api/v1/elders/{elder_id}/family/{member_id}": Rule(R("AOSE")),
    "GET /api/v1/elders/{elder_id}/notifications": Rule(R("AOSEF")),
    "GET /api/v1/family/elders": Rule(R("F"), scoped=False),  # the elders who let this account follow them
    "POST /api/v1/elders/{elder_id}/plans": Rule(STAFF),
    "GET /api/v1/elders/{elder_id}/plans": Rule(R("AOSEF")),
    "POST /api/v1/plans/{plan_id}/end": Rule(STAFF),
    "POST /api/v1/plans/generate": Rule(CITY, scoped=False),
    "POST /api/v1/plans/plan-day": Rule(CITY, scoped=False),
    # Providers and caregivers.
    "POST /api/v1/providers": Rule(ADMIN, scoped=False),
    "GET /api/v1/providers/{provider_id}": Rule(ALL, scoped=False),
    "GET /api/v1/providers/{provider_id}/rates": Rule(ALL, scoped=False),
    "PUT /api/v1/providers/{provider_id}/rates": Rule(R("AP"), body=[{"service_type": "meal", "price_yuan": 30}]),
    "POST /api/v1/caregivers": Rule(
        R("AP"),
        body={
            "provider_id": "{provider_id}",
            "name": "新护理员",
            "phone": "{new_phone}",
            "username": "cg{unique}",
            "password": "a-long-password-1",
            "location": HERE,
        },
    ),
    "GET /api/v1/caregivers/{caregiver_id}": Rule(R("AOSPC")),
    "PATCH /api/v1/caregivers/{caregiver_id}": Rule(R("AP"), body={"languages": ["mandarin"]}),  # as registered
    "GET /api/v1/caregivers/{caregiver_id}/calendar": Rule(R("AOSPC")),
    "GET /api/v1/caregivers/{caregiver_id}/shifts": Rule(R("AOSPC")),
    "PUT /api/v1/caregivers/{caregiver_id}/shifts": Rule(R("AP"), body=[]),
    "GET /api/v1/caregivers/{caregiver_id}/roster": Rule(R("AOSPC")),
    "PUT /api/v1/caregivers/{caregiver_id}/roster": Rule(R("AP"), body={"shifts": []}),
    "POST /api/v1/caregivers/{caregiver_id}/absence": Rule(R("AOP")),
    "GET /api/v1/dispatch/fairness": Rule(CITY, scoped=False),
    # Work orders.
    "POST /api/v1/requests": Rule(
        R("AOSE"), body={"elder_id": "{elder_id}", "service_type": "meal", "paid_by": "self"}
    ),
    "GET /api/v1/requests": Rule(ALL, scoped=False, query="community_id={community_id}"),  # each sees their own
    "GET /api/v1/requests/{request_id}": Rule(ALL),
    "POST /api/v1/requests/{request_id}/cancel": Rule(R("AOSE")),
    "POST /api/v1/requests/{request_id}/redispatch": Rule(CITY),
    "POST /api/v1/requests/{request_id}/assign": Rule(CITY),
    "GET /api/v1/requests/{request_id}/candidates": Rule(STAFF),
    "GET /api/v1/requests/{request_id}/offers": Rule(STAFF),
    "GET /api/v1/requests/{request_id}/nearby-caregivers": Rule(STAFF),
    "POST /api/v1/requests/{request_id}/rating": Rule(ALL),
    "GET /api/v1/requests/{request_id}/ladder": Rule(ALL),
    # Staff, the caregiver on the order, and her family (once the ladder has reached them: 409 before, and here).
    "POST /api/v1/requests/{request_id}/ladder/act": Rule(R("AOSCF")),
    "GET /api/v1/requests/{request_id}/coming": Rule(ALL),  # whoever sees the order; numbers by the one rule
    "POST /api/v1/requests/{request_id}/complaints": Rule(R("AOSEF"), body={"text": "上门迟到"}),
    "GET /api/v1/requests/{request_id}/visit/corrections": Rule(ALL),
    # The visit's photos and signatures: supervisors and the caregiver who took them; never the elder's family.
    "GET /api/v1/requests/{request_id}/proofs": Rule(R("AOSPC")),
    "GET /api/v1/requests/{request_id}/proofs/{proof_id}/content": Rule(R("AOSPC")),
    "POST /api/v1/requests/{request_id}/visit/corrections": Rule(  # the caregiver who visited, their provider, the city
        R("AOPC"), body={"reason_code": "forgot_checkout", "comment": "忘记签退"}
    ),
    # After the visit.
    "GET /api/v1/complaints": Rule(R("AOP"), scoped=False, query="provider_id={provider_id}"),  # a provider: its own
    "GET /api/v1/complaints/{complaint_id}": Rule(ALL),
    "POST /api/v1/complaints/{complaint_id}/answer": Rule(R("P"), body={"text": "已整改"}),  # the provider answers
    "POST /api/v1/complaints/{complaint_id}/resolve": Rule(CITY, body={"text": "已办结"}),
    "GET /api/v1/follow-ups": Rule(STAFF, query="community_id={community_id}"),
    "POST /api/v1/follow-ups/{follow_up_id}/done": Rule(STAFF, body={"outcome": "已回访"}),
    "GET /api/v1/visit-corrections": Rule(CITY, scoped=False),
    "POST /api/v1/visit-corrections/{correction_id}/approve": Rule(CITY),
    "POST /api/v1/visit-corrections/{correction_id}/reject": Rule(CITY),
    # Beds and day places.
    "POST /api/v1/institutions": Rule(
        R("AP"),
        body={
            "name": "新机构",
            "operator_kind": "social",
            "community_id": "{community_id}",
            "location": HERE,
            "licence_no": "L{unique}",
            "provider_id": "{provider_id}",
        },
    ),
    "GET /api/v1/institutions": Rule(STAFF, query="community_id={community_id}"),
    "GET /api/v1/institutions/{institution_id}": Rule(ALL, scoped=False),  # a home's name and counts are public
    "GET /api/v1/institutions/{institution_id}/capacity": Rule(ALL, scoped=False),
    "POST /api/v1/institutions/{institution_id}/beds": Rule(R("AP"), body={"room": "9", "kind": "nursing"}),
    "GET /api/v1/capacity/summary": Rule(STAFF, query="community_id={community_id}"),
    "GET /api/v1/capacity/history": Rule(STAFF, query="community_id={community_id}&start={today}&end={today}"),
    "GET /api/v1/beds/search": Rule(ALL, scoped=False, query="kind=nursing&lat=31.31&lon=120.62"),
    "POST /api/v1/beds/{bed_id}/out-of-service": Rule(R("AP")),
    "POST /api/v1/beds/{bed_id}/in-service": Rule(R("AP")),
    "POST /api/v1/bed-holds": Rule(
        R("AOSP"), body={"elder_id": "{waiting_elder_id}", "institution_id": "{institution_id}", "kind": "nursing"}
    ),
    "GET /api/v1/bed-holds/{hold_id}": Rule(R("AOSP")),
    "POST /api/v1/bed-holds/{hold_id}/admit": Rule(R("AOSP")),
    "POST /api/v1/bed-holds/{hold_id}/release": Rule(R("AOSP")),
    "GET /api/v1/admissions/{admission_id}": Rule(R("AOSP")),
    "POST /api/v1/admissions/{admission_id}/transfer": Rule(R("AOSP"), body={"bed_id": "{bed_id}"}),
    "POST /api/v1/admissions/{admission_id}/discharge": Rule(R("AOSP")),
    "POST /api/v1/waiting-list": Rule(
        STAFF, body={"elder_id": "{elder_id}", "institution_id": "{institution_id}", "kind": "ordinary"}
    ),
    "GET /api/v1/waiting-list": Rule(R("AOSP"), scoped=False, query="institution_id={institution_id}"),
    "POST /api/v1/waiting-list/{entry_id}/leave": Rule(STAFF),
    "POST /api/v1/day-care/centres": Rule(
        R("AP"), body={"provider_id": "{provider_id}", "community_id": "{community_id}", "places": 5}
    ),
    "GET /api/v1/day-care/centres": Rule(STAFF, query="community_id={community_id}"),
    "GET /api/v1/day-care/centres/{centre_id}/days": Rule(ALL, scoped=False, query="start={today}&end={today}"),
    "GET /api/v1/day-care/centres/{centre_id}/bookings": Rule(R("AOSP")),
    "GET /api/v1/day-care/bookings": Rule(R("AOSEF"), query="elder_id={elder_id}&start={today}&end={today}"),
    "POST /api/v1/day-care/bookings": Rule(
        R("AOSP"), body={"centre_id": "{centre_id}", "elder_id": "{elder_id}", "days": ["{tomorrow}"]}
    ),
    "POST /api/v1/day-care/bookings/{booking_id}/cancel": Rule(R("AOSP")),
    "POST /api/v1/day-care/bookings/{booking_id}/attend": Rule(R("AOSP")),
    # One-key devices.
    "POST /api/v1/devices": Rule(STAFF, body={"elder_id": "{elder_id}", "serial": "S{unique}", "model": "x"}),
    "GET /api/v1/devices": Rule(R("AOSE"), query="elder_id={elder_id}"),
    "GET /api/v1/devices/dormant": Rule(CITY, query="district_id={district_id}"),
    "GET /api/v1/devices/{device_id}": Rule(R("AOSE")),
    "POST /api/v1/devices/{device_id}/deactivate": Rule(STAFF),
    # Insurance.
    "POST /api/v1/insurance/policies": Rule(
        R("AOP"),
        body={
            "scheme": "home_care_liability",
            "insured_type": "provider",
            "insured_id": "{provider_id}",
            "insurer": "人保苏州",
            "number": "P{unique}",
            "starts_on": "{today}",
            "ends_on": "{next_year}",
            "limit_per_event": 1000,
            "limit_per_year": 10000,
            "payer": "provider",
        },
    ),
    "GET /api/v1/insurance/policies": Rule(
        R("AOP"), scoped=False, query="insured_type=provider&insured_id={provider_id}"
    ),
    "GET /api/v1/insurance/policies/{policy_id}": Rule(R("AOP")),
    "POST /api/v1/insurance/policies/{policy_id}/cancel": Rule(R("AOP"), body={"reason": "登记有误"}),
    "POST /api/v1/insurance/policies/import": Rule(CITY, scoped=False),
    "GET /api/v1/insurance/reminders": Rule(R("AOP"), scoped=False),
    "POST /api/v1/insurance/incidents": Rule(
        R("AOSPC"),
        body={
            "kind": "property_damage",
            "occurred_at": "{now}",
            "description": "打碎花瓶",
            "elder_id": "{elder_id}",
            "request_id": "{request_id}",
        },
    ),
    "GET /api/v1/insurance/claims": Rule(R("AOP"), scoped=False),
    "GET /api/v1/insurance/claims/{claim_id}": Rule(R("AOP")),
    "POST /api/v1/insurance/claims/{claim_id}/advance": Rule(R("AOP"), body={"to": "documents"}),
    "GET /api/v1/insurance/statistics": Rule(CITY, query="district_id={district_id}"),
    # Dashboards.
    "GET /api/v1/dashboard/queue": Rule(STAFF, query="community_id={community_id}"),
    "GET /api/v1/dashboard/caregivers": Rule(STAFF, query="community_id={community_id}"),
    "GET /api/v1/dashboard/figures": Rule(STAFF, query="community_id={community_id}"),
    "GET /api/v1/dashboard/city": Rule(CITY, scoped=False),
    "GET /api/v1/dashboard/city/export": Rule(CITY, scoped=False),
    # Settlement.
    "POST /api/v1/settlements/run": Rule(R("AOP"), body={"provider_id": "{provider_id}", "month": "{month}"}),
    "POST /api/v1/settlements/run-month": Rule(ADMIN, scoped=False),
    "GET /api/v1/settlements": Rule(R("AOP"), scoped=False, query="provider_id={provider_id}"),
    "GET /api/v1/settlements/{settlement_id}": Rule(R("AOP")),
    "GET /api/v1/settlements/{settlement_id}/lines": Rule(R("AOP")),
    "GET /api/v1/settlements/{settlement_id}/export": Rule(R("AOP")),
    "POST /api/v1/settlements/{settlement_id}/confirm": Rule(R("AP")),  # the provider signs its statement
    "POST /api/v1/settlements/{settlement_id}/approve": Rule(ADMIN),  # the bureau approves and pays
    "POST /api/v1/settlements/{settlement_id}/pay": Rule(ADMIN),
    "PUT /api/v1/subsidy/budgets": Rule(
        ADMIN, scoped=False, body={"district_id": "{district_id}", "month": "{month}", "budget_yuan": 1000}
    ),
    "GET /api/v1/subsidy": Rule(CITY, scoped=False, query="month={month}&district_id={district_id}"),
    # The caregiver's phone.
    "GET /mobile/v1/me": Rule(R("C"), scoped=False),
    "POST /mobile/v1/shift": Rule(R("C"), scoped=False),
    "POST /mobile/v1/absence": Rule(R("C"), scoped=False),
    "POST /mobile/v1/location": Rule(R("C"), scoped=False),
    "GET /mobile/v1/offers": Rule(R("C"), scoped=False),
    "POST /mobile/v1/offers/{offer_id}/accept": Rule(R("C")),
    "POST /mobile/v1/offers/{offer_id}/decline": Rule(R("C")),
    "GET /mobile/v1/requests": Rule(R("C"), scoped=False),
    "GET /mobile/v1/requests/{request_id}": Rule(R("C")),
    "GET /mobile/v1/today": Rule(R("C"), scoped=False),
    "POST /mobile/v1/requests/{request_id}/en-route": Rule(R("C")),
    "POST /mobile/v1/requests/{request_id}/check-in": Rule(R("C"), body=HERE),
    "POST /mobile/v1/requests/{request_id}/check-out": Rule(R("C")),
    "POST /mobile/v1/requests/{request_id}/proofs": Rule(
        R("C"), skip="a multipart upload the generic caller cannot send: tests/e2e/test_visit_proof.py"
    ),
    "POST /mobile/v1/requests/{request_id}/confirmation-code": Rule(R("C")),  # the served order: 409, no SMS
    # Last: it opens an emergency for the realm's elder (and starts its ladder), which nothing above should meet.
    # Whoever may act for her: herself, staff of her area, family with act_for_elder (not in the realm).
    "POST /api/v1/elders/{elder_id}/sos": Rule(R("AOSE")),
}
