"""Incidents and claims: which scheme and policy answer for what happened, and the claim's life.

During a home visit the visiting provider's home-care liability answers; in an institution, the
institution's liability; the elder's own accident cover alongside, for harm to the elder. A claim is
opened for each scheme with a valid policy on the day, its facts filled in from the records, and moves
reported → documents → submitted → approved → paid (or rejected), each step with a deadline and a record.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from backend.access.scope import CITYWIDE, caregiver_of, check_elder, check_request, is_city_staff
from backend.areas.service import area_channels
from backend.capacity.models import Admission, Institution
from backend.core.config import Settings
from backend.core.db import iso, utcnow
from backend.core.errors import Conflict, Forbidden, Invalid, NotFound
from backend.core.events import emit
from backend.core.i18n import LOCAL_TZ
from backend.core.money import format_yuan
from backend.core.paging import Page
from backend.insurance.models import Claim, ClaimEvent, ClaimStatus, Incident, IncidentKind, IncidentSetting
from backend.insurance.schemas import ClaimAdvance, IncidentCreate, SchemeFinding
from backend.insurance.service import provider_owned
from backend.orders.models import ServiceRequest, Visit
from backend.policies.cover import cover_on
from backend.policies.models import InsurancePolicy, Scheme
from backend.registry.models import Caregiver, Elder, Provider
from backend.users.models import Role, User

# The bureau decides these steps, never the insured party itself.
CITY_DECIDES = frozenset({ClaimStatus.approved, ClaimStatus.paid})
HARM_TO_ELDER = {IncidentKind.fall, IncidentKind.injury, IncidentKind.death}
# Each step's next steps.
STEPS: dict[ClaimStatus, tuple[ClaimStatus, ...]] = {
    ClaimStatus.reported: (ClaimStatus.documents, ClaimStatus.rejected),
    ClaimStatus.documents: (ClaimStatus.submitted, ClaimStatus.rejected),
    ClaimStatus.submitted: (ClaimStatus.approved, ClaimStatus.rejected),
    ClaimStatus.approved: (ClaimStatus.paid,),
}


def _deadline(settings: Settings, status: ClaimStatus, now: datetime) -> datetime | None:
    """When the claim should have moved on from ``status`` (None once it is closed)."""
    days = settings.claim_deadline_days.get(status.value)
    return now + timedelta(days=days) if days is not None else None


async def _setting(
    session: AsyncSession, user: User, data: IncidentCreate, elder: Elder
) -> tuple[IncidentSetting, ServiceRequest | None, Admission | None, Institution | None]:
    """Where it happened: on a home visit (the order given), in an institution (an admission), or elsewhere."""
    if data.request_id is not None:
        request = await check_request(session, user, data.request_id)
        if request.elder_id != elder.id:
            raise Invalid("工单不属于该老人", code="request_mismatch", message_en="The order is another elder's")
        visited = await session.scalar(select(Visit.id).where(col(Visit.request_id) == request.id).limit(1))
        if request.assigned_caregiver_id is None or visited is None:
            raise Invalid("该工单尚无上门服务记录", code="no_visit", message_en="Nobody visited on this order")
        await _served_by_own(session, user, request)
        return IncidentSetting.home_visit, request, None, None
    admission = (
        await session.execute(
            select(Admission)
            .where(
                col(Admission.elder_id) == elder.id,
                col(Admission.admitted_at) <= data.occurred_at,
                (col(Admission.discharged_at).is_(None)) | (col(Admission.discharged_at) >= data.occurred_at),
            )
            .order_by(col(Admission.admitted_at).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if admission is not None:
        institution = await session.get(Institution, admission.institution_id)
        return IncidentSetting.institution, None, admission, institution
    return IncidentSetting.elsewhere, None, None, None


async def _served_by_own(session: AsyncSession, user: User, request: ServiceRequest) -> None:
    """A caregiver reports only on a visit they served; a provider's admin only on a visit its caregiver served
    (an offer its caregiver once declined makes it no business of theirs)."""
    served = [c for c in (request.assigned_caregiver_id, request.partner_caregiver_id) if c is not None]
    if user.role == Role.caregiver:
        own = await caregiver_of(session, user)
        ok = own is not None and own.id in served
    elif user.role == Role.provider_admin:
        ok = (
            await session.scalar(
                select(Caregiver.id)
                .where(col(Caregiver.id).in_(served), col(Caregiver.provider_id) == user.provider_id)
                .limit(1)
            )
        ) is not None
    else:
        return
    if not ok:
        raise Forbidden(
            "只能报告本机构护理员实际上门的服务中发生的事故",
            code="out_of_scope",
            message_en="Only on visits your own caregiver served",
        )


def _may_report(user: User, request: ServiceRequest | None, institution: Institution | None) -> None:
    if user.role in (*CITYWIDE, Role.community_staff.value, Role.caregiver.value):
        return  # their scope was checked with the elder or the order
    if user.role == Role.provider_admin and request is not None:
        return  # the order was checked: one of their caregivers visited
    if user.role == Role.provider_admin and institution is not None and institution.provider_id == user.provider_id:
        return
    raise Forbidden("无权报告该事故", code="role_forbidden", message_en="You may not report this incident")


async def report(
    *, session: AsyncSession, settings: Settings, user: User, data: IncidentCreate
) -> tuple[Incident, list[Claim], list[SchemeFinding]]:
    """Record an incident and open a claim under every scheme with a valid policy that day."""
    elder = await session.get(Elder, data.elder_id)
    if elder is None:
        raise Invalid("老人不存在", code="unknown_elder", message_en="Unknown elder")
    if data.request_id is None and user.role != Role.provider_admin:
        await check_elder(session, user, elder.id)  # type: ignore[arg-type]
    if data.occurred_at > utcnow():
        raise Invalid("事故时间不能晚于现在", code="invalid_time", message_en="occurred_at is in the future")
    setting, request, admission, institution = await _setting(session, user, data, elder)
    _may_report(user, request, institution)
    if user.role == Role.caregiver and request is None:
        raise Forbidden("护理员只能报告自己上门中的事故", code="out_of_scope", message_en="Only on your own visits")
    day = data.occurred_at.astimezone(LOCAL_TZ).date()
    caregiver = await session.get(Caregiver, request.assigned_caregiver_id) if request else None
    incident = Incident(
        kind=data.kind.value,
        occurred_at=data.occurred_at,
        description=data.description,
        elder_id=elder.id,  # type: ignore[arg-type]
        setting=setting.value,
        request_id=request.id if request else None,
        admission_id=admission.id if admission else None,
        institution_id=institution.id if institution else None,
        provider_id=caregiver.provider_id if caregiver else None,
        reported_by=user.actor,
    )
    session.add(incident)
    await session.flush()
    findings, claims = [], []
    now = utcnow()
    for scheme, insured_id in _answering(data.kind, elder, caregiver, institution):
        policy = await cover_on(session, scheme, insured_id, day)
        findings.append(SchemeFinding(scheme=scheme, insured_id=insured_id, policy_id=policy.id if policy else None))
        if policy is None:
            continue
        facts = await _facts(session, incident, elder, policy, request, caregiver, institution)
        claims.append(await _open_claim(session, settings, incident, scheme, policy, facts, now))
    await session.flush()
    await _announce(session, incident, elder, claims)
    return incident, claims, findings


def _answering(
    kind: IncidentKind, elder: Elder, caregiver: Caregiver | None, institution: Institution | None
) -> list[tuple[Scheme, int]]:
    """The schemes that may answer for the incident, each with whom it insures: the visiting provider, the
    institution, the elder (for harm to them)."""
    wanted: list[tuple[Scheme, int]] = []
    if caregiver is not None:
        wanted.append((Scheme.home_care_liability, caregiver.provider_id))
    if institution is not None:
        wanted.append((Scheme.institution_liability, institution.id))  # type: ignore[arg-type]
    if kind in HARM_TO_ELDER:
        wanted.append((Scheme.elder_accident, elder.id))  # type: ignore[arg-type]
    return wanted


async def _open_claim(
    session: AsyncSession,
    settings: Settings,
    incident: Incident,
    scheme: Scheme,
    policy: InsurancePolicy,
    facts: dict[str, Any],
    now: datetime,
) -> Claim:
    """Open a claim under the policy, ``reported``, with its first deadline and record."""
    claim = Claim(
        incident_id=incident.id,  # type: ignore[arg-type]
        scheme=scheme.value,
        policy_id=policy.id,  # type: ignore[arg-type]
        status=ClaimStatus.reported.value,
        facts=facts,
        due_at=_deadline(settings, ClaimStatus.reported, now),
        created_at=now,
        updated_at=now,
    )
    session.add(claim)
    await session.flush()
    assert claim.id is not None
    session.add(ClaimEvent(claim_id=claim.id, status=claim.status, by=incident.reported_by, note="事故报告", at=now))
    return claim


async def _announce(session: AsyncSession, incident: Incident, elder: Elder, claims: list[Claim]) -> None:
    """Tell the elder's area, and the provider if one answers, of the incident and its claims."""
    emit(
        session,
        "incident.reported",
        await area_channels(session, elder.community_id)
        + ([f"provider:{incident.provider_id}"] if incident.provider_id else []),
        {
            "incident_id": incident.id,
            "kind": incident.kind,
            "setting": incident.setting,
            "claims": [{"claim_id": c.id, "scheme": c.scheme} for c in claims],
        },
    )


