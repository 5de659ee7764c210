"""Dispatch routes for the city: how fairly government-paid orders are shared among providers."""

from __future__ import annotations

from fastapi import APIRouter

from backend.access.deps import AbsenceReporter, CurrentUser, OperatorUser
from backend.core.deps import SessionDep, SettingsDep
from backend.core.schemas import PathId
from backend.dispatch import manual
from backend.dispatch.fairness import provider_fairness
from backend.dispatch.schemas import AbsenceBody, AbsencePublic, FairnessPublic, ProviderSharePublic
from backend.orders.lifecycle import Actor

router = APIRouter(prefix="/dispatch", tags=["dispatch"])
caregiver_router = APIRouter(tags=["dispatch"])


@router.get("/fairness", response_model=FairnessPublic)
async def fairness(session: SessionDep, settings: SettingsDep, _user: OperatorUser) -> FairnessPublic:
    """Each provider's share of government-paid orders against its fair share, and the Gini index of the spread."""
    found = await provider_fairness(session=session, settings=settings)
    return FairnessPublic(
        since=found.since,
        orders=found.orders,
        gini=found.gini,
        providers=[
            ProviderSharePublic(
                provider_id=p.provider_id,
                name=p.name,
                orders=p.orders,
                share=round(p.share, 4),
                fair_share=round(p.fair_share, 4),
                gap_points=round(p.gap_points, 2),
                caregivers=p.caregivers,
                rating=p.rating,
            )
            for p in found.providers
        ],
    )


@caregiver_router.post("/caregivers/{caregiver_id}/absence", response_model=AbsencePublic)
async def report_absence(
    caregiver_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    _caregiver: AbsenceReporter,
    body: AbsenceBody | None = None,
) -> AbsencePublic:
    """The caregiver called in sick (请假): their visits not yet started go to other caregivers (the hotline, their
    provider's admin)."""
    until, redone = await manual.report_absence(
        session=session,
        settings=settings,
        caregiver_id=caregiver_id,
        reported_by=Actor.of_user(user),
        reason=body.reason if body else None,
        until=body.until if body else None,
    )
    return AbsencePublic(caregiver_id=caregiver_id, on_shift=False, absent_until=until, redispatched=redone)
