"""What proof a visit has, and what its service still needs: read by the order's page and the month's settlement.

A service type names the items its visits need (``service_type.proof_required``): an arrival photo, a departure
photo, the elder's confirmation (her signature on the phone, or the code she was sent by SMS). A missing item
never stops a check-out; the order shows it, and settlement leaves the visit out (``missing_proof``). So does a
visit shorter than ``ELDERCARE_MIN_VISIT_SHARE`` of its service's usual minutes (``too_short``): one rule for both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.core.config import Settings
from backend.orders.models import ProofItem, ProofKind, Visit, VisitProof
from backend.orders.schemas import ProofSummary, VisitPublic

DEFAULT_VISIT_SHARE: float = Settings.model_fields["min_visit_share"].default


async def proofs_by_request(session: AsyncSession, request_ids: Sequence[int | None]) -> dict[int, list[VisitProof]]:
    """Every proof of these orders, oldest first (one query for any number of orders)."""
    found: dict[int, list[VisitProof]] = {}
    ids = [i for i in request_ids if i is not None]
    if not ids:
        return found
    rows = await session.execute(
        select(VisitProof).where(col(VisitProof.request_id).in_(ids)).order_by(col(VisitProof.id))
    )
    for proof in rows.scalars():
        found.setdefault(proof.request_id, []).append(proof)
    return found


def missing(required: Iterable[str], proofs: Iterable[VisitProof], confirmed_by: str | None) -> list[ProofItem]:
    """The required items the visit lacks, in the catalogue's order."""
    have = {proof.kind for proof in proofs}
    if confirmed_by or ProofKind.signature in have:
        have.add(ProofItem.confirmation.value)
    wanted = set(required)
    return [item for item in ProofItem if item.value in wanted and item.value not in have]


def min_visit_share(session: AsyncSession) -> float:
    """The share of its service's usual minutes a visit must last to be paid, as this process is configured."""
    runtime = session.info.get("runtime")  # every session of the runtime knows it (backend.core.runtime)
    return float(runtime.settings.min_visit_share) if runtime is not None else DEFAULT_VISIT_SHARE


def shortest_minutes(usual_minutes: int | None, share: float) -> float | None:
    """The least a visit of a service lasts to be paid (None: the service has no usual length)."""
    return round(share * usual_minutes, 1) if usual_minutes else None


def too_short(checkin_at: datetime, checkout_at: datetime | None, usual_minutes: int | None, share: float) -> bool:
    """A finished visit that lasted less than ``share`` of its service's usual minutes (settlement: ``too_short``)."""
    if checkout_at is None:
        return False
    return (checkout_at - checkin_at).total_seconds() < share * (usual_minutes or 0) * 60


def label(proofs: Sequence[VisitProof], confirmed_by: str | None) -> str | None:
    """A short record of the proof for statements: ``arrival_photo:1a2b3c4d departure_photo:5e6f7a8b+1
    confirmed:code`` (each kind's first file by its hash's first 8 digits, + how many more)."""
    parts = []
    for kind in ProofKind:
        files = [p for p in proofs if p.kind == kind.value]
        if files:
            more = f"+{len(files) - 1}" if len(files) > 1 else ""
            parts.append(f"{kind.value}:{files[0].sha256[:8]}{more}")
    if confirmed_by:
        parts.append(f"confirmed:{confirmed_by}")
    return " ".join(parts)[:255] or None


def visit_public(
    visit: Visit, proofs: Sequence[VisitProof], required: Sequence[str], *, usual_minutes: int | None, share: float
) -> VisitPublic:
    """The visit as the order shows it: its proof, what its service needs and what is still missing, and whether it
    was too short to be paid."""
    public = VisitPublic.model_validate(visit, from_attributes=True)
    public.proofs = [ProofSummary.model_validate(p, from_attributes=True) for p in proofs]
    public.proof_required = [item for item in ProofItem if item.value in set(required)]
    public.proof_missing = missing(required, proofs, visit.confirmed_by)
    public.min_minutes = shortest_minutes(usual_minutes, share)
    public.too_short = too_short(visit.checkin_at, visit.checkout_at, usual_minutes, share)
    return public
