"""Rolling re-optimisation: re-plan a provider's accepted visits that have not started, while the day goes on.

Every few minutes (``ELDERCARE_REPLAN_MINUTES``) and when the day changes (a sick call, an emergency that takes
a caregiver, a cancellation), each provider's accepted visits booked for later today, whose caregiver does not
set off within ``ELDERCARE_REPLAN_FREEZE_MINUTES``, are planned again with the day planner (``backend/planning``)
over the provider's caregivers: each sets off from where she will be free (the end of the visit in her hands,
or where she is) within her roster. The search starts from the plan as it stands (a warm start) and every visit
given to someone other than who holds it now costs ``ELDERCARE_REPLAN_CHANGE_MINUTES`` of travel; the hard rules
are the dispatcher's (skills, the elder's refusals, same-gender care, who declined the order, rosters,
two-caregiver visits together). A new plan is adopted only when it saves at least
``ELDERCARE_REPLAN_MIN_SAVING_MINUTES`` of travel and lateness net of those costs and puts no visit further past
a shift. An adopted change is never silent: each moved visit's history says why, the order's channels hear of
it (the elder's app shows who is coming now), and every caregiver whose route changed gets it published to her
phone with the reason.

It is the ``lookahead`` dispatch policy's (``ELDERCARE_DISPATCH_POLICY``); the others never move an accepted
visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.access.changes import caregivers_access_changed
from backend.calendars.models import CaregiverBooking
from backend.calendars.rosters import working_periods
from backend.calendars.service import book, crew_of, release
from backend.core.config import Settings
from backend.core.db import iso, local_midnight, utcnow
from backend.core.events import emit
from backend.core.i18n import LOCAL_TZ
from backend.core.offload import compute
from backend.dispatch.models import Offer, OfferStatus
from backend.orders.lifecycle import Actor, lock_request, request_channels, status_payload
from backend.orders.models import Priority, RequestHistory, ServiceRequest, Status
from backend.planning import hhcrsp
from backend.planning.solver import solve
from backend.plans.underway import Booked, Held, day_instance, new_crews, plan_costs
from backend.registry.models import Caregiver, Elder, Provider, ServiceType

REPLANNER = Actor.system("replanner")

# Why a re-plan was asked for, in the words its changes carry (Chinese, English).
WHY = {
    "periodic": ("定时重新优化", "the day was re-optimised"),
    "absence": ("护理员请假后重新排班", "re-planned after a sick call"),
    "emergency": ("护理员赶赴紧急工单后重新排班", "re-planned after an emergency took a caregiver"),
    "cancelled": ("有预约取消后重新排班", "re-planned after a cancellation"),
}


@dataclass(frozen=True)
class Move:
    """One visit given to other hands: its crew before and after."""

    request_id: int
    before: tuple[int, ...]
    after: tuple[int, ...]


@dataclass
class Replan:
    """What a re-plan found: how many visits it weighed, what it changed and what that saves (minutes)."""

    provider_id: int
    visits: int = 0
    moves: list[Move] = field(default_factory=list)
    saved_minutes: float = 0.0
    outcome: str = "nothing_to_plan"  # nothing_to_plan | kept | changed | changed_meanwhile


async def providers_to_replan(*, session: AsyncSession, settings: Settings) -> list[int]:
    """Providers with an accepted visit booked for later today that may still move."""
    now = utcnow()
    rows = await session.execute(
        select(Caregiver.provider_id)
        .join(CaregiverBooking, col(CaregiverBooking.caregiver_id) == col(Caregiver.id))
        .join(ServiceRequest, col(ServiceRequest.id) == col(CaregiverBooking.request_id))
        .where(*_movable(settings, now))
        .distinct()
    )
    return sorted(rows.scalars())


def _movable(settings: Settings, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Conditions on a booking and its order for a visit that may still move."""
    day_end = local_midnight(now.astimezone(LOCAL_TZ).date() + timedelta(days=1))
    return (
        col(CaregiverBooking.active).is_(True),
        col(CaregiverBooking.starts_at) > now + timedelta(minutes=settings.replan_freeze_minutes),
        col(ServiceRequest.status) == Status.accepted.value,
        col(ServiceRequest.priority) != Priority.emergency.value,
        col(ServiceRequest.window_start).is_not(None),
        col(ServiceRequest.window_start) < day_end,
    )


