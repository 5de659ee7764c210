"""An order's life through the services, on a rolled-back session: who may open one, what it shows once opened,
and a cancellation as the caregiver offered it and the elder see it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.models import Community
from backend.core.db import utcnow
from backend.core.errors import Forbidden, Invalid
from backend.core.events import OutboxEvent
from backend.core.runtime import Runtime
from backend.dispatch.models import Offer, OfferStatus
from backend.orders.models import Payer, ServiceRequest, Status
from backend.registry.models import Caregiver, Elder, Provider
from backend.requests.schemas import RequestCreate
from backend.requests.service import cancel_request, create_request, request_public
from backend.users.models import Role
from tests.client import unique_phone
from tests.factories import HERE, elder_at_home, new_account, new_community

pytestmark = pytest.mark.unit


async def _elder(session: AsyncSession) -> tuple[Community, Elder]:
    community = await new_community(session)
    elder = elder_at_home(community)
    session.add(elder)
    await session.flush()
    return community, elder


async def _events(session: AsyncSession, request_id: int | None) -> list[tuple[str, list[str], dict[str, object]]]:
    """The events the order's screens are sent (once the unit of work commits), oldest first."""
    rows = await session.execute(
        select(OutboxEvent)
        .where(col(OutboxEvent.data)["request_id"].as_integer() == request_id)
        .order_by(col(OutboxEvent.id))
    )
    return [(e.event, list(e.channels), dict(e.data)) for e in rows.scalars()]


def _order(elder: Elder, **fields: object) -> RequestCreate:
    return RequestCreate.model_validate({"elder_id": elder.id, "service_type": "meal", **fields})


async def test_an_operators_order_opens_new_in_its_history_and_on_its_screens(
    session: AsyncSession, runtime: Runtime
) -> None:
    community, elder = await _elder(session)
    operator = await new_account(session, Role.operator)
    order = await create_request(
        session=session, settings=runtime.settings, user=operator, data=_order(elder, notes="午饭少盐")
    )
    shown = await request_public(session, order)
    assert (shown.status, shown.elder_id, shown.community_id, shown.service_type) == (
        Status.new,
        elder.id,
        community.id,
        "meal",
    )
    # Born in 1945, she has the city's monthly quota of government-bought orders: this one is the government's.
    assert (shown.paid_by, shown.notes, shown.assigned_caregiver_id) == (Payer.government, "午饭少盐", None)
    assert [(h.status, h.from_status, h.by) for h in shown.history] == [(Status.new, None, f"operator:{operator.id}")]
    [(event, channels, data)] = await _events(session, order.id)
    assert event == "request.status" and (data["status"], data["by"]) == ("new", "operator")
    assert {f"request:{order.id}", f"elder:{elder.id}", f"community:{community.id}"} <= set(channels)


async def test_only_those_who_may_order_for_an_elder_do(session: AsyncSession, runtime: Runtime) -> None:
    _, elder = await _elder(session)
    elsewhere = await new_community(session)
    refused = {
        "out_of_scope": [
            await new_account(session, Role.community_staff, community_id=elsewhere.id),  # another community's staff
            await new_account(session, Role.elder),  # an elder for someone else
        ],
        "role_forbidden": [await new_account(session, Role.caregiver), await new_account(session, Role.provider_admin)],
    }
    for code, users in refused.items():
        for user in users:
            with pytest.raises(Forbidden) as no:
                await create_request(session=session, settings=runtime.settings, user=user, data=_order(elder))
            assert no.value.code == code, user.role
    herself = await new_account(session, Role.elder, elder_id=elder.id)
    with pytest.raises(Forbidden) as no:  # the government's money only on a member of staff's word
        await create_request(
            session=session, settings=runtime.settings, user=herself, data=_order(elder, paid_by="government")
        )
    assert no.value.code == "government_pay_forbidden"
    mine = await create_request(session=session, settings=runtime.settings, user=herself, data=_order(elder))
    assert (mine.status, mine.created_by_user_id) == (Status.new, herself.id)
    assert (await session.scalar(select(ServiceRequest.id).where(col(ServiceRequest.elder_id) == elder.id))) == mine.id


