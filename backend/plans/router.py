"""Service plan routes: an elder's recurring visits, and the day planner for operators."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.access.deps import ElderToActFor, OperatorUser, StaffUser, VisibleElder
from backend.access.scope import check_elder
from backend.core.deps import SessionDep, SettingsDep
from backend.core.lookups import get_or_404
from backend.core.paging import Paged
from backend.core.schemas import PathId
from backend.plans import service
from backend.plans.models import ServicePlan
from backend.plans.schemas import (
    DayBody,
    DayPlanPublic,
    GeneratedPublic,
    PlanCreate,
    PlannedRoutePublic,
    PlannedVisitPublic,
    PlanPublic,
)

router = APIRouter(tags=["plans"])


def plan_public(plan: ServicePlan) -> PlanPublic:
    assert plan.id is not None
    return PlanPublic(
        id=plan.id,
        elder_id=plan.elder_id,
        provider_id=plan.provider_id,
        service_type=plan.service_type,
        weekdays=plan.weekdays,
        time=f"{plan.minute_of_day // 60:02d}:{plan.minute_of_day % 60:02d}",
        window_minutes=plan.window_minutes,
        paid_by=plan.paid_by,
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        skip_holidays=plan.skip_holidays,
        follow_adjusted_workdays=plan.follow_adjusted_workdays,
        active=plan.active,
        notes=plan.notes,
        created_at=plan.created_at,
    )


@router.post("/elders/{elder_id}/plans", status_code=status.HTTP_201_CREATED, response_model=PlanPublic)
async def create_plan(
    elder_id: PathId, body: PlanCreate, session: SessionDep, user: StaffUser, elder: ElderToActFor
) -> PlanPublic:
    """A recurring service plan (服务计划) for an elder, e.g. meal help every weekday at 11:00."""
    return plan_public(await service.create_plan(session=session, elder=elder, data=body, user=user))


@router.get("/elders/{elder_id}/plans", response_model=list[PlanPublic])
async def list_plans(elder_id: PathId, session: SessionDep, elder: VisibleElder, page: Paged) -> list[PlanPublic]:
    """The elder's plans, current and ended."""
    return [plan_public(p) for p in page.of(await service.plans_of(session=session, elder=elder))]


@router.post("/plans/{plan_id}/end", response_model=PlanPublic)
async def end_plan(plan_id: PathId, session: SessionDep, user: StaffUser) -> PlanPublic:
    """Stop a plan; visits already generated stay."""
    plan = await get_or_404(session, ServicePlan, plan_id, what="服务计划", what_en="service plan")
    await check_elder(session, user, plan.elder_id)
    return plan_public(await service.end_plan(session=session, plan=plan))


@router.post("/plans/generate", response_model=GeneratedPublic)
async def generate(body: DayBody, session: SessionDep, _user: OperatorUser) -> GeneratedPublic:
    """Create a day's visits from the plans now (the scheduler does it every evening for tomorrow)."""
    return GeneratedPublic(day=body.day, created=await service.generate_day(session=session, day=body.day))


@router.post("/plans/plan-day", response_model=DayPlanPublic)
async def plan_day(body: DayBody, session: SessionDep, settings: SettingsDep, _user: OperatorUser) -> DayPlanPublic:
    """Route a day's planned visits over each provider's caregivers and publish the routes to their phones."""
    made = await service.plan_day(
        session=session, settings=settings, day=body.day, provider_id=body.provider_id, seconds=body.seconds
    )
    return DayPlanPublic(
        day=made.day,
        planned=made.planned,
        routes=[
            PlannedRoutePublic(
                caregiver_id=r.caregiver_id,
                visits=[
                    PlannedVisitPublic(request_id=v.request_id, arrival=v.arrival, departure=v.departure)
                    for v in r.visits
                ],
            )
            for r in made.routes
        ],
        to_dispatcher=made.to_dispatcher,
    )
