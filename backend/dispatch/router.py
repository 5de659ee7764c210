"""Dispatch routes for the city: how fairly government-paid orders are shared among providers."""

from __future__ import annotations

from fastapi import APIRouter

from backend.core.deps import SessionDep, SettingsDep
from backend.dispatch.fairness import provider_fairness
from backend.dispatch.schemas import FairnessPublic, ProviderSharePublic
from backend.users.deps import OperatorUser

router = APIRouter(prefix="/dispatch", tags=["dispatch"])


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
