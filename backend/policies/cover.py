"""Who is covered by which scheme on a day."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from backend.policies.models import INSURED_BY_SCHEME, InsurancePolicy, PolicyStatus, Scheme


def valid_on(day: date | ColumnElement[Any]) -> list[ColumnElement[bool]]:
    """The conditions of a policy valid on ``day``."""
    return [
        col(InsurancePolicy.status) == PolicyStatus.active.value,
        col(InsurancePolicy.starts_on) <= day,
        col(InsurancePolicy.ends_on) >= day,
    ]


def insured_on(scheme: Scheme, day: date) -> SelectOfScalar[int]:
    """The ids of the parties a scheme covers on ``day``, as a subquery."""
    return select(InsurancePolicy.insured_id).where(
        col(InsurancePolicy.scheme) == scheme.value,
        col(InsurancePolicy.insured_type) == INSURED_BY_SCHEME[scheme].value,
        *valid_on(day),
    )


async def cover_on(session: AsyncSession, scheme: Scheme, insured_id: int, day: date) -> InsurancePolicy | None:
    """The policy of a scheme covering a party on ``day`` (the one ending last), or None."""
    rows = await session.execute(
        select(InsurancePolicy)
        .where(
            col(InsurancePolicy.scheme) == scheme.value,
            col(InsurancePolicy.insured_type) == INSURED_BY_SCHEME[scheme].value,
            col(InsurancePolicy.insured_id) == insured_id,
            *valid_on(day),
        )
        .order_by(col(InsurancePolicy.ends_on).desc(), col(InsurancePolicy.id))
        .limit(1)
    )
    return rows.scalar_one_or_none()
