"""Registering an elder through the services, on a rolled-back session: what her ID number says, her numbers sealed
at rest and masked for staff, found by the hotline by phone within its area, and registered once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.areas.models import Community
from backend.core.errors import Conflict, Forbidden
from backend.core.paging import Page
from backend.core.schemas import Location
from backend.registry.schemas import ElderCreate
from backend.registry.service import create_elder, elder_public, find_elders_by_phone
from backend.users.models import Role
from tests.client import id_number, unique_phone
from tests.factories import HERE, new_account, new_community

pytestmark = pytest.mark.unit


def _elder(community: Community, number: str, phone: str) -> ElderCreate:
    return ElderCreate(
        name="王阿婆",
        id_number=number,
        phone=phone,
        community_id=community.id,  # type: ignore[arg-type]
        address="平江路 1 号",
        location=Location(lat=HERE.lat, lon=HERE.lon),
    )


async def test_a_registered_elder_is_what_her_id_number_says_sealed_at_rest_and_masked_for_staff(
    session: AsyncSession,
) -> None:
    community = await new_community(session)
    staff = await new_account(session, Role.community_staff, community_id=community.id)
    number, phone = id_number(born="19430817", region="320508"), unique_phone()
    elder = await create_elder(session=session, data=_elder(community, number, phone), user=staff)
    whole, masked = elder_public(elder, whole=True), elder_public(elder, whole=False)
    assert (whole.birth_date, whole.id_number, whole.phone) == ("1943-08-17", number, f"+86{phone}")
    assert whole.gender == ("male" if int(number[16]) % 2 else "female")
    assert whole.age is not None and whole.age >= date.today().year - 1943 - 1
    # The hotline's screen: the first four and last four of the ID number, no birth date (it would give them back).
    assert masked.id_number == number[:4] + "*" * 10 + number[-4:] and masked.birth_date is None
    assert masked.phone.startswith(phone[:3]) and masked.phone.endswith(phone[-4:]) and phone not in masked.phone
    stored = (await session.execute(text("SELECT id_number, phone FROM elder WHERE id = :id"), {"id": elder.id})).one()
    assert number not in stored.id_number and phone not in stored.phone  # sealed, not in clear, in the database


async def test_the_hotline_finds_her_by_phone_within_its_area_only(session: AsyncSession) -> None:
    community, elsewhere = await new_community(session), await new_community(session)
    phone = unique_phone()
    elder = await create_elder(session=session, data=_elder(community, id_number(), phone), user=None)
    operator = await new_account(session, Role.operator)
    ours = await new_account(session, Role.community_staff, community_id=community.id)
    theirs = await new_account(session, Role.community_staff, community_id=elsewhere.id)
    for user, found in ((operator, [elder.id]), (ours, [elder.id]), (theirs, [])):
        callers = await find_elders_by_phone(session=session, phone=f"+86 {phone}", user=user, page=Page())
        assert [e.id for e in callers] == found, user.role


async def test_an_elder_is_registered_once_and_only_within_the_staffs_area(session: AsyncSession) -> None:
    community, elsewhere = await new_community(session), await new_community(session)
    number = id_number()
    first = await create_elder(session=session, data=_elder(community, number, unique_phone()), user=None)
    with pytest.raises(Conflict) as twice:
        await create_elder(session=session, data=_elder(community, number, unique_phone()), user=None)
    assert twice.value.code == "elder_exists"
    outsider = await new_account(session, Role.community_staff, community_id=elsewhere.id)
    with pytest.raises(Forbidden) as no:
        await create_elder(session=session, data=_elder(community, id_number(), unique_phone()), user=outsider)
    assert no.value.code == "out_of_scope"
    # The refusals left the unit of work usable: the next registration goes through.
    second = await create_elder(session=session, data=_elder(community, id_number(), unique_phone()), user=None)
    assert second.id is not None and second.id != first.id
