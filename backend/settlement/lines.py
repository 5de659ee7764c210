"""A month's statement lines: read from the database as plain columns, built and compared off the event loop.

A month of a large provider is tens of thousands of orders. Reading them as columns (not as ORM objects, and not
with the elders' sealed numbers) keeps the database part short; building the lines and comparing them with the
previous revision is plain Python, run in a worker thread so that the API keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.models import Community
from backend.benefits.models import ProviderRate
from backend.benefits.service import applying, month_days
from backend.calendars.holidays import days_between
from backend.calendars.models import DayKind
from backend.core.db import local_midnight
from backend.core.i18n import LOCAL_TZ
from backend.core.money import Fen, percent_of
from backend.orders.models import Payer, ServiceRequest, Status, Visit, VisitProof
from backend.orders.proof_status import label, missing, proofs_by_request, too_short
from backend.registry.models import Caregiver, Elder, ServiceType
from backend.settlement.models import Exclusion, LineKind
from backend.settlement.schemas import Difference, LineChange, LinePublic

SETTLED = (Status.completed.value, Status.closed.value)
# What a line is compared by between runs (its identity is the order).
COMPARED = (
    "kind",
    "reason",
    "paid_by",
    "category",
    "amount_fen",
    "holiday",
    "premium_fen",
    "service_type",
    "district_id",
    "day",
    "checkin_at",
    "checkout_at",
    "proof",
)


@dataclass
class Line:
    """A statement line as computed (stored as a ``SettlementLine``)."""

    request_id: int
    elder_id: int
    caregiver_id: int
    district_id: int
    day: date
    service_type: str
    paid_by: str
    checkin_at: datetime | None
    checkout_at: datetime | None
    proof: str | None
    kind: str = LineKind.excluded.value
    reason: str | None = None
    category: str | None = None
    amount_fen: Fen = 0
    holiday: str | None = None
    premium_fen: Fen = 0


@dataclass
class Month:
    """Everything a month's lines are computed from, read from the database."""

    orders: Sequence[Any]  # rows of ``ORDER_COLUMNS``
    proofs: dict[int, list[VisitProof]]
    prices: dict[str, Fen]  # the government's price per service
    usual: dict[str, int]  # the service's usual minutes
    required: dict[str, list[str]]  # the proof each service requires
    rates: dict[str, Fen]  # the provider's self-pay prices
    categories: dict[int, str | None] = field(default_factory=dict)  # each government-paid elder's quota category
    holidays: dict[date, str] = field(default_factory=dict)  # the month's public holidays and their names
    holiday_percent: Decimal = Decimal(0)  # what public money pays more for a visit on one


ORDER_COLUMNS: tuple[Any, ...] = (
    col(ServiceRequest.id).label("request_id"),
    col(ServiceRequest.status),
    col(ServiceRequest.service_type),
    col(ServiceRequest.paid_by),
    col(ServiceRequest.window_start),
    col(ServiceRequest.created_at),
    col(ServiceRequest.assigned_caregiver_id).label("caregiver_id"),
    col(ServiceRequest.elder_id),
    col(Community.district_id),
    col(Visit.id).label("visit_id"),
    col(Visit.checkin_at),
    col(Visit.checkout_at),
    col(Visit.location_flagged),
    col(Visit.confirmed_by),
)


async def read_month(
    session: AsyncSession, provider_id: int, month: str, holiday_percent: Decimal = Decimal(0)
) -> Month:
    """The orders the provider's caregivers took in the month (by check-in, else window, else order), with what
    pricing and proof rules need (the month's public holidays among them)."""
    first, last = month_days(month)
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    when = func.coalesce(col(Visit.checkin_at), col(ServiceRequest.window_start), col(ServiceRequest.created_at))
    orders = await rows_of(
        session,
        sa_select(*ORDER_COLUMNS)
        .join(Caregiver, col(Caregiver.id) == col(ServiceRequest.assigned_caregiver_id))
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .join(Community, col(Community.id) == col(Elder.community_id))
        .outerjoin(Visit, col(Visit.request_id) == col(ServiceRequest.id))
        .where(
            col(Caregiver.provider_id) == provider_id,
            col(ServiceRequest.status).in_([*SETTLED, Status.cancelled.value]),
            when >= start,
            when < end,
        )
        .order_by(col(ServiceRequest.id)),
    )
    catalogue = (
        await session.execute(
            sa_select(
                col(ServiceType.code),
                col(ServiceType.government_price_fen),
                col(ServiceType.default_minutes),
                col(ServiceType.proof_required),
            )
        )
    ).all()
    rates = await session.execute(
        sa_select(col(ProviderRate.service_type), col(ProviderRate.price_fen)).where(
            col(ProviderRate.provider_id) == provider_id
        )
    )
    found = Month(
        orders=orders,
        proofs=await proofs_by_request(session, [o.request_id for o in orders]),
        prices={code: price for code, price, _, _ in catalogue},
        usual={code: minutes for code, _, minutes, _ in catalogue},
        required={code: proof for code, _, _, proof in catalogue},
        rates=dict(rates.all()),
        holidays={
            d.day: d.name_zh or "法定节假日"
            for d in await days_between(session, first, last)
            if d.kind == DayKind.holiday
        },
        holiday_percent=holiday_percent,
    )
    paying = {o.elder_id for o in orders if o.paid_by == Payer.government.value}
    for elder in (await session.execute(select(Elder).where(col(Elder.id).in_(paying)))).scalars():
        assert elder.id is not None
        applies = await applying(session, elder, month)
        found.categories[elder.id] = applies[0].code if applies else None
    return found