async def _held(session: AsyncSession, settings: Settings, now: datetime, staff: set[int]) -> list[Held]:
    """The provider's visits that may move, each with its whole crew (all of them this provider's, as the
    planner pairs at most two)."""
    rows = await session.execute(
        select(CaregiverBooking, ServiceRequest, Elder, ServiceType)
        .join(ServiceRequest, col(ServiceRequest.id) == col(CaregiverBooking.request_id))
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .join(ServiceType, col(ServiceType.code) == col(ServiceRequest.service_type))
        .where(
            *_movable(settings, now),
            col(ServiceRequest.id).in_(
                select(CaregiverBooking.request_id).where(
                    col(CaregiverBooking.caregiver_id).in_(sorted(staff)), col(CaregiverBooking.active).is_(True)
                )
            ),
        )
        .order_by(col(ServiceRequest.id), col(CaregiverBooking.id))
    )
    found: dict[int, Held] = {}
    for booking, request, elder, service in rows.all():
        assert request.id is not None
        was = found.get(request.id)
        crew = (*was.crew, booking.caregiver_id) if was else (booking.caregiver_id,)
        spans = (*was.spans, (booking.starts_at, booking.ends_at)) if was else ((booking.starts_at, booking.ends_at),)
        found[request.id] = Held(request, elder, service, crew, spans)
    return [h for h in found.values() if set(h.crew) <= staff and len(h.crew) == h.service.caregivers_needed <= 2]


async def _day_bookings(session: AsyncSession, now: datetime, staff: set[int]) -> dict[int, list[Booked]]:
    """Each caregiver's active bookings of visits still to do or under way today, in time order."""
    day_end = local_midnight(now.astimezone(LOCAL_TZ).date() + timedelta(days=1))
    rows = await session.execute(
        select(CaregiverBooking, Elder)
        .join(ServiceRequest, col(ServiceRequest.id) == col(CaregiverBooking.request_id))
        .join(Elder, col(Elder.id) == col(ServiceRequest.elder_id))
        .where(
            col(CaregiverBooking.active).is_(True),
            col(CaregiverBooking.caregiver_id).in_(sorted(staff)),
            col(CaregiverBooking.starts_at) < day_end,
            col(ServiceRequest.status).in_([s.value for s in (Status.accepted, Status.en_route, Status.in_service)]),
        )
        .order_by(col(CaregiverBooking.starts_at))
    )
    found: dict[int, list[Booked]] = {}
    for booking, elder in rows.all():
        found.setdefault(booking.caregiver_id, []).append(
            Booked(booking.request_id, booking.starts_at, booking.ends_at, elder.lat, elder.lon)
        )
    return found


def _settle_held(held: list[Held], bookings: dict[int, list[Booked]]) -> tuple[list[Held], dict[int, list[Booked]]]:
    """Leave out the visits of anyone with a visit that may not move after one that may (her day stays as it is),
    until none is left; return the visits to plan and each caregiver's bookings that stay."""
    while True:
        ids = {h.request.id for h in held}
        firm = {cid: [b for b in mine if b.request_id not in ids] for cid, mine in bookings.items()}
        first: dict[int, datetime] = {}
        for h in held:
            for cid, (start, _end) in zip(h.crew, h.spans, strict=True):
                first[cid] = min(first.get(cid, start), start)
        locked = {cid for cid, start in first.items() if any(b.starts_at >= start for b in firm.get(cid, []))}
        keep = [h for h in held if not locked & set(h.crew)]
        if len(keep) == len(held):
            return keep, firm
        held = keep


