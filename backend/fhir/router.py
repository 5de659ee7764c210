"""FHIR R4 for the city's health system (``application/fhir+json``): Patient, Practitioner, Organization by id;
a month of ServiceRequests (orders), Tasks (the dispatcher's offers) and Encounters (visits) as searchset Bundles.

Who may read what is the platform's own rule: a Patient is an elder's file (audited, refused without her consent
to share), a Practitioner a caregiver's record as the caller may see it, the Bundles the caller's area's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from backend.access.deps import CurrentUser, StaffUser, VisibleCaregiver, VisibleElder
from backend.access.personal import caregiver_disclosure, sees_elder_whole
from backend.core.db import utcnow
from backend.core.deps import SessionDep
from backend.core.lookups import get_or_404
from backend.core.paging import Page, paging
from backend.core.schemas import PathId
from backend.fhir import resources, service
from backend.registry import service as registry
from backend.registry.models import Provider

router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_JSON = "application/fhir+json"
Month = Annotated[str, Query(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", description="YYYY-MM, Suzhou time")]
# A Bundle is paged as every list is, a larger page allowed (a health system fetches months of visits).
BundlePage = Annotated[Page, paging(maximum=1000)]
ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {FHIR_JSON: {}}, "description": "the FHIR resource"}}


def fhir(data: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, media_type=FHIR_JSON, headers=headers)


@router.get("/Patient/{elder_id}", responses=ANSWER)
async def patient(elder_id: PathId, session: SessionDep, user: CurrentUser, elder: VisibleElder) -> Response:
    """An elder as a Patient: ID number and phone only as whole as the caller sees them (403 ``no_consent`` when
    she does not share with the health system)."""
    service.refuse_without_consent(elder)
    file = await registry.elder_file(session, elder, whole=sees_elder_whole(user, elder.id))
    return fhir(resources.patient(file))


@router.get("/Practitioner/{caregiver_id}", responses=ANSWER)
async def practitioner(
    caregiver_id: PathId, session: SessionDep, user: CurrentUser, caregiver: VisibleCaregiver
) -> Response:
    """A caregiver as a Practitioner, her phone as the caller may see it."""
    shown = caregiver_disclosure(user, caregiver, utcnow())
    return fhir(resources.practitioner(await registry.caregiver_public(session, caregiver, shown=shown)))


@router.get("/Organization/{provider_id}", responses=ANSWER)
async def organization(provider_id: PathId, session: SessionDep, _user: CurrentUser) -> Response:
    """A provider as an Organization, with its unified social credit code."""
    provider = await get_or_404(session, Provider, provider_id, what="服务组织", what_en="provider")
    return fhir(resources.organization(await registry.get_provider_public(session=session, provider=provider)))


async def _searchset(
    kind: str, http: Request, session: SessionDep, user: StaffUser, month: str, page: Page
) -> Response:
    limit, offset = page.limit, page.offset
    found = await service.search(session, kind=kind, month=month, user=user, limit=limit, offset=offset)
    base = str(http.base_url).rstrip("/") + "/api/v1/fhir"
    page.total = found.total
    return fhir(service.bundle(found, base=base, kind=kind, month=month, limit=limit, offset=offset), page.headers)


@router.get("/ServiceRequest", responses=ANSWER)
async def service_requests(
    http: Request, session: SessionDep, user: StaffUser, month: Month, page: BundlePage
) -> Response:
    """The month's orders in the caller's area (by when they were made), a searchset Bundle."""
    return await _searchset("ServiceRequest", http, session, user, month, page)


@router.get("/Task", responses=ANSWER)
async def tasks(http: Request, session: SessionDep, user: StaffUser, month: Month, page: BundlePage) -> Response:
    """The month's dispatch offers of those orders, as Tasks (owner: the caregiver offered)."""
    return await _searchset("Task", http, session, user, month, page)


@router.get("/Encounter", responses=ANSWER)
async def encounters(http: Request, session: SessionDep, user: StaffUser, month: Month, page: BundlePage) -> Response:
    """The month's visits (by check-in), as home-health Encounters."""
    return await _searchset("Encounter", http, session, user, month, page)
