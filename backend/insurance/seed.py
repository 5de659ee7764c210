"""Believable cover for seeded and simulated parties (the government buys the three schemes' policies)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import local_today
from backend.core.money import yuan_to_fen
from backend.policies.models import INSURED_BY_SCHEME, InsurancePolicy, Payer, Scheme

INSURER = "中国人民财产保险股份有限公司苏州市分公司"
# Number prefix and limits (per event, per year) of each scheme's seeded policies, in yuan.
TERMS = {
    Scheme.home_care_liability: ("JJZR", 300_000, 3_000_000),
    Scheme.institution_liability: ("JGZR", 500_000, 5_000_000),
    Scheme.elder_accident: ("LNYW", 50_000, 50_000),
}


async def insure(
    session: AsyncSession, scheme: Scheme, insured_ids: Iterable[int], *, starts_on: date | None = None, days: int = 365
) -> int:
    """A year (``days``) of the scheme's cover for each party from ``starts_on`` (default: a month ago)."""
    starts_on = starts_on or local_today() - timedelta(days=30)
    prefix, per_event, per_year = TERMS[scheme]
    policies = [
        InsurancePolicy(
            scheme=scheme.value,
            insured_type=INSURED_BY_SCHEME[scheme].value,
            insured_id=iid,
            insurer=INSURER,
            number=f"{prefix}{starts_on:%Y%m%d}{iid:08d}",
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=days - 1),
            limit_per_event_fen=yuan_to_fen(per_event),
            limit_per_year_fen=yuan_to_fen(per_year),
            payer=Payer.government.value,
            by="system:seed",
        )
        for iid in insured_ids
    ]
    session.add_all(policies)
    await session.flush()
    return len(policies)


async def insure_providers(
    session: AsyncSession, provider_ids: Iterable[int], *, starts_on: date | None = None, days: int = 365
) -> int:
    """Home-care liability cover for each provider (see ``insure``)."""
    return await insure(session, Scheme.home_care_liability, provider_ids, starts_on=starts_on, days=days)