async def test_a_window_that_ends_before_it_starts_is_refused(session: AsyncSession, runtime: Runtime) -> None:
    _, elder = await _elder(session)
    operator = await new_account(session, Role.operator)
    start = utcnow() + timedelta(hours=2)
    backwards = _order(elder, window_start=start.isoformat(), window_end=(start - timedelta(hours=1)).isoformat())
    with pytest.raises(Invalid) as no:
        await create_request(session=session, settings=runtime.settings, user=operator, data=backwards)
    assert no.value.code == "invalid_window"
    assert await session.scalar(select(ServiceRequest.id).where(col(ServiceRequest.elder_id) == elder.id)) is None


async def _offered_to_a_caregiver(session: AsyncSession, order: ServiceRequest) -> Offer:
    provider = Provider(name="取消测试服务组织", kind="home_care", lat=HERE.lat, lon=HERE.lon)
    account = await new_account(session, Role.caregiver)
    session.add(provider)
    await session.flush()
    caregiver = Caregiver(
        provider_id=provider.id,  # type: ignore[arg-type]
        user_id=account.id,  # type: ignore[arg-type]
        name="护理员",
        phone=unique_phone(),
        lat=HERE.lat,
        lon=HERE.lon,
    )
    session.add(caregiver)
    await session.flush()
    offer = Offer(
        request_id=order.id,  # type: ignore[arg-type]
        caregiver_id=caregiver.id,  # type: ignore[arg-type]
        distance_m=300,
        explanation="-",
        explanation_en="-",
        expires_at=utcnow() + timedelta(minutes=5),
    )
    session.add(offer)
    order.status = Status.offered.value
    await session.flush()
    return offer


async def test_a_cancelled_order_withdraws_its_offer_and_says_who_cancelled_and_why(
    session: AsyncSession, runtime: Runtime
) -> None:
    _, elder = await _elder(session)
    operator = await new_account(session, Role.operator)
    order = await create_request(session=session, settings=runtime.settings, user=operator, data=_order(elder))
    offer = await _offered_to_a_caregiver(session, order)

    cancelled = await cancel_request(session=session, request=order, user=operator, reason="老人住院")
    shown = await request_public(session, cancelled)
    assert shown.status == Status.cancelled
    assert [(h.from_status, h.status, h.reason) for h in shown.history][-1] == (
        Status.offered,
        Status.cancelled,
        "老人住院",
    )
    await session.refresh(offer)
    assert offer.status == OfferStatus.withdrawn and offer.answered_at is not None
    told = [(event, channels) for event, channels, _ in await _events(session, order.id)]
    assert ("offer.withdrawn", [f"caregiver:{offer.caregiver_id}"]) in told  # her phone drops the offer
    assert told[-1][0] == "request.status" and f"elder:{elder.id}" in told[-1][1]


@pytest.mark.parametrize(("status", "elder_may"), [(Status.accepted, True), (Status.en_route, False)])
async def test_an_elder_cancels_until_the_caregiver_sets_off_then_only_the_hotline_does(
    session: AsyncSession, runtime: Runtime, status: Status, elder_may: bool
) -> None:
    _, elder = await _elder(session)
    herself = await new_account(session, Role.elder, elder_id=elder.id)
    order = await create_request(session=session, settings=runtime.settings, user=herself, data=_order(elder))
    order.status = status.value
    await session.flush()
    if elder_may:
        assert (await cancel_request(session=session, request=order, user=herself, reason=None)).status == "cancelled"
        return
    with pytest.raises(Forbidden) as no:
        await cancel_request(session=session, request=order, user=herself, reason=None)
    assert no.value.code == "too_late_to_cancel"
    operator = await new_account(session, Role.operator)
    cancelled = await cancel_request(session=session, request=order, user=operator, reason=None)
    assert cancelled.status == Status.cancelled
    assert [h.reason for h in (await request_public(session, cancelled)).history][-1] == "取消"  # the default reason
