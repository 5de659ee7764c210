"""The caregiver's phone: proof of the visit (photos, the elder's signature) and the elder's confirmation code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status

from backend.access.deps import CurrentCaregiver
from backend.core.deps import SessionDep, SettingsDep, StorageDep
from backend.core.geo import Crs, to_wgs84
from backend.core.schemas import CRS_DESCRIPTION, PathId, ServiceTime
from backend.orders.models import ProofKind
from backend.requests import proofs
from backend.requests.schemas import CodeRecipient, CodeSent, ProofPublic

router = APIRouter(tags=["mobile"])


@router.post(
    "/requests/{request_id}/proofs",
    status_code=status.HTTP_201_CREATED,
    response_model=ProofPublic,
    responses={200: {"model": ProofPublic, "description": "the same file of this kind was kept before: its record"}},
)
async def upload_proof(
    request_id: PathId,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    caregiver: CurrentCaregiver,
    kind: Annotated[ProofKind, Form(description="arrival_photo 到达照片, departure_photo 离开照片, signature 签名")],
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, up to ELDERCARE_MAX_PROOF_BYTES")],
    at: Annotated[ServiceTime | None, Form(description="when the phone took it (default: now)")] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    crs: Annotated[Crs, Form(description=CRS_DESCRIPTION)] = "wgs84",
    accuracy_m: Annotated[float | None, Form(ge=0, le=100_000)] = None,
) -> ProofPublic:
    """Upload a photo or the elder's signature (上传上门凭证): arrival photos from acceptance on, departure photos and
    signatures while serving. 413 ``proof_too_large``, 422 ``unsupported_file_type`` (by the file's own bytes)."""
    data = await file.read(settings.max_proof_bytes + 1)  # one byte more tells a file over the limit
    if lat is not None and lon is not None:
        lat, lon = to_wgs84(lat, lon, crs)
    proof, created = await proofs.add_proof(
        session=session,
        settings=settings,
        storage=storage,
        request_id=request_id,
        caregiver=caregiver,
        kind=kind,
        data=data,
        at=at,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ProofPublic.model_validate(proof, from_attributes=True)


@router.post("/requests/{request_id}/confirmation-code", response_model=CodeSent)
async def send_confirmation_code(
    request_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    caregiver: CurrentCaregiver,
    body: CodeRecipient | None = None,
) -> CodeSent:
    """Text the elder (or a family member of hers) a 6-digit code (服务确认码) she tells the caregiver to confirm
    the visit at check-out; a new code replaces the old. 409 ``not_in_service``, 429 after too many codes."""
    sent = await proofs.send_confirmation_code(
        session=session,
        settings=settings,
        request_id=request_id,
        caregiver=caregiver,
        family_member_id=body.family_member_id if body else None,
    )
    return CodeSent(sent_to=sent.sent_to, expires_at=sent.expires_at)