async def replan(*, session: AsyncSession, settings: Settings, provider_id: int, why: str = "periodic") -> Replan:
    """Re-plan the provider's movable visits of today and adopt the new plan when it is worth its changes."""
    now = utcnow()
    midnight = local_midnight(now.astimezone(LOCAL_TZ).date())
    result = Replan(provider_id)
    provider = await session.get(Provider, provider_id)
    if provider is None or not provider.active:
        return result
    staff = list(
        (
            await session.execute(
                select(Caregiver).where(col(Caregiver.provider_id) == provider_id).order_by(col(Caregiver.id))
            )
        ).scalars()
    )
    ids = {c.id for c in staff if c.id is not None}
    periods = await working_periods(session, staff, midnight)
    working = {c.id for c, _ in periods.values()}
    # A visit whose crew is not all at work today stays as it is (the sick-call repair hands it back).
    held = [h for h in await _held(session, settings, now, ids) if set(h.crew) <= working]
    held, firm = _settle_held(held, await _day_bookings(session, now, ids))
    result.visits = len(held)
    if not held:
        return result
    plan = await day_instance(session, settings, now, midnight, held, periods, firm)
    if plan is None:
        return result
    instance, warm, keys = plan
    solution = await compute(solve, instance, time_limit=settings.replan_seconds, seed=0, warm=warm)
    routes = {r.caregiver: [v.patient for v in r.visits] for r in solution.routes}
    before, after = plan_costs(instance, warm, routes)
    crews = new_crews(solution, keys, held)
    moves = [Move(h.request.id, h.crew, crews[h.request.id]) for h in held if set(crews[h.request.id]) != set(h.crew)]  # type: ignore[index,arg-type]
    result.saved_minutes = round(before[0] - after[0], 1)
    if not moves or after[1] > before[1] + 1e-6 or result.saved_minutes < settings.replan_min_saving_minutes:
        result.outcome = "kept"
        return result
    if not await _unchanged(session, held):
        result.outcome = "changed_meanwhile"  # someone acted on these orders while the planner ran: next time
        return result
    await _adopt(session, settings, midnight, instance, solution, keys, held, moves, why, result.saved_minutes)
    result.moves, result.outcome = moves, "changed"
    return result


async def _unchanged(session: AsyncSession, held: list[Held]) -> bool:
    """Lock the visits (in id order, as everywhere) and check nobody changed them while the planner ran."""
    for h in sorted(held, key=lambda h: h.request.id or 0):
        assert h.request.id is not None
        locked = await lock_request(session, h.request.id)
        if locked is None or locked.status != Status.accepted.value:
            return False
        if tuple(await crew_of(session, h.request.id)) != h.crew:
            return False
    return True


async def _adopt(
    session: AsyncSession,
    settings: Settings,
    midnight: datetime,
    instance: hhcrsp.Instance,
    solution: hhcrsp.Solution,
    keys: dict[str, Caregiver],
    held: list[Held],
    moves: list[Move],
    why: str,
    saved: float,
) -> None:
    """Book the new routes of everyone whose visits changed, hand the moved visits over, and tell everyone."""
    people = {cid for m in moves for cid in (*m.before, *m.after)}
    by_id = {h.request.id: h for h in held}
    routes = await _rebook(session, settings, midnight, instance, solution, keys, held, people)
    names = {c.id: c.name for c in keys.values()}
    header, _header_en = WHY.get(why, WHY["periodic"])
    for move in moves:
        h = by_id[move.request_id]
        left, joined = set(move.before) - set(move.after), set(move.after) - set(move.before)
        reason = (
            f"{header}：改由 {'、'.join(names[c] for c in move.after)} 上门"
            f"（原 {'、'.join(names[c] for c in move.before)}），整体可省路程与迟到约 {saved:.0f} 分钟"
        )
        await _hand_over(session, h.request, move, left, joined, reason)
    _publish(session, midnight, people, routes, moves, why, saved)


