"""The dispatcher's hard rules: who may be offered an order at all.

Each rule is one SQL condition over a caregiver row, true when the caregiver passes it. The
candidate search filters by all of them; the operator's "why not this caregiver" view evaluates
each one, so both always apply the same rules.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlmodel import col, select

from backend.calendars.holidays import Day
from backend.calendars.models import CaregiverBooking
from backend.calendars.rosters import rostered
from backend.calendars.service import is_scheduled, needed_span, overlapping
from backend.core.i18n import LOCAL_TZ
from backend.dispatch.models import Offer, OfferStatus
from backend.orders.models import ACTIVE_STATUSES, Priority, ServiceRequest, Status
from backend.registry.models import (
    BlockedCaregiver,
    Caregiver,
    CaregiverSkill,
    Elder,
    Provider,
    ProviderCommunity,
    ProviderService,
    ServiceType,
)

ON_THIS_ORDER = "on_this_order"  # not a reason to leave her out: where she already stands on the order


@dataclass(frozen=True)
class Rule:
    """A hard rule: its stable code, its wording, and the condition a caregiver must meet."""

    code: str
    zh: str
    en: str
    holds: ColumnElement[bool]


def offered_this_order(request: ServiceRequest) -> ColumnElement[bool]:
    """The caregiver holds a pending offer of this order."""
    return exists().where(
        col(Offer.caregiver_id) == col(Caregiver.id),
        col(Offer.request_id) == request.id,
        col(Offer.status) == OfferStatus.pending.value,
    )


def on_crew(request: ServiceRequest) -> ColumnElement[bool]:
    """The caregiver accepted this order: she holds its time (one of its crew) or its assignment."""
    holders = [i for i in (request.assigned_caregiver_id, request.partner_caregiver_id) if i is not None]
    booked = exists().where(
        col(CaregiverBooking.caregiver_id) == col(Caregiver.id),
        col(CaregiverBooking.request_id) == request.id,
        col(CaregiverBooking.active).is_(True),
    )
    return or_(booked, col(Caregiver.id).in_(holders)) if holders else booked


def visit_day(request: ServiceRequest, service_type: ServiceType, now: datetime) -> date:
    """The Suzhou day the visit is needed on (the day its cover must be valid)."""
    start, _end = needed_span(request, service_type, now)
    return start.astimezone(LOCAL_TZ).date()


def hard_rules(
    request: ServiceRequest,
    *,
    elder: Elder,
    service_type: ServiceType,
    now: datetime,
    covered: Collection[int] | None = None,
    waiting: bool = False,
    calendar_day: Day | None = None,
) -> list[Rule]:
    """The rules for offering this order, in the order an operator reads them.

    ``covered``: the providers holding home-care liability cover (居家养老服务责任险) valid on the visit's
    day, fetched once by the caller (a literal list plans far better than a sub-select per candidate
    query); None when cover is not required. ``calendar_day``: what kind of day the visit's day is (a public
    holiday, an adjusted working day), for the rosters; None: a plain day of the week.
    """
    start, end = needed_span(request, service_type, now)
    day = start.astimezone(LOCAL_TZ).date()
    return [
        *_provider_rules(request, covered, day),
        *_personal_rules(request, elder, service_type),
        *_time_rules(request, now, start, end, waiting=waiting, calendar_day=calendar_day),
        *_order_rules(request),
    ]


def _provider_rules(request: ServiceRequest, covered: Collection[int] | None, day: date) -> list[Rule]:
    """Her provider: active, insured on the visit's day, serving the elder's community, offering the service."""
    provider = col(Caregiver.provider_id)
    provider_active = select(Provider.id).where(col(Provider.active).is_(True))
    serves_area = select(ProviderCommunity.provider_id).where(
        col(ProviderCommunity.community_id) == request.community_id
    )
    offers_service = select(ProviderService.provider_id).where(
        col(ProviderService.service_type) == request.service_type
    )
    return [
        Rule(
            "provider_inactive",
            "所属服务组织已停用",
            "their provider is inactive",
            col(Caregiver.provider_id).in_(provider_active),
        ),
        Rule(
            "no_liability_cover",
            f"所属服务组织在 {day:%m月%d日} 无有效居家服务责任险",
            f"their provider has no valid home-care liability cover on {day}",
            (provider.in_(sorted(covered)) if covered else false()) if covered is not None else true(),
        ),
        Rule(
            "outside_service_area",
            "所属服务组织不覆盖老人所在社区",
            "their provider does not serve the elder's community",
            provider.in_(serves_area),
        ),
        Rule(
            "service_not_offered",
            "所属服务组织未开展该项服务",
            "their provider does not offer this service",
            provider.in_(offers_service),
        ),
    ]


def _personal_rules(request: ServiceRequest, elder: Elder, service_type: ServiceType) -> list[Rule]:
    """She herself: skilled for the service, not blocked by the elder, of the gender the elder asked for."""
    skilled = exists().where(
        col(CaregiverSkill.caregiver_id) == col(Caregiver.id),
        col(CaregiverSkill.service_type) == request.service_type,
    )
    blocked = exists().where(
        col(BlockedCaregiver.elder_id) == elder.id, col(BlockedCaregiver.caregiver_id) == col(Caregiver.id)
    )
    same_gender = service_type.personal_care and elder.same_gender_care
    return [
        Rule("lacks_skill", "不具备该项服务技能", "lacks the skill", skilled),
        Rule("blocked_by_elder", "老人或家属要求不再派此护理员", "the elder asked not to be sent them", ~blocked),
        Rule(
            "gender",
            "老人要求同性别护理员提供该项服务",
            "the elder asked for a caregiver of their own gender for this service",
            col(Caregiver.gender) == elder.gender if same_gender else true(),
        ),
    ]


def _busy(request: ServiceRequest, end: datetime, *, emergency: bool) -> ColumnElement[bool]:
    """Serving or on the way now, or holding an order to serve now (one booked for later does not count).

    The rules about her other orders never count this one: holding it is ``on_this_order``.
    """
    return exists().where(
        or_(
            col(ServiceRequest.assigned_caregiver_id) == col(Caregiver.id),
            col(ServiceRequest.partner_caregiver_id) == col(Caregiver.id),
        ),
        col(ServiceRequest.id) != request.id,
        col(ServiceRequest.status).in_([s.value for s in ACTIVE_STATUSES]),
        or_(
            col(ServiceRequest.status) != Status.accepted.value,
            col(ServiceRequest.window_start).is_(None),
            col(ServiceRequest.window_start) < end if not emergency else false(),
        ),
    )


def _time_rules(
    request: ServiceRequest,
    now: datetime,
    start: datetime,
    end: datetime,
    *,
    waiting: bool,
    calendar_day: Day | None,
) -> list[Rule]:
    """Her time: on shift (or rostered), not busy, not booked for an overlapping visit, no other open offer."""
    scheduled = is_scheduled(request, now)
    # An emergency goes first: a visit booked for a window that has not begun gives way (to a colleague).
    emergency = request.priority == Priority.emergency
    open_offer = exists().where(
        col(Offer.caregiver_id) == col(Caregiver.id),
        col(Offer.status) == OfferStatus.pending.value,
        col(Offer.request_id) != request.id,
    )
    return [
        Rule(
            "off_shift",
            "不在班" if not scheduled else "预约时段不在排班内",
            "off shift" if not scheduled else "not rostered at that time",
            # Now: the shift they started on their phone. Later: their weekly roster (none: any time).
            and_(
                rostered(col(Caregiver.id), start, end, calendar_day),
                or_(col(Caregiver.absent_until).is_(None), col(Caregiver.absent_until) <= start),
            )
            if scheduled
            else col(Caregiver.on_shift).is_(True),
        ),
        Rule(
            "busy",
            "正在服务其他工单",
            "serving another order",
            true() if scheduled else ~_busy(request, end, emergency=emergency),
        ),
        Rule(
            "booked",
            "该时段已有预约服务",
            "booked for an overlapping visit",
            # Waiting for her (``waiting``): the visit in her hands ends; later bookings still stand in the way.
            ~overlapping(
                col(Caregiver.id), start, end, firm=emergency, now=now if waiting else None, other_than=request.id
            ),
        ),
        Rule("has_open_offer", "有待回复的其他派单", "has another open offer", ~open_offer),
    ]


def _order_rules(request: ServiceRequest) -> list[Rule]:
    """This order: she is not on it already, and has not said no to it (or let it lapse) in this dispatch."""
    # Who already said no (or let it lapse) in this dispatch; an operator's redispatch starts afresh.
    declined = exists().where(
        col(Offer.caregiver_id) == col(Caregiver.id),
        col(Offer.request_id) == request.id,
        col(Offer.status).in_([OfferStatus.declined.value, OfferStatus.expired.value]),
        col(Offer.created_at) >= (request.dispatch_started_at or request.created_at),
    )
    return [
        Rule(
            ON_THIS_ORDER,
            "已在本单中（已派给其本人或已接单）",
            "already on this order (offered to them, or accepted)",
            ~or_(offered_this_order(request), on_crew(request)),
        ),
        Rule("declined", "本次派单中已拒绝或超时未响应", "declined or let this order lapse", ~declined),
    ]