async def _facts(
    session: AsyncSession,
    incident: Incident,
    elder: Elder,
    policy: InsurancePolicy,
    request: ServiceRequest | None,
    caregiver: Caregiver | None,
    institution: Institution | None,
) -> dict[str, Any]:
    """What the insurer asks first, filled from the records (no ID or phone numbers: the file has them)."""
    facts: dict[str, Any] = {
        "incident": {
            "kind": incident.kind,
            "occurred_at": iso(incident.occurred_at),
            "description": incident.description,
        },
        "elder": {"id": elder.id, "name": elder.name, "address": elder.address},
        "policy": {
            "insurer": policy.insurer,
            "number": policy.number,
            "limit_per_event_yuan": format_yuan(policy.limit_per_event_fen),
            "limit_per_year_yuan": format_yuan(policy.limit_per_year_fen),
        },
    }
    if request is not None and caregiver is not None:
        visit = (await session.execute(select(Visit).where(col(Visit.request_id) == request.id))).scalar_one_or_none()
        provider = await session.get(Provider, caregiver.provider_id)
        facts["visit"] = {
            "request_id": request.id,
            "service_type": request.service_type,
            "caregiver": {"id": caregiver.id, "name": caregiver.name},
            "provider": {"id": caregiver.provider_id, "name": provider.name if provider else ""},
            "checkin_at": iso(visit.checkin_at) if visit else None,
            "checkout_at": iso(visit.checkout_at) if visit and visit.checkout_at else None,
        }
    if institution is not None:
        facts["institution"] = {"id": institution.id, "name": institution.name, "licence_no": institution.licence_no}
    return facts


