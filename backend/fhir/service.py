"""The health system's FHIR export: one resource by id, a month of orders, offers or visits as a searchset Bundle,
and every resource of a month as bulk NDJSON.

What goes out is what the caller may see: an area's staff get their area's orders, and an elder who said no to
sharing with the health system (``share_with_health``) is left out of every Bundle and export, and her Patient is
refused. Every export names the elders it carried in the audit trail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.scope import visible_communities
from backend.audit import service as audit
from backend.core.db import local_midnight
from backend.core.errors import Forbidden, Invalid
from backend.dispatch.models import Offer
from backend.fhir import resources
from backend.orders.models import ServiceRequest, Visit
from backend.registry.models import Caregiver, Elder
from backend.users.models import User

KINDS = ("ServiceRequest", "Task", "Encounter")
MONTH = re.compile(r"^(20[0-9]{2})-(0[1-9]|1[0-2])$")


def month_span(month: str) -> tuple[datetime, datetime]:
    """A ``YYYY-MM`` month as Suzhou time (422 ``invalid_month`` otherwise)."""
    found = MONTH.match(month)
    if found is None:
        raise Invalid("月份格式应为 YYYY-MM", code="invalid_month", message_en="month must be YYYY-MM")
    year, number = int(found.group(1)), int(found.group(2))
    following = date(year + number // 12, number % 12 + 1, 1)
    return local_midnight(date(year, number, 1)), local_midnight(following)


def refuse_without_consent(elder: Elder) -> None:
    if not elder.share_with_health:
        raise Forbidden(
            "老人未同意向卫健系统共享档案", code="no_consent", message_en="The elder has not agreed to share her file"
        )


@dataclass
class Page:
    total: int
    resources: list[dict[str, Any]]


def _scope(user: User | None) -> list[ColumnElement[bool]]:
    """Orders of consenting elders, in the caller's area (None: the platform itself, for the bulk export)."""
    conditions: list[ColumnElement[bool]] = [
        col(ServiceRequest.elder_id).in_(select(Elder.id).where(col(Elder.share_with_health).is_(True)))
    ]
    area = visible_communities(user) if user is not None else None
    if area is not None:
        conditions.append(col(ServiceRequest.community_id).in_(area))
    return conditions


async def search(session: AsyncSession, *, kind: str, month: str, user: User | None, limit: int, offset: int) -> Page:
    """One page of a month's orders (by when they were made), offers (by when they were made) or visits (by
    check-in), as FHIR resources, with how many there are in all."""
    start, end = month_span(month)
    where = _scope(user)
    if kind == "ServiceRequest":
        base = select(ServiceRequest).where(
            *where, col(ServiceRequest.created_at) >= start, col(ServiceRequest.created_at) < end
        )
        total = await _count(session, base)
        rows = (await session.execute(base.order_by(col(ServiceRequest.id)).offset(offset).limit(limit))).scalars()
        orders = list(rows)
        made = [resources.service_request(r) for r in orders]
        elder_ids = [r.elder_id for r in orders]
    elif kind == "Task":
        base_t = (
            select(Offer, ServiceRequest)
            .join(ServiceRequest, col(ServiceRequest.id) == col(Offer.request_id))
            .where(*where, col(Offer.created_at) >= start, col(Offer.created_at) < end)
        )
        total = await _count(session, base_t)
        pairs = (await session.execute(base_t.order_by(col(Offer.id)).offset(offset).limit(limit))).all()
        made = [resources.task(offer, request) for offer, request in pairs]
        elder_ids = [request.elder_id for _, request in pairs]
    elif kind == "Encounter":
        base_e = (
            select(Visit, ServiceRequest, Caregiver.provider_id)
            .join(ServiceRequest, col(ServiceRequest.id) == col(Visit.request_id))
            .join(Caregiver, col(Caregiver.id) == col(Visit.caregiver_id))
            .where(*where, col(Visit.checkin_at) >= start, col(Visit.checkin_at) < end)
        )
        total = await _count(session, base_e)
        found = (await session.execute(base_e.order_by(col(Visit.id)).offset(offset).limit(limit))).all()
        made = [resources.encounter(visit, request, provider) for visit, request, provider in found]
        elder_ids = [request.elder_id for _, request, _ in found]
    else:
        raise Invalid(f"不支持的资源类型 {kind}", code="unknown_resource", message_en=f"Unknown resource {kind}")
    await audit.record_reads(session, action="fhir.export", elder_ids=elder_ids)
    return Page(total, made)


async def _count(session: AsyncSession, query: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one())


def bundle(page: Page, *, base: str, kind: str, month: str, limit: int, offset: int) -> dict[str, Any]:
    """A searchset Bundle of one page, with its links (self, and next while there is more)."""
    query = f"{base}/{kind}?month={month}&limit={limit}"
    links = [{"relation": "self", "url": f"{query}&offset={offset}"}]
    if offset + len(page.resources) < page.total:
        links.append({"relation": "next", "url": f"{query}&offset={offset + limit}"})
    return resources.searchset(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": page.total,
            "link": links,
            "entry": [
                {"fullUrl": f"{base}/{kind}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                for r in page.resources
            ],
        }
    )


def ndjson(items: list[dict[str, Any]]) -> Iterator[str]:
    """One resource a line (FHIR bulk data)."""
    for item in items:
        yield json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"
