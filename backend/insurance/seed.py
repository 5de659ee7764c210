"""Believable cover for seeded and simulated providers (居家养老服务责任险 bought by the government)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import local_today
from backend.insurance.models import InsurancePolicy, InsuredType, Payer, Scheme

INSURER = "中国人民财产保险股份有限公司苏州市分公司"


async def insure_providers(
    session: AsyncSession, provider_ids: Iterable[int], *, starts_on: date | None = None, days: int = 365
) -> int:
    """Give each provider a year of home-care liability cover from ``starts_on`` (default: a month ago)."""
    starts_on = starts_on or local_today() - timedelta(days=30)
    policies = [
        InsurancePolicy(
            scheme=Scheme.home_care_liability.value,
            insured_type=InsuredType.provider.value,
            insured_id=pid,
            insurer=INSURER,
            number=f"JJZR{starts_on:%Y}{pid:08d}",
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=days - 1),
            limit_per_event=300_000,
            limit_per_year=3_000_000,
            payer=Payer.government.value,
            by="system:seed",
        )
        for pid in provider_ids
    ]
    session.add_all(policies)
    await session.flush()
    return len(policies)
