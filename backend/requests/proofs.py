"""Proof of the visit (上门凭证), as government-purchased home care audits it: photos and the elder's signature
from the caregiver's phone, her confirmation code by SMS, and what each service requires.

Files are checked by their own first bytes (JPEG, PNG or WebP; never the client's word), bounded by
``ELDERCARE_MAX_PROOF_BYTES``, hashed (SHA-256) and kept content-addressed in the file store (``proofs/<sha256>``)
before their record is written; the same file sent again for the same kind of an order is answered with the
record it already has. Reading them is reading the elder's file: it is in the audit trail (``visit.proof_read``).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import caregiver_of
from backend.audit import service as audit
from backend.core.config import Settings
from backend.core.errors import Conflict, Invalid, NotFound, TooLarge
from backend.core.events import emit
from backend.core.geo import distance_m
from backend.core.identity import mask_phone
from backend.core.jobs import enqueue_after_commit
from backend.core.storage import Storage, StorageMissing
from backend.families.models import FamilyMember
from backend.notifications.service import send_sms
from backend.orders.models import (
    ACTIVE_STATUSES,
    Confirmation,
    ConfirmationCode,
    ProofItem,
    ProofKind,
    ServiceRequest,
    Status,
    Visit,
    VisitProof,
)
from backend.registry.models import Caregiver, Elder, ServiceType
from backend.requests import confirmation
from backend.requests.service import assigned_request, device_time
from backend.users.models import Role, User

log = logging.getLogger(__name__)
# Magic numbers of the images a phone sends (WebP: RIFF, four bytes of size, WEBP).
IMAGE_TYPES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
# When each kind may be taken: arriving is at the door (or just before it); the rest while serving.
ALLOWED = {
    ProofKind.arrival_photo: frozenset(s.value for s in ACTIVE_STATUSES),
    ProofKind.departure_photo: frozenset({Status.in_service.value}),
    ProofKind.signature: frozenset({Status.in_service.value}),
}


def image_type(data: bytes) -> str | None:
    """The image's content type by its first bytes: JPEG, PNG or WebP; None for anything else."""
    for magic, content_type in IMAGE_TYPES:
        if data.startswith(magic):
            return content_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def storage_key(sha256: str) -> str:
    """Where a file is kept: by its content, so the same bytes are kept once."""
    return f"proofs/{sha256}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked_image(settings: Settings, data: bytes) -> str:
    if len(data) > settings.max_proof_bytes:
        mb = settings.max_proof_bytes / 1_048_576
        raise TooLarge(f"文件超过 {mb:.1f} MB 上限", code="proof_too_large", message_en=f"The file is over {mb:.1f} MB")
    content_type = image_type(data)
    if content_type is None:
        raise Invalid(
            "仅接受 JPEG、PNG 或 WebP 图片",
            code="unsupported_file_type",
            message_en="Only JPEG, PNG or WebP images are accepted",
        )
    return content_type


async def add_proof(
    *,
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    request_id: int,
    caregiver: Caregiver,
    kind: ProofKind,
    data: bytes,
    at: datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
    accuracy_m: float | None = None,
) -> tuple[VisitProof, bool]:
    """Keep a photo or signature of the visit (the caregiver who holds the order); True when new, False when the
    same file of the same kind was kept before (its record is answered). A signature confirms the visit."""
    content_type = _checked_image(settings, data)
    if (lat is None) != (lon is None):
        raise Invalid("经纬度须同时提供", code="incomplete_location", message_en="Give both lat and lon, or neither")
    when = device_time(settings, at)
    digest = await anyio.to_thread.run_sync(_sha256, data)  # up to megabytes: off the event loop
    request = await _open_for_proof(session, request_id, caregiver, kind)
    existing = await _kept_proof(session, request_id, kind, digest)
    if existing is not None:
        return existing, False
    elder = await session.get(Elder, request.elder_id)
    assert elder is not None
    away = round(distance_m(lat, lon, elder.lat, elder.lon), 1) if lat is not None and lon is not None else None
    await storage.put(storage_key(digest), data, content_type)  # before the record: a record always has its file
    proof = VisitProof(
        request_id=request_id,
        caregiver_id=caregiver.id,  # type: ignore[arg-type]
        kind=kind.value,
        sha256=digest,
        content_type=content_type,
        size_bytes=len(data),
        storage_key=storage_key(digest),
        taken_at=when,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
        distance_m=away,
    )
    session.add(proof)
    if kind == ProofKind.signature:
        await _confirm_by_signature(session, request_id, when)
    await session.flush()
    emit(
        session,
        "visit.proof",
        [f"request:{request_id}"],
        {"request_id": request_id, "proof_id": proof.id, "kind": kind.value},
    )
    return proof, True


async def _open_for_proof(
    session: AsyncSession, request_id: int, caregiver: Caregiver, kind: ProofKind
) -> ServiceRequest:
    """The caregiver's order, in a status that allows this kind of proof (409 ``proof_not_allowed_now``)."""
    request = await assigned_request(session, request_id, caregiver)
    if request.status not in ALLOWED[kind]:
        raise Conflict(
            "当前工单状态不能上传此类凭证（离开照片与签名须在服务中上传）",
            code="proof_not_allowed_now",
            message_en=f"A {kind.value} cannot be added to a {request.status} order",
        )
    return request


