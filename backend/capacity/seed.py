"""Institutions and beds for the demo and for a city-scale capacity (Suzhou: 85,839 beds, 72.9 % nursing-type,
67.1 % run by social operators)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from backend.areas.models import Community
from backend.capacity.models import Bed, Institution, OperatorKind
from backend.core.db import utcnow
from backend.core.money import yuan_to_fen

CITY_BEDS = 85_839
NURSING_SHARE = 0.729  # nursing-type: 护理型 and dementia care
DEMENTIA_SHARE = 0.06
SOCIAL_SHARE = 0.671
NAMES = ("颐养院", "护理院", "敬老院", "康养中心", "老年公寓", "福利院")


def _kind(rng: random.Random) -> str:
    roll = rng.random()
    if roll < DEMENTIA_SHARE:
        return "dementia"
    return "nursing" if roll < NURSING_SHARE else "ordinary"


def _operator(rng: random.Random) -> OperatorKind:
    if rng.random() < SOCIAL_SHARE:
        return OperatorKind.social
    return rng.choice([OperatorKind.public, OperatorKind.public_private])


async def seed_institutions(
    session: AsyncSession,
    communities: Sequence[Community],
    *,
    beds: int,
    rng: random.Random,
    prefix: str,
    sizes: tuple[int, int] = (40, 600),
) -> int:
    """Institutions of ``sizes`` beds in random communities until ``beds`` beds exist; returns how many were made.

    Idempotent by licence prefix: nothing is added when institutions with ``prefix`` exist.
    """
    if (await session.execute(select(Institution.id).where(col(Institution.licence_no).startswith(prefix)))).first():
        return 0
    now, left, made = utcnow(), beds, 0
    while left > 0:
        size = min(left, rng.randint(*sizes))
        home = rng.choice(list(communities))
        institution = Institution(
            name=f"{home.name}{rng.choice(NAMES)}",
            operator_kind=_operator(rng).value,
            community_id=home.id,  # type: ignore[arg-type]
            licence_no=f"{prefix}{made + 1:05d}",
            lat=home.lat + rng.gauss(0, 0.004),
            lon=home.lon + rng.gauss(0, 0.004),
            monthly_fee_fen=yuan_to_fen(rng.randrange(2500, 9000, 100)),
        )
        session.add(institution)
        await session.flush()
        rows = []
        for n in range(size):
            room = f"{n // 4 + 101}"
            rows.append(
                {
                    "institution_id": institution.id,
                    "room": room,
                    "label": f"{room}-{n % 4 + 1}",
                    "kind": _kind(rng),
                    "status": "free",
                    "updated_at": now,
                }
            )
        await session.execute(insert(Bed), rows)
        left -= size
        made += 1
    return made
