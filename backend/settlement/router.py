"""Settlement HTTP routes: visit corrections, monthly statements, their approval and export.

Lists and sums (statements, subsidy) are read off the primary; a statement by its id is read on the primary (it
may have been run a moment ago), its lines off the primary once the replica has it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Query, Response, status
from pydantic import TypeAdapter

from backend.access.deps import AdminUser, CurrentUser
from backend.access.scope import check_request
from backend.audit import service as audit
from backend.benefits.schemas import MONTH_PATTERN
from backend.core.deps import ReadSessionDep, SessionDep, SettingsDep
from backend.core.paging import Page, Paged, paging
from backend.core.schemas import PathId, QueryId
from backend.core.spreadsheets import CSV_TYPE, XLSX_TYPE
from backend.settlement import corrections, service
from backend.settlement.lines import line_public
from backend.settlement.models import Settlement, SettlementStatus
from backend.settlement.schemas import (
    BudgetSet,
    CorrectionCreate,
    CorrectionPublic,
    Decision,
    Difference,
    DistrictSubsidy,
    LinePublic,
    MonthRun,
    RunResult,
    SettlementPublic,
    SettlementRun,
)

RESULTS = TypeAdapter(list[RunResult])
router = APIRouter(tags=["settlement"])
# A statement's lines, whole by default as they always were: a large provider's month is tens of thousands.
LinesPage = Annotated[Page, paging(default=100_000, maximum=100_000)]


def _correction(c: object) -> CorrectionPublic:
    return CorrectionPublic.model_validate(c, from_attributes=True)


@router.post(
    "/requests/{request_id}/visit/corrections", status_code=status.HTTP_201_CREATED, response_model=CorrectionPublic
)
async def ask_correction(
    request_id: PathId, data: CorrectionCreate, session: SessionDep, user: CurrentUser
) -> CorrectionPublic:
    """Ask to correct a checked-out (locked) visit with a reason code (the caregiver, their provider's admin,
    city staff); a supervisor decides. 409 ``visit_not_locked``, ``correction_pending``."""
    await check_request(session, user, request_id)
    return _correction(await corrections.ask(session=session, user=user, request_id=request_id, data=data))


@router.get("/requests/{request_id}/visit/corrections", response_model=list[CorrectionPublic])
async def list_corrections(
    request_id: PathId, session: SessionDep, user: CurrentUser, page: Paged
) -> list[CorrectionPublic]:
    """A visit's corrections, each with the record before and after."""
    await check_request(session, user, request_id)
    return [_correction(c) for c in page.of(await corrections.of_request(session=session, request_id=request_id))]


@router.get("/visit-corrections", response_model=list[CorrectionPublic])
async def pending_corrections(session: SessionDep, user: CurrentUser, page: Paged) -> list[CorrectionPublic]:
    """Corrections waiting for a supervisor (city staff), oldest first."""
    return [_correction(c) for c in await corrections.pending(session=session, user=user, page=page)]


@router.post("/visit-corrections/{correction_id}/approve", response_model=CorrectionPublic)
async def approve_correction(
    correction_id: PathId, body: Decision, session: SessionDep, user: CurrentUser
) -> CorrectionPublic:
    """A supervisor approves: the visit takes the corrected values (403 ``own_correction``)."""
    decided = await corrections.decide(
        session=session, user=user, correction_id=correction_id, approve=True, note=body.note
    )
    return _correction(decided)


@router.post("/visit-corrections/{correction_id}/reject", response_model=CorrectionPublic)
async def reject_correction(
    correction_id: PathId, body: Decision, session: SessionDep, user: CurrentUser
) -> CorrectionPublic:
    """A supervisor rejects: the visit stays as it was."""
    decided = await corrections.decide(
        session=session, user=user, correction_id=correction_id, approve=False, note=body.note
    )
    return _correction(decided)


async def _result(session: SessionDep, run: tuple[Settlement, bool, Difference]) -> RunResult:
    settlement, changed, diff = run
    return RunResult(settlement=await service.public(session, settlement), changed=changed, difference=diff)


async def _json(dump: Callable[[], str | bytes]) -> Response:
    """A month's difference can be tens of thousands of lines: written to JSON off the event loop."""
    return Response(await anyio.to_thread.run_sync(dump), media_type="application/json")