async def _kept_proof(session: AsyncSession, request_id: int, kind: ProofKind, digest: str) -> VisitProof | None:
    """The record of the same file of the same kind kept before for the order, if any."""
    kept = await session.execute(
        select(VisitProof).where(
            col(VisitProof.request_id) == request_id,
            col(VisitProof.kind) == kind.value,
            col(VisitProof.sha256) == digest,
        )
    )
    return kept.scalar_one_or_none()


async def _confirm_by_signature(session: AsyncSession, request_id: int, when: datetime) -> None:
    """The elder's signature confirms the visit."""
    visit = (await session.execute(select(Visit).where(col(Visit.request_id) == request_id))).scalar_one()
    visit.confirmed_by, visit.confirmed_at = Confirmation.signature.value, when


async def send_confirmation_code(
    *,
    session: AsyncSession,
    settings: Settings,
    request_id: int,
    caregiver: Caregiver,
    family_member_id: int | None = None,
) -> ConfirmationCode:
    """Text a new code to the elder (or one of her family who has a phone) while the caregiver serves her; it
    replaces the one sent before. 409 ``not_in_service``; 429 after ``confirmation_code_sends`` codes."""
    request = await assigned_request(session, request_id, caregiver)
    if request.status != Status.in_service:
        raise Conflict(
            "签到后、签退前才能发送确认码",
            code="not_in_service",
            message_en="A confirmation code is sent between check-in and check-out",
        )
    throttle = confirmation.throttle_of(session)
    sends = [(settings.confirmation_code_sends, f"confirm:send:{request_id}")]
    await throttle.check(sends)
    elder = await session.get(Elder, request.elder_id)
    kind = await session.get(ServiceType, request.service_type)
    assert elder is not None and elder.id is not None and kind is not None
    phone, language = elder.phone, "zh"
    if family_member_id is not None:
        member = await session.get(FamilyMember, family_member_id)
        if member is None or member.elder_id != elder.id or not member.phone:
            raise NotFound(
                "该老人没有此家属或其无手机号",
                code="family_member_not_found",
                message_en="No such family member of the elder with a phone",
            )
        phone, language = member.phone, member.language
    code = confirmation.new_code()
    row = await confirmation.keep_code(
        session,
        settings,
        request_id=request_id,
        code=code,
        sent_to=mask_phone(phone),
        family_member_id=family_member_id,
    )
    await send_sms(
        session,
        elder_id=elder.id,
        phone=phone,
        template="visit_code",
        language=language,
        data={
            "elder": elder.name,
            "service": kind.name_en if language == "en" else kind.name_zh,
            "code": code,
            "minutes": settings.confirmation_code_minutes,
        },
        request_id=request_id,
        family_member_id=family_member_id,
    )
    await throttle.fail(sends)  # one more sent
    enqueue_after_commit(session, "notifications.send")  # she is waiting at the door: now, not at the next sweep
    return row


async def list_proofs(*, session: AsyncSession, user: User, request: ServiceRequest) -> list[VisitProof]:
    """The order's proofs, oldest first (a caregiver: those they took); a read of the elder's file (audited)."""
    query = select(VisitProof).where(col(VisitProof.request_id) == request.id).order_by(col(VisitProof.id))
    if user.role == Role.caregiver:
        own = await caregiver_of(session, user)
        query = query.where(col(VisitProof.caregiver_id) == (own.id if own else None))
    await audit.record_reads(session, action="visit.proof_read", elder_ids=[request.elder_id])
    return list((await session.execute(query)).scalars())


async def proof_content(
    *, session: AsyncSession, storage: Storage, user: User, request: ServiceRequest, proof_id: int
) -> tuple[VisitProof, bytes]:
    """One proof's file, with its record (404 when not this order's, or a caregiver's colleague's); audited."""
    proof = await session.get(VisitProof, proof_id)
    colleague = False
    if proof is not None and user.role == Role.caregiver:
        own = await caregiver_of(session, user)
        colleague = own is None or proof.caregiver_id != own.id
    if proof is None or proof.request_id != request.id or colleague:
        raise NotFound("凭证不存在", code="proof_not_found", message_en="No such proof of this order")
    try:
        data = await storage.get(proof.storage_key)
    except StorageMissing as exc:
        log.error("proof %s of order %s has no file under %s", proof.id, request.id, proof.storage_key)
        raise NotFound(
            "凭证文件缺失，请联系管理员", code="proof_content_missing", message_en="The proof's file is missing"
        ) from exc
    await audit.record_reads(session, action="visit.proof_read", elder_ids=[request.elder_id])
    return proof, data


async def set_requirements(*, session: AsyncSession, code: str, required: list[ProofItem]) -> ServiceType:
    """What proof a service's visits need to be paid (admins); none by default."""
    kind = await session.get(ServiceType, code)
    if kind is None:
        raise NotFound(f"服务项目不存在：{code}", code="service_type_not_found", message_en=f"Unknown service {code}")
    kind.proof_required = [item.value for item in ProofItem if item in set(required)]
    await session.flush()
    return kind
