"""Insurance HTTP routes: policies of the three schemes (docs/contract.md, "Insurance"); imports, reminders,
incidents, claims ("Extensions in this implementation", "Routes beyond v1")."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from backend.access.deps import CityStaff, CurrentUser
from backend.access.personal import sees_identity_numbers
from backend.core.db import local_today
from backend.core.deps import SessionDep, SettingsDep
from backend.core.offload import compute
from backend.core.paging import Paged
from backend.core.schemas import PathId, QueryId
from backend.core.spreadsheets import CsvEncoding, UploadLimits
from backend.insurance import claims, importer, service
from backend.insurance.models import Claim, ClaimEvent, ClaimStatus
from backend.insurance.schemas import (
    CancelBody,
    ClaimAdvance,
    ClaimEventPublic,
    ClaimPublic,
    CoverStatistics,
    ImportReport,
    IncidentCreate,
    IncidentPublic,
    IncidentReport,
    PolicyCreate,
    PolicyPublic,
    ReminderPublic,
    RowError,
)
from backend.policies.models import InsurancePolicy, InsuredType, Scheme

router = APIRouter(prefix="/insurance", tags=["insurance"])


def policy_public(policy: InsurancePolicy, insured_name: str, today: date) -> PolicyPublic:
    return PolicyPublic.model_validate(
        {
            **policy.model_dump(),
            "insured_name": insured_name,
            "valid_today": policy.status == "active" and policy.starts_on <= today <= policy.ends_on,
        }
    )


@router.post("/policies", status_code=status.HTTP_201_CREATED, response_model=PolicyPublic)
async def create_policy(data: PolicyCreate, session: SessionDep, user: CurrentUser) -> PolicyPublic:
    """Register a policy (city staff; a provider's admin for its own and its institutions' cover).

    422 ``scheme_mismatch`` when the insured is not the scheme's kind of party, ``unknown_insured``;
    409 ``policy_exists`` for an insurer's number registered before.
    """
    policy = await service.create_policy(session=session, user=user, data=data)
    return policy_public(policy, await service.insured_name(session, policy), local_today())


@router.get("/policies", response_model=list[PolicyPublic])
async def list_policies(
    session: SessionDep,
    user: CurrentUser,
    page: Paged,
    insured_type: Annotated[InsuredType | None, Query()] = None,
    insured_id: QueryId = None,
    scheme: Annotated[Scheme | None, Query()] = None,
    valid_on: Annotated[date | None, Query(description="only policies valid on this day")] = None,
) -> list[PolicyPublic]:
    """Policies of a party (``insured_type`` + ``insured_id``), or all a user may see, latest ending first."""
    rows = await service.list_policies(
        session=session,
        user=user,
        insured_type=insured_type,
        insured_id=insured_id,
        scheme=scheme,
        valid_on_day=valid_on,
        page=page,
    )
    today = local_today()
    return [policy_public(p, name, today) for p, name in rows]


@router.get("/policies/{policy_id}", response_model=PolicyPublic)
async def get_policy(policy_id: PathId, session: SessionDep, user: CurrentUser) -> PolicyPublic:
    """One policy."""
    policy, name = await service.get_policy(session=session, user=user, policy_id=policy_id)
    return policy_public(policy, name, local_today())


@router.post("/policies/{policy_id}/cancel", response_model=PolicyPublic)
async def cancel_policy(policy_id: PathId, body: CancelBody, session: SessionDep, user: CurrentUser) -> PolicyPublic:
    """Cancel a policy (registered in error, or terminated); 409 ``policy_cancelled`` the second time."""
    policy = await service.cancel_policy(session=session, user=user, policy_id=policy_id, reason=body.reason)
    return policy_public(policy, await service.insured_name(session, policy), local_today())


@router.post("/policies/import", response_model=ImportReport)
async def import_policies(
    session: SessionDep,
    settings: SettingsDep,
    user: CityStaff,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030/GBK) or XLSX, one policy a row")],
    good_rows: Annotated[bool, Form(description="import the good rows of a file with errors")] = False,
    encoding: Annotated[
        CsvEncoding | None, Form(description="a CSV's encoding: utf-8, gb18030 or gbk (default: detected)")
    ] = None,
) -> Response:
    """Import policies from a spreadsheet (city staff): every bad row with its line number and reason;
    nothing is imported from a file with errors unless ``good_rows`` is set. Elders are named by their platform
    id; by resident ID number only for those who read ID numbers whole (admins). 413 for a file over the upload
    limit, an XLSX that would inflate past its limit, or too many rows."""
    data = await file.read()
    report = await importer.check_rows(
        session,
        data,
        file.filename or "",
        limits=UploadLimits.of(settings),
        elders_by_id_number=sees_identity_numbers(user),
        encoding=encoding,
    )
    if not report.errors or good_rows:
        await importer.write_rows(session, report, by=user.actor)
    # Tens of thousands of row errors: the answer is built off the event loop too.
    body = await compute(_report_json, report.rows, report.imported, report.errors)
    return Response(body, media_type="application/json")


def _report_json(rows: int, imported: int, errors: list[tuple[int, str]]) -> str:
    return ImportReport(
        rows=rows, imported=imported, errors=[RowError(line=line, reason=reason) for line, reason in errors]
    ).model_dump_json()


@router.get("/reminders", response_model=list[ReminderPublic])
async def list_reminders(
    session: SessionDep,
    user: CurrentUser,
    page: Paged,
    since: Annotated[date | None, Query(description="policies ending on or after this day")] = None,
) -> list[ReminderPublic]:
    """Expiry reminders (30 and 7 days ahead) of the policies one manages (all for city staff), newest first."""
    rows = await service.reminders(session=session, user=user, since=since, page=page)
    return [
        ReminderPublic(
            id=r.id,
            policy_id=r.policy_id,
            days_ahead=r.days_ahead,
            ends_on=r.ends_on,
            created_at=r.created_at,
            scheme=Scheme(p.scheme),
            insured_type=InsuredType(p.insured_type),
            insured_id=p.insured_id,
            insured_name=name,
        )
        for r, p, name in rows
    ]


def claim_public(claim: Claim, history: list[ClaimEvent] | None = None) -> ClaimPublic:
    public = ClaimPublic.model_validate(claim, from_attributes=True)
    public.history = [ClaimEventPublic.model_validate(e, from_attributes=True) for e in history or []]
    return public


@router.post("/incidents", status_code=status.HTTP_201_CREATED, response_model=IncidentReport)
async def report_incident(
    data: IncidentCreate, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> IncidentReport:
    """Report an incident (the visiting caregiver, staff of the elder's area, an institution's admin).

    The schemes it falls under are found from the records (on this order's visit: the provider's home-care
    liability; living in an institution then: the institution's liability; harm to the elder: their own
    accident cover), and a claim is opened, facts filled in, under each one with a valid policy that day."""
    incident, claims_made, findings = await claims.report(session=session, settings=settings, user=user, data=data)
    return IncidentReport(
        incident=IncidentPublic.model_validate(incident, from_attributes=True),
        schemes=findings,
        claims=[claim_public(c) for c in claims_made],
    )


@router.get("/claims", response_model=list[ClaimPublic])
async def list_claims(
    session: SessionDep,
    user: CurrentUser,
    page: Paged,
    scheme: Annotated[Scheme | None, Query()] = None,
    status_: Annotated[ClaimStatus | None, Query(alias="status")] = None,
    overdue: Annotated[bool, Query(description="only claims past their step's deadline")] = False,
) -> list[ClaimPublic]:
    """Claims (city staff: all; a provider's admin: its own and its institutions'), newest first."""
    rows = await claims.list_claims(
        session=session, user=user, scheme=scheme, status=status_, overdue_only=overdue, page=page
    )
    return [claim_public(c) for c in rows]


@router.get("/claims/{claim_id}", response_model=ClaimPublic)
async def get_claim(claim_id: PathId, session: SessionDep, user: CurrentUser) -> ClaimPublic:
    """A claim with its facts and its audit trail."""
    claim, history = await claims.get_claim(session=session, user=user, claim_id=claim_id)
    return claim_public(claim, history)


@router.post("/claims/{claim_id}/advance", response_model=ClaimPublic)
async def advance_claim(
    claim_id: PathId, data: ClaimAdvance, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> ClaimPublic:
    """One step: reported → documents → submitted → approved (amount within the policy's limits) → paid;
    rejected from any open step. 409 ``illegal_transition``; 422 ``over_limit``, ``over_annual_limit``."""
    claim = await claims.advance(session=session, settings=settings, user=user, claim_id=claim_id, data=data)
    _claim, history = await claims.get_claim(session=session, user=user, claim_id=claim.id)  # type: ignore[arg-type]
    return claim_public(claim, history)


@router.get("/statistics", response_model=CoverStatistics)
async def cover_statistics(
    session: SessionDep,
    user: CurrentUser,
    street_id: QueryId = None,
    district_id: QueryId = None,
    day: Annotated[date | None, Query(description="default: today")] = None,
) -> CoverStatistics:
    """Cover rates (providers, institutions, entitled elders) and claims by scheme and outcome, for an area
    (a street or district within one's scope; none: the city, for city staff)."""
    return await service.statistics(
        session=session, user=user, street_id=street_id, district_id=district_id, day=day or local_today()
    )