PARTITION = 2000  # rows read at a time: the loop serves others in between
WRITE_PARTITION = 250  # rows inserted at a time (binding parameters is the loop's work: about 50 µs a row)


async def rows_of(session: AsyncSession, query: Any) -> list[Any]:
    """Every row of ``query``, read in partitions, the event loop free for others between them."""
    found: list[Any] = []
    result = await session.stream(query)
    async for partition in result.partitions(PARTITION):
        found.extend(partition)
        await asyncio.sleep(0)
    return found


def build(month: Month, min_visit_share: float) -> list[Line]:
    """Every order of the month as a line: included with its amount, or excluded with the reason (no check-in and
    check-out, checked in far from home, shorter than ``min_visit_share`` of the service's usual minutes, or
    without a photo or confirmation its service requires), each with its visit's proof. Plain Python."""
    lines = []
    for order in month.orders:
        proofs = month.proofs.get(order.request_id, [])
        line = Line(
            request_id=order.request_id,
            elder_id=order.elder_id,
            caregiver_id=order.caregiver_id,
            district_id=order.district_id,
            day=(order.checkin_at or order.window_start or order.created_at).astimezone(LOCAL_TZ).date(),
            service_type=order.service_type,
            paid_by=order.paid_by,
            checkin_at=order.checkin_at,
            checkout_at=order.checkout_at,
            proof=label(proofs, order.confirmed_by),
        )
        if order.status == Status.cancelled:
            line.reason = Exclusion.cancelled.value
        elif order.visit_id is None or order.checkout_at is None:
            line.reason = Exclusion.no_proof.value
        elif order.location_flagged:
            line.reason = Exclusion.gps_flagged.value
        elif too_short(order.checkin_at, order.checkout_at, month.usual.get(order.service_type), min_visit_share):
            line.reason = Exclusion.too_short.value
        elif missing(month.required.get(order.service_type, []), proofs, order.confirmed_by):
            line.reason = Exclusion.missing_proof.value
        else:
            line.kind = LineKind.included.value
            line.amount_fen = amount(month, order)
            line.holiday = month.holidays.get(line.day)
            if line.holiday is not None and order.paid_by in (Payer.government, Payer.emergency):
                line.premium_fen = percent_of(line.amount_fen, month.holiday_percent)
                line.amount_fen += line.premium_fen
            if order.paid_by == Payer.government:
                line.category = month.categories.get(order.elder_id)
        lines.append(line)
    return lines


def amount(month: Month, order: Any) -> Fen:
    """What an included order is paid, in fen: the city's price when the government (within an elder's quota) or
    the one-key emergency service (from its own budget) pays, else the provider's self-pay price (0 when it set
    none). Whatever is added to a price is computed with ``backend.core.money`` (``percent_of``: rounded half up
    to the fen), so that a line stays a whole number of fen and the statement's totals are exact sums."""
    if order.paid_by in (Payer.government, Payer.emergency):
        return month.prices.get(order.service_type, 0)
    return month.rates.get(order.service_type, 0)


def _key(line: Any) -> tuple[object, ...]:
    values = []
    for name in COMPARED:
        value = getattr(line, name)
        values.append(value.isoformat() if isinstance(value, datetime | date) else value)
    return tuple(values)


def line_public(line: Any) -> LinePublic:
    """A stored line (a row of its columns) or a computed one, as the API shows it."""
    return LinePublic.model_validate(line, from_attributes=True)


def difference(previous_id: int | None, old: Sequence[Any], new: Sequence[Line]) -> Difference:
    """What changed, line by line, against the previous revision's lines. Plain Python."""
    before = {line.request_id: line for line in old}
    after = {line.request_id: line for line in new}
    diff = Difference(previous_id=previous_id)
    for rid in sorted(set(before) | set(after)):
        was, now = before.get(rid), after.get(rid)
        if was is not None and now is not None and _key(was) == _key(now):
            continue
        change = LineChange(
            request_id=rid, before=line_public(was) if was else None, after=line_public(now) if now else None
        )
        (diff.added if was is None else diff.removed if now is None else diff.changed).append(change)
    diff.government_fen_delta = total(new, Payer.government) - total(old, Payer.government)
    diff.self_fen_delta = total(new, Payer.self_paid) - total(old, Payer.self_paid)
    diff.emergency_fen_delta = total(new, Payer.emergency) - total(old, Payer.emergency)
    return diff


def total(lines: Sequence[Any], payer: Payer) -> Fen:
    """What the included lines paid by ``payer`` come to, in fen (an exact sum)."""
    return sum(x.amount_fen for x in lines if x.kind == LineKind.included and x.paid_by == payer)


def compare(
    month: Month, min_visit_share: float, previous_id: int | None, old: Sequence[Any]
) -> tuple[list[Line], Difference]:
    """The month's lines and their difference from ``old`` (run in a worker thread)."""
    new = build(month, min_visit_share)
    return new, difference(previous_id, old, new)
