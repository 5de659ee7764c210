"""What a caregiver reads of an order before accepting it: how to address the elder, where, what, with whom.

Enough to judge the offer, and nothing more of her until it is theirs: her surname as a caregiver greets her
(「王奶奶」), her street and community, the service, and the colleague already on a two-caregiver crew. No full
name, address, phone or ID number (those come with the assignment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.models import Community, Street
from backend.audit import service as audit
from backend.calendars.models import CaregiverBooking
from backend.core.identity import courtesy_name
from backend.orders.models import ServiceRequest
from backend.registry.models import Caregiver, Elder, ServiceType


@dataclass(frozen=True)
class Colleague:
    id: int
    name: str


@dataclass(frozen=True)
class OfferBrief:
    elder_name: str  # 「王奶奶」
    area: str  # "{street} {community}"
    service_name: str
    caregivers_needed: int
    partner: Colleague | None  # the other caregiver already on a two-caregiver crew


async def offer_briefs(
    *, session: AsyncSession, caregiver: Caregiver, requests: Sequence[ServiceRequest], english: bool
) -> dict[int, OfferBrief]:
    """The brief of each offered order, by order id (three queries for any number; the elders named are audited)."""
    if not requests:
        return {}
    elder_ids = {r.elder_id for r in requests}
    places = {
        elder_id: (name, gender, f"{street} {community}")
        for elder_id, name, gender, street, community in (
            await session.execute(
                sa_select(col(Elder.id), col(Elder.name), col(Elder.gender), col(Street.name), col(Community.name))
                .join(Community, col(Community.id) == col(Elder.community_id))
                .join(Street, col(Street.id) == col(Community.street_id))
                .where(col(Elder.id).in_(elder_ids))
            )
        ).all()
    }
    kinds = {
        k.code: k
        for k in (
            await session.execute(
                select(ServiceType).where(col(ServiceType.code).in_({r.service_type for r in requests}))
            )
        ).scalars()
    }
    partners: dict[int, Colleague] = {}
    crews = await session.execute(
        select(CaregiverBooking.request_id, Caregiver.id, Caregiver.name)
        .join(Caregiver, col(Caregiver.id) == col(CaregiverBooking.caregiver_id))
        .where(
            col(CaregiverBooking.request_id).in_([r.id for r in requests]),
            col(CaregiverBooking.active).is_(True),
            col(CaregiverBooking.caregiver_id) != caregiver.id,
        )
        .order_by(col(CaregiverBooking.id))
    )
    for request_id, colleague_id, name in crews.all():
        partners.setdefault(request_id, Colleague(colleague_id, name))
    await audit.record_reads(session, action="elder.read", elder_ids=sorted(elder_ids))
    briefs = {}
    for request in requests:
        assert request.id is not None
        name, gender, area = places[request.elder_id]
        kind = kinds.get(request.service_type)
        needed = kind.caregivers_needed if kind else 1
        briefs[request.id] = OfferBrief(
            elder_name=courtesy_name(name, gender),
            area=area,
            service_name=(kind.name_en if english else kind.name_zh) if kind else request.service_type,
            caregivers_needed=needed,
            partner=partners.get(request.id) if needed > 1 else None,
        )
    return briefs