async def _may_handle(session: AsyncSession, user: User, claim: Claim) -> None:
    """City staff handle every claim; a provider's admin the claims on its own or its institutions' policies."""
    if user.role in CITYWIDE:
        return
    policy = await session.get(InsurancePolicy, claim.policy_id)
    assert policy is not None
    if user.role == Role.provider_admin and user.provider_id is not None:
        if policy.insured_type == "provider" and policy.insured_id == user.provider_id:
            return
        if policy.insured_type == "institution":
            institution = await session.get(Institution, policy.insured_id)
            if institution is not None and institution.provider_id == user.provider_id:
                return
    raise Forbidden("无权处理该理赔", code="out_of_scope", message_en="Not a claim you handle")


async def get_claim(*, session: AsyncSession, user: User, claim_id: int) -> tuple[Claim, list[ClaimEvent]]:
    claim = await session.get(Claim, claim_id)
    if claim is None:
        raise NotFound("理赔不存在", code="claim_not_found", message_en="Unknown claim")
    await _may_handle(session, user, claim)
    events = await session.execute(
        select(ClaimEvent).where(col(ClaimEvent.claim_id) == claim_id).order_by(col(ClaimEvent.id))
    )
    return claim, list(events.scalars())


async def advance(*, session: AsyncSession, settings: Settings, user: User, claim_id: int, data: ClaimAdvance) -> Claim:
    """Move a claim one step; approving needs an amount within the policy's limits (per event, per year)."""
    claim = (
        await session.execute(select(Claim).where(col(Claim.id) == claim_id).with_for_update())
    ).scalar_one_or_none()
    if claim is None:
        raise NotFound("理赔不存在", code="claim_not_found", message_en="Unknown claim")
    await _may_handle(session, user, claim)
    if data.to in CITY_DECIDES and not is_city_staff(user):
        raise Forbidden(
            "核定与赔付只能由市级工作人员办理",
            code="city_staff_only",
            message_en="Only city staff approve and pay claims",
        )
    if data.to not in STEPS.get(ClaimStatus(claim.status), ()):
        raise Conflict(
            f"理赔状态为 {claim.status}，不能变为 {data.to.value}",
            code="illegal_transition",
            message_en=f"A {claim.status} claim cannot become {data.to.value}",
        )
    if data.to in (ClaimStatus.approved, ClaimStatus.paid) and data.amount_fen is None:
        raise Invalid("请填写金额", code="amount_needed", message_en="Give amount_yuan (or amount_fen)")
    if data.to == ClaimStatus.approved:
        assert data.amount_fen is not None
        policy = await session.get(InsurancePolicy, claim.policy_id, with_for_update=True)  # one approval at a time
        assert policy is not None
        if data.amount_fen > policy.limit_per_event_fen:
            raise Invalid(
                f"超过每次事故限额 {format_yuan(policy.limit_per_event_fen)} 元",
                code="over_limit",
                message_en="Over the per-event limit",
            )
        approved = int(
            await session.scalar(
                select(func.coalesce(func.sum(col(Claim.approved_fen)), 0)).where(
                    col(Claim.policy_id) == policy.id, col(Claim.id) != claim.id
                )
            )
            or 0
        )
        if approved + data.amount_fen > policy.limit_per_year_fen:
            raise Invalid(
                f"超过年度累计限额 {format_yuan(policy.limit_per_year_fen)} 元（已批准 {format_yuan(approved)} 元）",
                code="over_annual_limit",
                message_en="Over the policy's limit for the year",
            )
        claim.approved_fen = data.amount_fen
    if data.to == ClaimStatus.paid:
        assert data.amount_fen is not None
        if claim.approved_fen is not None and data.amount_fen > claim.approved_fen:
            raise Invalid("赔付金额超过核定金额", code="over_approved", message_en="More than approved")
        claim.paid_fen = data.amount_fen
    now = utcnow()
    claim.status, claim.updated_at = data.to.value, now
    claim.due_at, claim.overdue_notified_at = _deadline(settings, data.to, now), None
    session.add(ClaimEvent(claim_id=claim.id, status=claim.status, by=user.actor, note=data.note, at=now))  # type: ignore[arg-type]
    await session.flush()
    return claim