async def _rebook(
    session: AsyncSession,
    settings: Settings,
    midnight: datetime,
    instance: hhcrsp.Instance,
    solution: hhcrsp.Solution,
    keys: dict[str, Caregiver],
    held: list[Held],
    people: set[int],
) -> dict[int, list[hhcrsp.Visit]]:
    """Release these caregivers' held visits and book their new routes; their visits, by caregiver."""
    by_id = {h.request.id: h for h in held}
    for h in held:  # everyone's time back first: a route may now pass where another one's visit was
        for cid in set(h.crew) & people:
            await release(session, h.request.id, caregiver_id=cid)  # type: ignore[arg-type]
    row = {p.id: n + 1 for n, p in enumerate(instance.patients)}
    routes: dict[int, list[hhcrsp.Visit]] = {}
    for k, route in enumerate(solution.routes):
        caregiver = keys[route.caregiver]
        if caregiver.id not in people:
            continue
        previous = None
        for visit in route.visits:
            arrival = midnight + timedelta(minutes=visit.arrival)
            departure = midnight + timedelta(minutes=visit.departure)
            travel = instance.distances[instance.caregivers[k].origin][row[visit.patient]]
            start = previous or arrival - timedelta(minutes=travel)
            request = by_id[int(visit.patient)].request
            await book(
                session=session, settings=settings, request=request, caregiver=caregiver, span=(start, departure)
            )
            previous = departure
            routes.setdefault(caregiver.id, []).append(visit)
    return routes


def _publish(
    session: AsyncSession,
    midnight: datetime,
    people: set[int],
    routes: dict[int, list[hhcrsp.Visit]],
    moves: list[Move],
    why: str,
    saved: float,
) -> None:
    """Publish each changed route to its caregiver's phone, with the reason and the visits gained and lost."""
    header, header_en = WHY.get(why, WHY["periodic"])
    day = midnight.date().isoformat()
    for cid in sorted(people):
        visits = sorted(routes.get(cid, []), key=lambda v: v.arrival)
        gained = [m.request_id for m in moves if cid in m.after and cid not in m.before]
        lost = [m.request_id for m in moves if cid in m.before and cid not in m.after]
        emit(
            session,
            "plan.published",
            [f"caregiver:{cid}"],
            {
                "day": day,
                "reason": header,
                "reason_en": header_en,
                "added": gained,
                "removed": lost,
                "saved_minutes": saved,
                "visits": [
                    {
                        "request_id": int(v.patient),
                        "arrival": iso(midnight + timedelta(minutes=v.arrival)),
                        "departure": iso(midnight + timedelta(minutes=v.departure)),
                    }
                    for v in visits
                ],
            },
        )


async def _hand_over(
    session: AsyncSession, request: ServiceRequest, move: Move, left: set[int], joined: set[int], reason: str
) -> None:
    """The visit changes hands without changing state: its crew, the leavers' accepted offers released, a
    history row, and an event to the order's channels and to whoever left it."""
    assert request.id is not None
    lead, partner = [*move.after, None][:2]
    now = utcnow()
    await session.execute(
        update(ServiceRequest)
        .where(col(ServiceRequest.id) == request.id)
        .values(assigned_caregiver_id=lead, partner_caregiver_id=partner, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    request.assigned_caregiver_id, request.partner_caregiver_id, request.updated_at = lead, partner, now
    if left:
        await session.execute(
            update(Offer)
            .where(
                col(Offer.request_id) == request.id,
                col(Offer.caregiver_id).in_(sorted(left)),
                col(Offer.status) == OfferStatus.accepted.value,
            )
            .values(status=OfferStatus.released.value)
            .execution_options(synchronize_session=False)
        )
    session.add(
        RequestHistory(
            request_id=request.id,
            from_status=request.status,
            status=request.status,
            at=now,
            by=REPLANNER.label,
            reason=reason,
        )
    )
    await caregivers_access_changed(session, [*left, *joined], reason="replanned")
    channels = [*await request_channels(session, request), *(f"caregiver:{c}" for c in sorted(left))]
    data = status_payload(request) | {"before": list(move.before), "after": list(move.after), "reason": reason}
    emit(session, "request.reassigned", channels, data)
    await session.flush()
