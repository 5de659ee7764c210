"""Who sees personal data whole: resident ID numbers, phone numbers, benefit status, caregivers' numbers.

Everyone else sees them masked (``3205**********7516``, ``138****0001``). One module, so that every route and
socket applies the same rule. While a visit is ahead or under way (``holds_visit``), its caregiver and its elder
(with her family) may call each other: the caregiver sees her number whole, she and her family see theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.orders.models import ServiceRequest, Status
from backend.registry.models import Caregiver
from backend.users.models import Role, User

# An order's visit is under way: its crew and its elder (with her family) may call each other.
VISIT_UNDER_WAY = frozenset({Status.accepted.value, Status.en_route.value, Status.in_service.value})


def is_personal_viewer(user: User, *, owner_user_id: int | None = None) -> bool:
    """True when personal data may be shown whole: admins and the person themself."""
    return user.role == Role.admin or (owner_user_id is not None and owner_user_id == user.id)


def sees_elder_whole(user: User, elder_id: int | None) -> bool:
    """True when an elder's ID number, phone and birth date may be shown whole: admins and the elder herself."""
    return user.role == Role.admin or (user.role == Role.elder and elder_id is not None and user.elder_id == elder_id)


def sees_member_whole(user: User, *, elder_id: int, member_user_id: int | None) -> bool:
    """True when a family member's phone may be shown whole: admins, the elder, the member themself."""
    return sees_elder_whole(user, elder_id) or is_personal_viewer(user, owner_user_id=member_user_id)


def sees_identity_numbers(user: User) -> bool:
    """True when the user reads resident ID numbers whole, anyone's (admins): only they may look elders up by one."""
    return user.role == Role.admin


def sees_caregiver_whole(user: User, caregiver: Caregiver) -> bool:
    """True when a caregiver's personal data may be shown whole (her number, her position, why she is away): the
    caregiver herself, her provider's admin (her employer) and the city's admins."""
    employer = user.role == Role.provider_admin and user.provider_id == caregiver.provider_id
    return user.role == Role.admin or caregiver.user_id == user.id or employer


@dataclass(frozen=True)
class Disclosure:
    """How much of a caregiver a viewer sees: the whole phone number (else masked), the live position (else none)."""

    phone: bool
    position: bool


WHOLE = Disclosure(phone=True, position=True)


def caregiver_disclosure(
    user: User, caregiver: Caregiver, now: datetime, *, order: ServiceRequest | None = None
) -> Disclosure:
    """The one rule for a caregiver's phone number and live position, on every route and socket.

    The caregiver, their provider's admin and the city's admins: both, always. Hotline operators: both while the
    caregiver is on duty (on shift, not off sick), so that an emergency can reach them; off duty, neither. Area
    staff: the position while on duty (the map of who could come), the number masked (they go through the
    provider or the hotline). The elder, and her family who follow her orders, about ``order`` (an order of hers
    the viewer was let see) that this caregiver holds: the number while it is accepted, on the way or in service,
    so that they can call; never the position. Anyone else: neither.
    """
    if sees_caregiver_whole(user, caregiver):
        return WHOLE
    on_duty = caregiver.on_shift and (caregiver.absent_until is None or caregiver.absent_until <= now)
    if user.role == Role.operator:
        return Disclosure(phone=on_duty, position=on_duty)
    if user.role == Role.community_staff:
        return Disclosure(phone=False, position=on_duty)
    coming = order is not None and holds_visit(caregiver, order)
    hers = order is not None and (
        user.role == Role.family or (user.role == Role.elder and user.elder_id == order.elder_id)
    )
    return Disclosure(phone=coming and hers, position=False)


def holds_visit(caregiver: Caregiver, order: ServiceRequest) -> bool:
    """True while the caregiver, on the order's crew, has its visit ahead or under way (accepted, en route, in
    service): then they and the elder may call each other; before and after, the numbers are masked."""
    return order.status in VISIT_UNDER_WAY and caregiver.id in (order.assigned_caregiver_id, order.partner_caregiver_id)