async def overdue(*, session: AsyncSession, now: datetime) -> int:
    """Tell the bureau and the insured of claims past their step's deadline, once per step."""
    rows = await session.execute(
        select(Claim, Incident)
        .join(Incident, col(Incident.id) == col(Claim.incident_id))
        .where(col(Claim.due_at) < now, col(Claim.overdue_notified_at).is_(None))
        .order_by(col(Claim.id))
        .with_for_update(of=Claim, skip_locked=True)
    )
    told = 0
    for claim, incident in rows.all():
        elder = await session.get(Elder, incident.elder_id)
        assert elder is not None
        channels = await area_channels(session, elder.community_id)
        if incident.provider_id:
            channels.append(f"provider:{incident.provider_id}")
        emit(
            session,
            "claim.overdue",
            channels,
            {
                "claim_id": claim.id,
                "scheme": claim.scheme,
                "status": claim.status,
                "due_at": iso(claim.due_at) if claim.due_at else None,
            },
        )
        claim.overdue_notified_at = now
        told += 1
    await session.flush()
    return told


async def list_claims(
    *,
    session: AsyncSession,
    user: User,
    scheme: Scheme | None,
    status: ClaimStatus | None,
    overdue_only: bool,
    page: Page,
) -> list[Claim]:
    """A page of claims for city staff (all) or a provider's admin (its own and its institutions'), newest first."""
    query = select(Claim)
    if user.role == Role.provider_admin and user.provider_id is not None:
        query = query.join(InsurancePolicy, col(InsurancePolicy.id) == col(Claim.policy_id)).where(
            provider_owned(user.provider_id)
        )
    elif user.role not in CITYWIDE:
        raise Forbidden("无权查看理赔", code="out_of_scope", message_en="Not allowed")
    if scheme is not None:
        query = query.where(col(Claim.scheme) == scheme.value)
    if status is not None:
        query = query.where(col(Claim.status) == status.value)
    if overdue_only:
        query = query.where(col(Claim.due_at) < utcnow())
    return await page.scalars(session, query.order_by(col(Claim.id).desc()))
