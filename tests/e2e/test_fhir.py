"""The health system's FHIR export: resources by id, a month as searchset Bundles, bulk NDJSON; consent and scope."""

from __future__ import annotations

import json

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner

from backend.core.db import utcnow
from backend.core.i18n import LOCAL_TZ
from backend.core.runtime import Runtime
from backend.fhir.export import export_month
from tests.client import offer_for


async def _a_visit(admin, world) -> int:  # type: ignore[no-untyped-def]
    elder, phone = world.elders[0], world.caregivers[0]["api"]
    rid = (await admin.ok("POST", "/api/v1/requests", {"elder_id": elder["id"], "service_type": "meal"}, 201))["id"]
    await phone.ok("POST", f"/mobile/v1/offers/{(await offer_for(phone, rid))['id']}/accept")
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-in", world.home)
    await phone.ok("POST", f"/mobile/v1/requests/{rid}/check-out", {"notes": "好"})
    return int(rid)


async def test_an_elder_her_caregiver_and_provider_as_fhir_resources(stack, admin, make_world) -> None:
    world = await make_world(caregivers_km=(0.3,))
    elder, caregiver = world.elders[0], world.caregivers[0]
    whole = await admin.get(f"/api/v1/fhir/Patient/{elder['id']}")
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("application/fhir+json")
    patient = Patient.model_validate(whole.json())  # a valid FHIR Patient
    raw = await admin.ok("GET", f"/api/v1/elders/{elder['id']}")
    assert {(i.system, i.value) for i in patient.identifier} >= {("urn:eldercare:resident-id", raw["id_number"])}
    assert patient.gender == raw["gender"] and str(patient.birthDate) == raw["birth_date"]
    assert patient.name[0].text == raw["name"] and patient.telecom[0].value == raw["phone"]
    # Community staff see the file masked: the ID and phone numbers do not go out at all, never masked.
    staff = await world.user("community_staff", community_id=world.community["id"])
    shown = (await staff.get(f"/api/v1/fhir/Patient/{elder['id']}")).json()
    assert "urn:eldercare:resident-id" not in json.dumps(shown) and "telecom" not in shown
    assert "birthDate" not in shown
    practitioner = Practitioner.model_validate(await admin.ok("GET", f"/api/v1/fhir/Practitioner/{caregiver['id']}"))
    assert practitioner.qualification and practitioner.name[0].text
    organization = Organization.model_validate(
        await admin.ok("GET", f"/api/v1/fhir/Organization/{world.provider['id']}")
    )
    assert organization.name == world.provider["name"]
    # Her family's consent cannot be stretched: the health system reads her file only while she shares it.
    elder_app = await world.user("elder", elder_id=elder["id"])
    await elder_app.ok("PATCH", f"/api/v1/elders/{elder['id']}", {"share_with_health": False})
    refused = await admin.get(f"/api/v1/fhir/Patient/{elder['id']}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "no_consent"


async def test_a_month_of_orders_offers_and_visits_as_bundles_within_scope_and_consent(
    stack, admin, make_world, runtime: Runtime, tmp_path
) -> None:
    world = await make_world(caregivers_km=(0.3,))
    other = await make_world(caregivers_km=())
    rid = await _a_visit(admin, world)
    month = utcnow().astimezone(LOCAL_TZ).strftime("%Y-%m")
    staff = await world.user("community_staff", community_id=world.community["id"])
    stranger = await other.user("community_staff", community_id=other.community["id"])

    answer = await staff.get(f"/api/v1/fhir/ServiceRequest?month={month}&limit=1000")
    bundle = Bundle.model_validate(answer.json())
    assert bundle.type == "searchset" and int(answer.headers["X-Total-Count"]) == bundle.total
    orders = {e.resource.id: e.resource for e in bundle.entry}
    assert str(rid) in orders and orders[str(rid)].status == "completed"
    assert orders[str(rid)].subject.reference == f"Patient/{world.elders[0]['id']}"
    tasks = (await staff.ok("GET", f"/api/v1/fhir/Task?month={month}&limit=1000"))["entry"]
    mine = [t["resource"] for t in tasks if t["resource"]["focus"]["reference"] == f"ServiceRequest/{rid}"]
    assert [t["status"] for t in mine] == ["accepted"]
    assert mine[0]["owner"]["reference"] == f"Practitioner/{world.caregivers[0]['id']}"
    visits = (await staff.ok("GET", f"/api/v1/fhir/Encounter?month={month}&limit=1000"))["entry"]
    (visit,) = [
        Encounter.model_validate(v["resource"])
        for v in visits
        if v["resource"]["basedOn"][0]["reference"] == f"ServiceRequest/{rid}"
    ]
    assert visit.status == "finished" and visit.period.start and visit.period.end
    # Another community's staff see none of it; a page of one says where the next is.
    theirs = await stranger.ok("GET", f"/api/v1/fhir/ServiceRequest?month={month}&limit=1000")
    assert str(rid) not in {e["resource"]["id"] for e in theirs.get("entry", [])}
    second = {"elder_id": world.elders[0]["id"], "service_type": "cleaning"}
    await admin.ok("POST", "/api/v1/requests", second, 201)
    first = await admin.ok("GET", f"/api/v1/fhir/ServiceRequest?month={month}&limit=1")
    assert first["total"] >= 2 and len(first["entry"]) == 1
    (following,) = [link["url"] for link in first["link"] if link["relation"] == "next"]
    assert following.endswith("&limit=1&offset=1")
    assert (await staff.get("/api/v1/fhir/ServiceRequest?month=2026-13")).status_code == 422
    assert (await world.caregivers[0]["api"].get(f"/api/v1/fhir/ServiceRequest?month={month}")).status_code == 403

    # Bulk: the month as NDJSON, then she withdraws her consent and is left out.
    counts = await export_month(runtime, month, tmp_path / "bulk")
    lines = (tmp_path / "bulk" / "ServiceRequest.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) == counts["ServiceRequest"] and str(rid) in {json.loads(line)["id"] for line in lines}
    patients = [json.loads(line) for line in (tmp_path / "bulk" / "Patient.ndjson").read_text().splitlines()]
    assert str(world.elders[0]["id"]) in {p["id"] for p in patients}
    for kind in ("Task", "Encounter", "Practitioner", "Organization"):
        assert (tmp_path / "bulk" / f"{kind}.ndjson").exists()
    await admin.ok("PATCH", f"/api/v1/elders/{world.elders[0]['id']}", {"share_with_health": False})
    after = await staff.ok("GET", f"/api/v1/fhir/ServiceRequest?month={month}&limit=1000")
    assert str(rid) not in {e["resource"]["id"] for e in after.get("entry", [])}
    await export_month(runtime, month, tmp_path / "again")
    again = (tmp_path / "again" / "Patient.ndjson").read_text()
    assert f'"id":"{world.elders[0]["id"]}"' not in again
