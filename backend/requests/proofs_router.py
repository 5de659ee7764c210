"""Proof of visits for supervisors: the photos and signatures of an order, and what each service requires."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from backend.access.deps import AdminUser, CurrentUser, ProofReadableRequest
from backend.core.deps import SessionDep, StorageDep
from backend.core.paging import Paged
from backend.core.schemas import PathId
from backend.registry.schemas import ServiceTypePublic
from backend.requests import proofs
from backend.requests.schemas import ProofPublic, ProofRequirement

router = APIRouter(tags=["requests"])
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


@router.get("/requests/{request_id}/proofs", response_model=list[ProofPublic])
async def list_proofs(
    request: ProofReadableRequest, session: SessionDep, user: CurrentUser, page: Paged
) -> list[ProofPublic]:
    """The visit's photos and signatures: hash, time and place (admins, operators, the area's staff, the provider
    whose caregiver served it, and the caregiver for what they took)."""
    rows = await proofs.list_proofs(session=session, user=user, request=request)
    return [ProofPublic.model_validate(p, from_attributes=True) for p in page.of(rows)]


@router.get(
    "/requests/{request_id}/proofs/{proof_id}/content",
    response_class=Response,
    responses={200: {"content": {t: {} for t in EXTENSIONS}, "description": "the file as it was uploaded"}},
)
async def proof_content(
    request: ProofReadableRequest, proof_id: PathId, session: SessionDep, storage: StorageDep, user: CurrentUser
) -> Response:
    """One photo or signature, as uploaded (its SHA-256 is the record's); never cached."""
    proof, data = await proofs.proof_content(
        session=session, storage=storage, user=user, request=request, proof_id=proof_id
    )
    name = f"proof-{proof.id}{EXTENSIONS.get(proof.content_type, '')}"
    return Response(
        data,
        media_type=proof.content_type,
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{name}"',
        },
    )


@router.put("/service-types/{code}/proof", response_model=ServiceTypePublic)
async def set_proof_required(
    code: Annotated[str, Path(max_length=32)], body: ProofRequirement, session: SessionDep, _admin: AdminUser
) -> ServiceTypePublic:
    """What proof this service's visits need to be paid (admins): arrival_photo, departure_photo, confirmation. A
    visit without it is still checked out, but its order shows what is missing and settlement leaves it out."""
    kind = await proofs.set_requirements(session=session, code=code, required=body.required)
    return ServiceTypePublic.model_validate(kind, from_attributes=True)
