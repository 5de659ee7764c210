"""The platform's records as FHIR R4 resources, each validated by ``fhir.resources`` before it leaves.

Elders are Patients, caregivers Practitioners, providers Organizations, work orders ServiceRequests, the
dispatcher's offers Tasks, visits Encounters. ``fhir.resources`` ships R4B, which leaves these six resources as
R4 defined them. What a resource says of a person is what the viewer may see on the platform: an ID number or a
phone number goes out only whole (never masked, never guessed), as the file showed it to that viewer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.servicerequest import ServiceRequest as FhirServiceRequest
from fhir.resources.R4B.task import Task

from backend.core.db import iso
from backend.dispatch.models import Offer
from backend.orders.models import ServiceRequest, Visit
from backend.registry.schemas import CaregiverPublic, ElderPublic, ProviderPublic

SYSTEM = "urn:eldercare"  # the platform's identifier systems and code systems, under one root
RESIDENT_ID = f"{SYSTEM}:resident-id"  # 居民身份证号码
USCC = f"{SYSTEM}:uscc"  # 统一社会信用代码
LANGUAGES = {"mandarin": ("zh-CN", "普通话"), "suzhounese": ("wuu", "苏州话（吴语）")}
# The work order's life as ServiceRequest.status, the offer's as Task.status.
REQUEST_STATUS = {
    "new": "active",
    "dispatching": "active",
    "offered": "active",
    "escalated": "active",
    "accepted": "active",
    "en_route": "active",
    "in_service": "active",
    "completed": "completed",
    "closed": "completed",
    "cancelled": "revoked",
}
PRIORITY = {"normal": "routine", "urgent": "urgent", "emergency": "stat"}
TASK_STATUS = {
    "pending": "requested",
    "accepted": "accepted",
    "declined": "rejected",
    "expired": "cancelled",
    "withdrawn": "cancelled",
    "released": "cancelled",
}


def _json(resource: Any) -> dict[str, Any]:
    return dict(resource.model_dump(mode="json", exclude_none=True))


def _when(at: datetime | None) -> str | None:
    return iso(at) if at is not None else None


def _whole(value: str) -> bool:
    return "*" not in value


def _name(text: str) -> dict[str, Any]:
    """A Chinese name: the family name first (one character; 复姓 are rare among the platform's people)."""
    return {"use": "official", "text": text, "family": text[:1], "given": [text[1:]] if len(text) > 1 else []}


def _language(code: str) -> dict[str, Any]:
    """A language as a CodeableConcept (BCP 47: 普通话 zh-CN, 苏州话 wuu)."""
    tag, words = LANGUAGES.get(code, (code, code))
    return {"coding": [{"system": "urn:ietf:bcp:47", "code": tag, "display": words}], "text": words}


def _service(code: str) -> dict[str, Any]:
    return {"coding": [{"system": f"{SYSTEM}:service-type", "code": code}], "text": code}


def ref(kind: str, ident: int | None) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def patient(elder: ElderPublic) -> dict[str, Any]:
    identifiers = [{"system": f"{SYSTEM}:elder", "value": str(elder.id)}]
    if _whole(elder.id_number):
        identifiers.append({"use": "official", "system": RESIDENT_ID, "value": elder.id_number})
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(elder.id),
        "identifier": identifiers,
        "active": True,
        "name": [_name(elder.name)],
        "gender": elder.gender,
        "birthDate": elder.birth_date,
        "address": [{"use": "home", "type": "physical", "text": elder.address, "city": "苏州市", "country": "CN"}],
    }
    if _whole(elder.phone):
        data["telecom"] = [{"system": "phone", "value": elder.phone, "use": "mobile"}]
    if elder.language:
        data["communication"] = [{"language": _language(elder.language), "preferred": True}]
    return _json(Patient.model_validate(data))


def practitioner(caregiver: CaregiverPublic) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(caregiver.id),
        "identifier": [{"system": f"{SYSTEM}:caregiver", "value": str(caregiver.id)}],
        "active": True,
        "name": [_name(caregiver.name)],
        "gender": caregiver.gender,
        # What she may do (her skills), as the platform's service types.
        "qualification": [{"code": _service(skill)} for skill in caregiver.skills],
        "communication": [_language(code) for code in caregiver.languages],
    }
    if _whole(caregiver.phone):
        data["telecom"] = [{"system": "phone", "value": caregiver.phone, "use": "work"}]
    return _json(Practitioner.model_validate(data))


def organization(provider: ProviderPublic) -> dict[str, Any]:
    identifiers = [{"system": f"{SYSTEM}:provider", "value": str(provider.id)}]
    if provider.uscc:
        identifiers.append({"use": "official", "system": USCC, "value": provider.uscc})
    data = {
        "resourceType": "Organization",
        "id": str(provider.id),
        "identifier": identifiers,
        "active": provider.active,
        "type": [{"coding": [{"system": f"{SYSTEM}:provider-kind", "code": provider.kind}]}],
        "name": provider.name,
    }
    return _json(Organization.model_validate(data))


def service_request(request: ServiceRequest) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(request.id),
        "identifier": [{"system": f"{SYSTEM}:order", "value": str(request.id)}],
        "status": REQUEST_STATUS[request.status],
        "intent": "order",
        "priority": PRIORITY.get(request.priority, "routine"),
        "code": _service(request.service_type),
        "subject": ref("Patient", request.elder_id),
        "authoredOn": _when(request.created_at),
        "performer": [
            ref("Practitioner", who) for who in (request.assigned_caregiver_id, request.partner_caregiver_id) if who
        ]
        or None,
    }
    if request.window_start is not None:
        data["occurrencePeriod"] = {"start": _when(request.window_start), "end": _when(request.window_end)}
    return _json(FhirServiceRequest.model_validate(data))


def task(offer: Offer, request: ServiceRequest) -> dict[str, Any]:
    data = {
        "resourceType": "Task",
        "id": str(offer.id),
        "status": TASK_STATUS.get(offer.status, "cancelled"),
        "intent": "order",
        "code": {"coding": [{"system": f"{SYSTEM}:task", "code": "dispatch-offer", "display": "派单"}]},
        "focus": ref("ServiceRequest", request.id),
        "for": ref("Patient", request.elder_id),
        "owner": ref("Practitioner", offer.caregiver_id),
        "authoredOn": _when(offer.created_at),
        "lastModified": _when(offer.answered_at or offer.created_at),
        "restriction": {"period": {"end": _when(offer.expires_at)}},
        "description": offer.explanation,
    }
    return _json(Task.model_validate(data))


def encounter(visit: Visit, request: ServiceRequest, provider_id: int | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": str(visit.id),
        "status": "finished" if visit.checkout_at else "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "HH",
            "display": "home health",
        },
        "serviceType": _service(request.service_type),
        "subject": ref("Patient", request.elder_id),
        "participant": [{"individual": ref("Practitioner", visit.caregiver_id)}],
        "period": {"start": _when(visit.checkin_at), "end": _when(visit.checkout_at)},
        "basedOn": [ref("ServiceRequest", request.id)],
    }
    if provider_id is not None:
        data["serviceProvider"] = ref("Organization", provider_id)
    return _json(Encounter.model_validate(data))


def searchset(data: dict[str, Any]) -> dict[str, Any]:
    """A searchset Bundle, validated with its entries."""
    return _json(Bundle.model_validate(data))