@router.post("/settlements/run", response_model=RunResult)
async def run_settlement(
    data: SettlementRun, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> Response:
    """Compute a provider's statement for a month (the bureau; the provider's admin to preview).

    Idempotent: the same data give the same statement (``changed: false``); changed data give a new
    draft revision and the difference line by line."""
    made = await service.run(
        session=session, settings=settings, user=user, provider_id=data.provider_id, month=data.month
    )
    return await _json((await _result(session, made)).model_dump_json)


@router.post("/settlements/run-month", response_model=list[RunResult])
async def run_month(data: MonthRun, session: SessionDep, settings: SettingsDep, user: AdminUser) -> Response:
    """Every active provider's statement for a month (admins)."""
    results = []
    for provider_id in await service.active_providers(session):
        made = await service.run(
            session=session, settings=settings, user=user, provider_id=provider_id, month=data.month
        )
        results.append(await _result(session, made))
    return await _json(partial(RESULTS.dump_json, results))


@router.get("/settlements", response_model=list[SettlementPublic])
async def list_settlements(
    session: ReadSessionDep,
    user: CurrentUser,
    page: Paged,
    provider_id: QueryId = None,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
) -> list[SettlementPublic]:
    """Statements, newest first (a provider's admin: their own); read off the primary."""
    rows = await service.listing(session=session, user=user, provider_id=provider_id, month=month, page=page)
    return await service.publics(session, rows)


@router.get("/settlements/{settlement_id}", response_model=SettlementPublic)
async def get_settlement(settlement_id: PathId, session: SessionDep, user: CurrentUser) -> SettlementPublic:
    """A statement with its subtotals per quota category and per district."""
    return await service.public(session, await service.get(session=session, user=user, settlement_id=settlement_id))


@router.get("/settlements/{settlement_id}/lines", response_model=list[LinePublic])
async def settlement_lines(
    settlement_id: PathId, session: SessionDep, reads: ReadSessionDep, user: CurrentUser, page: LinesPage
) -> list[LinePublic]:
    """Every order of the statement: included with its amount, or excluded with the reason."""
    settlement = await service.get(session=session, user=user, settlement_id=settlement_id)
    source = await service.lines_session(session=session, reads=reads, settlement=settlement)
    return [line_public(x) for x in await service.lines_of(source, settlement.id, page)]  # type: ignore[arg-type]


def _transition(to: SettlementStatus, doc: str) -> Callable[..., Awaitable[SettlementPublic]]:
    async def move(settlement_id: PathId, session: SessionDep, user: CurrentUser) -> SettlementPublic:
        moved = await service.advance(session=session, user=user, settlement_id=settlement_id, to=to)
        return await service.public(session, moved)

    move.__doc__ = doc
    return move


for _path, _to, _doc in (
    ("confirm", SettlementStatus.confirmed, "The provider confirms the statement (its admin)."),
    ("approve", SettlementStatus.approved, "The bureau approves a confirmed statement (admins)."),
    ("pay", SettlementStatus.paid, "The bureau records the payment of an approved statement (admins)."),
):
    router.add_api_route(
        f"/settlements/{{settlement_id}}/{_path}",
        _transition(_to, _doc),
        methods=["POST"],
        response_model=SettlementPublic,
        name=f"{_path}_settlement",
    )


@router.get("/settlements/{settlement_id}/export")
async def export_settlement(
    settlement_id: PathId,
    session: SessionDep,
    reads: ReadSessionDep,
    user: CurrentUser,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "xlsx",
) -> Response:
    """The statement as a spreadsheet (CSV in UTF-8, or XLSX) for signing and archiving."""
    settlement = await service.get(session=session, user=user, settlement_id=settlement_id)
    source = await service.lines_session(session=session, reads=reads, settlement=settlement)
    data, elder_ids = await service.export(source, settlement, format)
    await audit.record_reads(session, action="elder.export", elder_ids=elder_ids)  # the audit trail: the primary
    name = f"settlement-{settlement.provider_id}-{settlement.month}-r{settlement.revision}.{format}"
    return Response(
        data,
        media_type=CSV_TYPE if format == "csv" else XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.put("/subsidy/budgets", response_model=BudgetSet)
async def set_budget(data: BudgetSet, session: SessionDep, user: CurrentUser) -> BudgetSet:
    """A district's monthly budget for buying home-care orders (admins): ``budget_fen``, or ``budget_yuan`` with
    at most two decimals (422 ``too_precise``)."""
    return BudgetSet.model_validate(
        await service.set_budget(session=session, user=user, data=data), from_attributes=True
    )


@router.get("/subsidy", response_model=list[DistrictSubsidy])
async def subsidy(
    session: ReadSessionDep,
    user: CurrentUser,
    month: Annotated[str, Query(pattern=MONTH_PATTERN)],
    page: Paged,
    district_id: QueryId = None,
) -> list[DistrictSubsidy]:
    """Government money spent per district in a month (the latest statements), against the budget."""
    return page.of(await service.subsidy(session=session, user=user, month=month, district_id=district_id))
